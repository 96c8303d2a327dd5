package io.github.qwenvl.bench;

import io.github.qwenvl.nn.cpu.DecodeThreads;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.MatVec;
import io.github.qwenvl.nn.cpu.WeightMatrix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

/**
 * GB/s of the Java decode kernel on one big matrix (far beyond the caches): rows × cols × bytes per element
 * ÷ time of one product, median of {@code runs} after {@code warmup}. The matrix is a direct buffer filled
 * with random BF16 (or F32) values, like a mapped checkpoint tensor; for Q8 the int8 copy of such a BF16 matrix
 * (its bytes include the scales), for Q4 its 4-bit copy in groups of {@value #Q4_GROUP} (codes, scales and offsets).
 */
public final class JavaMatVecBandwidth {

    /** Group size of the Q4 copies measured here (that of {@code JAVA_INT4} and of most AWQ / GPTQ checkpoints). */
    static final int Q4_GROUP = 128;

    private JavaMatVecBandwidth() {
    }

    public static double gbPerSecond(WeightMatrix.Format format, int rows, int cols, int threads, int warmup, int runs) {
        WeightMatrix.Format stored = format == WeightMatrix.Format.Q8 || format == WeightMatrix.Format.Q4
                ? WeightMatrix.Format.BF16 : format;
        long storedBytes = (long) rows * cols * stored.bytes();
        ByteBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(storedBytes)).order(ByteOrder.LITTLE_ENDIAN);
        Random random = new Random(1);
        for (int i = 0; i + 4 <= storedBytes; i += 4) {
            // small random floats (bf16 pairs: top halves of two floats)
            int bits = Float.floatToIntBits((float) random.nextGaussian() * 0.02f);
            buffer.putInt(i, stored == WeightMatrix.Format.F32 ? bits : (bits & 0xFFFF0000) | (bits >>> 16));
        }
        WeightMatrix m = WeightMatrix.of(stored, rows, cols, buffer);
        if (format == WeightMatrix.Format.Q8) { // the int8 copy of those BF16 values, as JAVA_INT8 makes at load
            ByteBuffer quants = ByteBuffer.allocateDirect(Math.toIntExact((long) rows * cols));
            ByteBuffer scales = ByteBuffer.allocateDirect(rows * WeightMatrix.blocksPerRow(cols) * 4);
            WeightMatrix.quantize(m, 0, rows, quants, scales);
            m = WeightMatrix.quantized(rows, cols, quants, scales);
            buffer = null; // the BF16 source is garbage now
        } else if (format == WeightMatrix.Format.Q4) {
            int groups = cols / Q4_GROUP;
            ByteBuffer codes = ByteBuffer.allocateDirect(Math.toIntExact((long) rows * cols / 2));
            ByteBuffer scales = ByteBuffer.allocateDirect(rows * groups * 4);
            ByteBuffer offsets = ByteBuffer.allocateDirect(rows * groups * 4);
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                m.row(r, row);
                WeightMatrix.quantizeRowsQ4(row, cols, r, 1, Q4_GROUP, codes, scales, offsets);
            }
            m = WeightMatrix.q4(rows, cols, Q4_GROUP, codes, scales, offsets);
            buffer = null;
        }
        long bytes = m.bytes();
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) random.nextGaussian();
        }
        float[] out = new float[rows];
        float[] even = new float[(cols + 1) / 2];
        float[] odd = new float[(cols + 1) / 2];
        try (DecodeThreads t = new DecodeThreads(threads)) {
            MatVec mv = new MatVec(Kernels.get(), t);
            for (int i = 0; i < warmup; i++) {
                mv.multiply(x, even, odd, m, out);
            }
            double[] seconds = new double[runs];
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                mv.multiply(x, even, odd, m, out);
                seconds[i] = (System.nanoTime() - start) / 1e9;
            }
            Arrays.sort(seconds);
            return bytes / seconds[runs / 2] / 1e9;
        }
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        System.out.println("kernels: " + Kernels.get().name());
        for (int rep = 0; rep < 2; rep++) {
            System.out.printf("BF16 8192x16384: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.BF16, 8192, 16384, threads, 3, 15));
            System.out.printf("BF16 151936x1536: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.BF16, 151936, 1536, threads, 3, 15));
            System.out.printf("BF16 1536x8960: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.BF16, 1536, 8960, threads, 3, 15));
            System.out.printf("F32 8192x8192: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.F32, 8192, 8192, threads, 3, 15));
            System.out.printf("Q8 8192x16384: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.Q8, 8192, 16384, threads, 3, 15));
            System.out.printf("Q8 151936x1536: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.Q8, 151936, 1536, threads, 3, 15));
            System.out.printf("Q8 1536x8960: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.Q8, 1536, 8960, threads, 3, 15));
            System.out.printf("Q4 8192x16384: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.Q4, 8192, 16384, threads, 3, 15));
            System.out.printf("Q4 151936x1536: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.Q4, 151936, 1536, threads, 3, 15));
            System.out.printf("Q4 1536x8960: %.1f GB/s%n", gbPerSecond(WeightMatrix.Format.Q4, 1536, 8960, threads, 3, 15));
        }
    }
}
