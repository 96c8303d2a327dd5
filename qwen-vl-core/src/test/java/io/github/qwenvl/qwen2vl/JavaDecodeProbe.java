package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDManager;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.generate.LogitsSampler;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.nn.cpu.Kernels;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

/**
 * Java decode steps alone, over a checkpoint's mapped weights (no engine weights loaded: a light check of the
 * decode kernels on real shapes; the full comparison with the engine is {@code bench.EngineBenchmark}). The KV
 * cache is filled with random values up to each context instead of a prefill.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp ... io.github.qwenvl.qwen2vl.JavaDecodeProbe DIR [threads] [tokens] [contexts] [modes]
 * </pre>
 * {@code modes}: comma-separated {@code bf16} (the stored weights), {@code int8}, {@code int4}; default {@code bf16}.
 * Each mode maps or quantises its own decoder, one after the other in the same process.
 * <pre>
 * </pre>
 */
public final class JavaDecodeProbe {

    private JavaDecodeProbe() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        String contexts = args.length > 3 ? args[3] : "1,128,1024";
        String[] modes = (args.length > 4 ? args[4] : "bf16").split(",");
        ModelConfig config = ModelConfig.load(dir);
        Qwen2TextConfig text = io.github.qwenvl.qwen2vl.Qwen2VlConfig.of(config).text();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
             NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            WeightLoader weights = new WeightLoader(ckpt, manager, ai.djl.ndarray.types.DataType.FLOAT32);
            float[] inv = RotaryTables.inverseFrequencies(manager, text.headDim(), text.ropeTheta());
            for (String mode : modes) {
            io.github.qwenvl.nn.cpu.WeightMatrix.Format copies = switch (mode) {
                case "bf16" -> null;
                case "int8" -> io.github.qwenvl.nn.cpu.WeightMatrix.Format.Q8;
                case "int4" -> io.github.qwenvl.nn.cpu.WeightMatrix.Format.Q4;
                default -> throw new IllegalArgumentException("mode " + mode + ": bf16, int8 or int4");
            };
            try (Qwen2JavaDecoder decoder = Qwen2JavaDecoder.create(text, weights, inv, Kernels.get(), threads, copies,
                    new io.github.qwenvl.nn.cpu.MappedMatrices(ckpt),
                    io.github.qwenvl.EngineTuning.DEFAULTS.kvPageElements())) {
                Random random = new Random(3);
                for (String c : contexts.split(",")) {
                    int context = Integer.parseInt(c.trim());
                    Qwen2JavaDecoder.State state = decoder.newState(context + tokens + 4);
                    int kv = text.numKeyValueHeads() * context * text.headDim();
                    for (int l = 0; l < text.numLayers(); l++) {
                        float[] k = new float[kv];
                        float[] v = new float[kv];
                        for (int i = 0; i < kv; i++) {
                            k[i] = (float) random.nextGaussian();
                            v[i] = (float) random.nextGaussian();
                        }
                        state.load(l, k, v, context);
                    }
                    int token = 100;
                    for (int i = 0; i < 3; i++) {
                        token = LogitsSampler.argmax(decoder.step(state, token, state.length()));
                    }
                    long t0 = System.nanoTime();
                    for (int i = 0; i < tokens; i++) {
                        token = LogitsSampler.argmax(decoder.step(state, token, state.length()));
                    }
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    long bytes = decoder.bytesPerToken() + 2L * text.numLayers() * kv * 4 / Math.max(1, context) * state.length();
                    System.out.printf(Locale.ROOT, mode + " context %d: %.2f tok/s, %.3f GB/token, %.1f GB/s effective (%s, %d threads)%n",
                            context, tokens / seconds, bytes / 1e9, bytes * tokens / seconds / 1e9, decoder.kernels().name(), threads);
                }
            }
            }
        }
    }
}
