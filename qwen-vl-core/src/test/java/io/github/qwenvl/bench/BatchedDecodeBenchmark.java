package io.github.qwenvl.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.EngineTuning;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.generate.LogitsSampler;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.nn.cpu.DecodeThreads;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.MappedMatrices;
import io.github.qwenvl.nn.cpu.MatVec;
import io.github.qwenvl.nn.cpu.WeightMatrix;
import io.github.qwenvl.qwen2vl.Qwen2JavaDecoder;
import io.github.qwenvl.qwen2vl.Qwen2VlConfig;
import io.github.qwenvl.qwen2vl.RotaryTables;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The Java decoder's batched step alone ({@link Qwen2JavaDecoder#step(Qwen2JavaDecoder.State[], int[], long[])}) on
 * the random Qwen2-VL-2B checkpoint: B sequences of {@code context} cached tokens each (random keys and values, no
 * prefill), stepped together with greedy tokens; per batch size the step time, aggregate and per-stream tok/s, and
 * the kernels' rate (GFLOP/s of the matrix products, GB/s of weights read once per step) against the machine's BF16
 * mat-vec bandwidth and 1024³ float32 matmul (DJL) measured in the same process. Also {@code kernels}: the batched
 * product alone on the 2B's matrix shapes (synthetic BF16 matrices), to choose the kernels' blocking.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp ... io.github.qwenvl.bench.BatchedDecodeBenchmark [decode|kernels]
 *     [-Dqwenvl.bench.batches=1,2,4,8] [-Dqwenvl.bench.context=128] [-Dqwenvl.bench.steps=16]
 *     [-Dqwenvl.bench.threads=N] [-Dqwenvl.bench.dir=target/bench-models]
 * </pre>
 * or inside Surefire's JVM: {@code mvn -o -q -pl qwen-vl-core test -Dtest=BatchedDecodeBenchmarkLauncher
 * -Dqwenvl.bench.batched=decode}.
 */
public final class BatchedDecodeBenchmark {

