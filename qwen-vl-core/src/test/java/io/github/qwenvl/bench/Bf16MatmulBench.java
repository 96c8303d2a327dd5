package io.github.qwenvl.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.engine.DjlRuntime;
import io.github.qwenvl.nn.Bf16Linear;
import io.github.qwenvl.nn.Ops;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Float32 against bfloat16 matrix products ({@code WeightMode.BF16_MATMUL}), in one process, interleaved so that both
 * see the same machine load:
 * <ol>
 * <li>the engine's linear op on the layer shapes of Qwen2-VL-2B's prefill (281 rows: a 448×448 image and its question)
 * and vision blocks (1024 patches), float32 weights against the same weights' BF16 bits multiplied in bfloat16, in
 * GFLOP/s;
 * <li>the benchmark's random checkpoint ({@link RandomCheckpoint}) loaded in each weight mode, then 448×448 image
 * requests (vision tower, prefill, first token) alternating between the models.
 * </ol>
 *
 * <pre>
 * mvn -o -q -pl qwen-vl-core test -Dtest=Bf16MatmulBenchLauncher -Dqwenvl.bench.model=qwen2-vl-2b
 * </pre>
 *
 * Settings: {@code qwenvl.bench.modes} (default "AUTO,BF16_MATMUL": the default weight mode, per-layer widening on
 * the CPU, against bfloat16; FLOAT32_COPIES may be listed too, it holds 4 more bytes per parameter),
 * {@code qwenvl.bench.imageRuns} (3), {@code qwenvl.bench.images} ("448x448"), {@code qwenvl.bench.kernelRuns} (7; 0
 * skips the kernels), {@code qwenvl.bench.threads}, {@code qwenvl.bench.dir} as for {@link EngineBenchmark}.
 */
public final class Bf16MatmulBench {

    /** (rows, in, out) of the products timed, with what they are. */
    private static final Object[][] SHAPES = {
            {"2B prefill q/o_proj", 281, 1536, 1536},
            {"2B prefill k/v_proj", 281, 1536, 256},
            {"2B prefill gate/up_proj", 281, 1536, 8960},
            {"2B prefill down_proj", 281, 8960, 1536},
            {"2B vision qkv", 1024, 1280, 3840},
            {"2B vision proj", 1024, 1280, 1280},
            {"2B vision fc1", 1024, 1280, 5120},
            {"2B vision fc2", 1024, 5120, 1280},
    };

    private Bf16MatmulBench() {
    }

    public static void run(String modelName, PrintStream log) {
        int threads = Integer.getInteger("qwenvl.bench.threads", Runtime.getRuntime().availableProcessors());
        Engine engine = DjlRuntime.start(threads);
        log.printf(Locale.ROOT, "[bf16] %d threads, load average %s%n", threads, loadAverage());
        int kernelRuns = Integer.getInteger("qwenvl.bench.kernelRuns", 7);
        if (kernelRuns > 0) {
            kernels(engine, kernelRuns, log);
        }
        if (modelName == null || modelName.isBlank() || modelName.equals("none")) {
            return;
        }
        ModelSpec spec = ModelSpec.named(modelName);
        RandomCheckpoint.Prepared prepared = RandomCheckpoint.ensure(spec, RandomCheckpoint.cacheRoot(),
                RandomCheckpoint.fixtureRoot());
        List<QwenVlOptions.WeightMode> modes = new ArrayList<>();
        for (String m : System.getProperty("qwenvl.bench.modes", "AUTO,BF16_MATMUL").split(",")) {
            modes.add(QwenVlOptions.WeightMode.valueOf(m.trim().toUpperCase(Locale.ROOT)));
        }
        List<int[]> sizes = EngineBenchmark.Settings.parseImages(System.getProperty("qwenvl.bench.images", "448x448"));
        int runs = Integer.getInteger("qwenvl.bench.imageRuns", 3);
        Map<QwenVlOptions.WeightMode, QwenVlModel> models = new LinkedHashMap<>();
        Map<String, List<EngineBenchmark.ImageRun>> results = new LinkedHashMap<>();
        try {
            for (QwenVlOptions.WeightMode mode : modes) {
                long t0 = System.nanoTime();
                QwenVlModel model = QwenVlModel.load(prepared.directory(),
                        QwenVlOptions.defaults().withThreads(threads).withWeightMode(mode));
                models.put(mode, model);
                log.printf(Locale.ROOT, "[bf16] %s loaded in %.1f s, RSS %.2f GiB; warm-up%n", mode,
                        (System.nanoTime() - t0) / 1e9, EngineBenchmark.procStatusGiB("VmRSS"));
                model.generate(EngineBenchmark.imageRequest(EngineBenchmark.syntheticImage(56, 56),
                        EngineBenchmark.forced(2)));
            }
            for (int run = 1; run <= runs; run++) {
                for (int[] size : sizes) {
                    for (Map.Entry<QwenVlOptions.WeightMode, QwenVlModel> e : models.entrySet()) {
                        GenerationResult r = e.getValue().generate(EngineBenchmark.imageRequest(
                                EngineBenchmark.syntheticImage(size[0], size[1]), EngineBenchmark.forced(1)));
                        EngineBenchmark.ImageRun image = EngineBenchmark.ImageRun.of(size[0], size[1], r);
                        results.computeIfAbsent(e.getKey() + " " + size[0] + "x" + size[1], k -> new ArrayList<>())
                                .add(image);
                        log.printf(Locale.ROOT, "[bf16] run %d %s: %s (load average %s)%n", run, e.getKey(), image,
                                loadAverage());
                    }
                }
            }
        } finally {
            models.values().forEach(QwenVlModel::close);
        }
        log.printf(Locale.ROOT, "%n%-26s %6s %7s %10s %11s %12s%n", "model " + modelName + ", medians", "tokens",
                "prompt", "vision ms", "prefill ms", "first tok ms");
        for (Map.Entry<String, List<EngineBenchmark.ImageRun>> e : results.entrySet()) {
            List<EngineBenchmark.ImageRun> r = e.getValue();
            log.printf(Locale.ROOT, "%-26s %6d %7d %10.0f %11.0f %12.0f%n", e.getKey(), r.get(0).imageTokens(),
                    r.get(0).promptTokens(), EngineBenchmark.median(r, EngineBenchmark.ImageRun::visionMillis),
                    EngineBenchmark.median(r, EngineBenchmark.ImageRun::prefillMillis),
                    EngineBenchmark.median(r, EngineBenchmark.ImageRun::firstTokenMillis));
        }
        log.printf(Locale.ROOT, "load average at the end: %s%n", loadAverage());
    }