    private BatchedDecodeBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        String mode = args.length > 0 ? args[0] : "decode";
        run(mode, System.out);
    }

    static void run(String mode, java.io.PrintStream out) throws IOException {
        int threads = Integer.getInteger("qwenvl.bench.threads", Runtime.getRuntime().availableProcessors());
        List<Integer> batches = EngineBenchmark.Settings.parseInts(System.getProperty("qwenvl.bench.batches",
                "1,2,4,8"));
        out.printf(Locale.ROOT, "[batched] %s, %d threads, kernels %s, load average %s, %.1f GiB available%n", mode,
                threads, Kernels.get().name(), loadAverage(), EngineBenchmark.memAvailableGiB());
        if (mode.equals("kernels")) {
            kernels(threads, batches, out);
        } else {
            decode(threads, batches, out);
        }
        out.printf(Locale.ROOT, "[batched] load average at the end %s%n", loadAverage());
    }

    /** The machine's references: BF16 mat-vec GB/s (Java kernel, 8192 × 16384) and 1024³ f32 matmul (DJL). */
    private static double[] references(int threads, java.io.PrintStream out) {
        double bandwidth = JavaMatVecBandwidth.gbPerSecond(WeightMatrix.Format.BF16, 8192, 16384, threads, 3, 15);
        double matmul = EngineBenchmark.matMulGflops(Engine.getEngine("PyTorch"), Device.cpu(), 1024);
        out.printf(Locale.ROOT, "[batched] references: BF16 mat-vec %.1f GB/s (Java, 8192x16384), f32 matmul %.1f"
                + " GFLOP/s (DJL, 1024^3)%n", bandwidth, matmul);
        return new double[] {bandwidth, matmul};
    }

    static void decode(int threads, List<Integer> batches, java.io.PrintStream out) throws IOException {
        int context = Integer.getInteger("qwenvl.bench.context", 128);
        int steps = Integer.getInteger("qwenvl.bench.steps", 16);
        RandomCheckpoint.Prepared prepared = RandomCheckpoint.ensure(Qwen2VlSpec.QWEN2_VL_2B, RandomCheckpoint.cacheRoot(),
                RandomCheckpoint.fixtureRoot());
        Path dir = prepared.directory();
        out.printf(Locale.ROOT, "[batched] checkpoint %s (%s)%n", dir, prepared.generated()
                ? String.format(Locale.ROOT, "written in %.1f s", prepared.seconds()) : "cached");
        double[] ref = references(threads, out);
        Qwen2TextConfig text = Qwen2VlConfig.of(ModelConfig.load(dir)).text();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
             NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            WeightLoader weights = new WeightLoader(ckpt, manager, DataType.FLOAT32);
            float[] inv = RotaryTables.inverseFrequencies(manager, text.headDim(), text.ropeTheta());
            try (Qwen2JavaDecoder decoder = Qwen2JavaDecoder.create(text, weights, inv, Kernels.get(), threads, null,
                    new MappedMatrices(ckpt), EngineTuning.DEFAULTS.kvPageElements())) {
                long weightBytes = decoder.bytesPerToken();
                double matrixFlops = 2.0 * weightBytes / decoder.weightFormat().bytes(); // per token
                int kvPerLayer = text.numKeyValueHeads() * context * text.headDim();
                float[] keys = new float[kvPerLayer];
                float[] values = new float[kvPerLayer];
                Random random = new Random(3);
                for (int i = 0; i < kvPerLayer; i++) {
                    keys[i] = (float) random.nextGaussian();
                    values[i] = (float) random.nextGaussian();
                }
                double single = 0;
                out.printf(Locale.ROOT, "[batched] %d steps per batch size after 3 warm-up steps, %d tokens of context"
                        + " each; weights %.2f GB per step (%s)%n", steps, context, weightBytes / 1e9,
                        decoder.weightFormat());
                // the process's CPU time per step too: GFLOP per CPU second holds up better on a shared machine
                com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
                out.println("| B | step | aggregate tok/s | per-stream tok/s | × single | matrix GFLOP/s | % of matmul"
                        + " | weights GB/s | % of mat-vec | CPU s per step | GFLOP/CPU-s |");
                out.println("|---|---|---|---|---|---|---|---|---|---|---|");
                for (int batch : batches) {
                    Qwen2JavaDecoder.State[] states = new Qwen2JavaDecoder.State[batch];
                    int[] tokens = new int[batch];
                    long[] positions = new long[batch];
                    for (int b = 0; b < batch; b++) {
                        states[b] = decoder.newState(context + steps + 8);
                        for (int l = 0; l < text.numLayers(); l++) {
                            states[b].load(l, keys, values, context);
                        }
                        tokens[b] = 100 + b;
                    }
                    for (int i = 0; i < 3; i++) {
                        step(decoder, states, tokens, positions);
                    }
                    long start = System.nanoTime();
                    long cpuStart = os.getProcessCpuTime();
                    for (int i = 0; i < steps; i++) {
                        step(decoder, states, tokens, positions);
                    }
                    double cpu = (os.getProcessCpuTime() - cpuStart) / 1e9 / steps;
                    double seconds = (System.nanoTime() - start) / 1e9 / steps; // per step
                    double aggregate = batch / seconds;
                    if (batch == 1 || single == 0) {
                        single = aggregate / batch;
                    }
                    double gflops = matrixFlops * batch / seconds / 1e9;
                    double gbs = weightBytes / seconds / 1e9;
                    out.printf(Locale.ROOT, "| %d | %.0f ms | %.2f | %.2f | %.2f | %.1f | %.0f %% | %.1f | %.0f %% | %.3f"
                                    + " | %.1f |%n", batch, seconds * 1e3, aggregate, 1 / seconds, aggregate / single,
                            gflops, 100 * gflops / ref[1], gbs, 100 * gbs / ref[0], cpu,
                            matrixFlops * batch / cpu / 1e9);
                }
            }
        }
    }

    private static void step(Qwen2JavaDecoder decoder, Qwen2JavaDecoder.State[] states, int[] tokens,
                             long[] positions) {
        for (int b = 0; b < states.length; b++) {
            positions[b] = states[b].length();
        }
        float[][] logits = decoder.step(states, tokens, positions);
        for (int b = 0; b < states.length; b++) {
            tokens[b] = LogitsSampler.argmax(logits[b]);
        }
    }

    /** The batched BF16 product alone on the 2B's shapes: per shape and batch size, GFLOP/s and weights GB/s. */
    static void kernels(int threads, List<Integer> batches, java.io.PrintStream out) {
        int[][] shapes = System.getProperty("qwenvl.bench.shape") != null
                ? new int[][] {Arrays.stream(System.getProperty("qwenvl.bench.shape").split("x")).mapToInt(Integer::parseInt).toArray()}
                : new int[][] {{8960, 1536}, {1536, 8960}, {2048, 1536}};
        int runs = Integer.getInteger("qwenvl.bench.steps", 16);
        try (DecodeThreads t = new DecodeThreads(threads)) {
            MatVec mv = new MatVec(Kernels.get(), t);
            // with one thread, the caller's CPU time too: GFLOP per CPU second holds up on a shared machine
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            out.println("| matrix | B | ms | GFLOP/s | weights GB/s | GFLOP/CPU-s |");
            out.println("|---|---|---|---|---|---|");
            for (int[] shape : shapes) {
                int rows = shape[0];
                int cols = shape[1];
                // several copies, cycled: together far beyond the caches, as the decoder's 28 layers are
                long total = Long.getLong("qwenvl.bench.kernelBytes", 256_000_000L); // small: cache-resident
                int copies = Math.max(1, (int) (total / ((long) rows * cols * 2)));
                WeightMatrix[] ms = new WeightMatrix[copies];
                Random random = new Random(1);
                for (int c = 0; c < copies; c++) {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i + 4 <= buffer.capacity(); i += 4) {
                        int bits = Float.floatToIntBits((float) random.nextGaussian() * 0.02f);
                        buffer.putInt(i, (bits & 0xFFFF0000) | (bits >>> 16));
                    }
                    ms[c] = WeightMatrix.of(WeightMatrix.Format.BF16, rows, cols, buffer);
                }
                for (int batch : batches) {
                    float[][] xs = new float[batch][cols];
                    float[][] even = new float[batch][cols];
                    float[][] odd = new float[batch][cols];
                    float[][] outs = new float[batch][rows];
                    for (float[] x : xs) {
                        for (int i = 0; i < cols; i++) {
                            x[i] = (float) random.nextGaussian();
                        }
                    }
                    for (int i = 0; i < 2 * copies; i++) {
                        mv.multiplyBatch(batch, xs, even, odd, ms[i % copies], outs);
                    }
                    double[] seconds = new double[runs];
                    double[] cpu = new double[runs];
                    for (int i = 0; i < runs; i++) {
                        long start = System.nanoTime();
                        long cpuStart = mx.getCurrentThreadCpuTime();
                        for (WeightMatrix m : ms) {
                            mv.multiplyBatch(batch, xs, even, odd, m, outs);
                        }
                        cpu[i] = (mx.getCurrentThreadCpuTime() - cpuStart) / 1e9 / copies;
                        seconds[i] = (System.nanoTime() - start) / 1e9 / copies;
                    }
                    Arrays.sort(seconds);
                    Arrays.sort(cpu);
                    double s = seconds[runs / 2];
                    double flops = 2.0 * rows * cols * batch;
                    out.printf(Locale.ROOT, "| %dx%d | %d | %.3f | %.1f | %.1f | %s |%n", rows, cols, batch, s * 1e3,
                            flops / s / 1e9, 2.0 * rows * cols / s / 1e9, threads == 1
                                    ? String.format(Locale.ROOT, "%.1f", flops / cpu[runs / 2] / 1e9) : "-");
                }
            }
        }
    }

    private static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