    /** Float32 against bfloat16 GFLOP/s of each shape, the two timed alternately, medians. */
    static void kernels(Engine engine, int runs, PrintStream log) {
        log.printf(Locale.ROOT, "%n%-26s %18s %8s %8s %6s %10s%n", "linear (rows x in -> out)", "", "f32 GF/s",
                "bf16 GF/s", "x", "rel. err");
        Random random = new Random(3);
        for (Object[] shape : SHAPES) {
            int rows = (int) shape[1];
            int in = (int) shape[2];
            int out = (int) shape[3];
            try (NDManager m = engine.newBaseManager()) {
                float[] w = new float[out * in];
                ByteBuffer bits = ByteBuffer.allocateDirect(out * in * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < w.length; i++) {
                    short hi = (short) (Float.floatToIntBits((float) random.nextGaussian() * 0.03f) >>> 16);
                    bits.putShort(i * 2, hi);
                    w[i] = Float.intBitsToFloat((hi & 0xFFFF) << 16);
                }
                NDArray f32 = m.create(w, new Shape(out, in));
                NDArray bf16 = Bf16Linear.weight(m, bits, out, in, "bench");
                NDArray x = m.randomNormal(new Shape(rows, in));
                double[] tf = new double[runs];
                double[] tb = new double[runs];
                for (int i = -2; i < runs; i++) { // two untimed warm-up rounds
                    long t0 = System.nanoTime();
                    Ops.linear(x, f32, null).close();
                    long t1 = System.nanoTime();
                    Ops.linear(x, bf16, null).close();
                    long t2 = System.nanoTime();
                    if (i >= 0) {
                        tf[i] = (t1 - t0) / 1e9;
                        tb[i] = (t2 - t1) / 1e9;
                    }
                }
                float[] a = Ops.linear(x, f32, null).toFloatArray();
                float[] b = Ops.linear(x, bf16, null).toFloatArray();
                double diff = 0;
                double max = 0;
                for (int i = 0; i < a.length; i++) {
                    diff = Math.max(diff, Math.abs(a[i] - b[i]));
                    max = Math.max(max, Math.abs(a[i]));
                }
                double flop = 2.0 * rows * in * out;
                double gf = flop / EngineBenchmark.median(tf) / 1e9;
                double gb = flop / EngineBenchmark.median(tb) / 1e9;
                log.printf(Locale.ROOT, "%-26s %18s %8.0f %8.0f %6.2f %10.1e%n", shape[0],
                        rows + "x" + in + "->" + out, gf, gb, gb / gf, diff / max);
            }
        }
        log.printf(Locale.ROOT, "(load average %s)%n", loadAverage());
    }

    static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
