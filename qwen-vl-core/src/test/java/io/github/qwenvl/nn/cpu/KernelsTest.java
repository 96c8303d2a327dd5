package io.github.qwenvl.nn.cpu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The decode kernels against a double-precision reference on random data: odd shapes, row counts not divisible
 * by the thread count or the vector length, segmented matrices, both kernel sets (the vector one when the
 * Vector API module is enabled, as in the Surefire configuration).
 */
class KernelsTest {

    private static final DecodeThreads THREADS = new DecodeThreads(3);

    @AfterAll
    static void stop() {
        THREADS.close();
    }

    static List<Kernels> kernels() {
        List<Kernels> all = new ArrayList<>();
        all.add(ScalarKernels.INSTANCE);
        if (Kernels.vectorized()) {
            all.add(Kernels.get());
        }
        return all;
    }

    @Test
    void vectorKernelsAreActiveUnderSurefire() {
        // the parent pom's argLine adds the module; without it this documents the fallback instead
        assertThat(Kernels.vectorized()).isEqualTo(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent());
    }

    @Test
    void bf16AndF32ProductsMatchDoubleReference() {
        Random random = new Random(42);
        int[][] shapes = {{1, 1}, {7, 3}, {13, 31}, {29, 33}, {37, 64}, {101, 127}, {5, 129}, {67, 1536}, {3, 8960}, {9, 4100}, {6, 4099}, {250, 70}};
        for (Kernels k : kernels()) {
            MatVec mv = new MatVec(k, THREADS);
            for (int[] shape : shapes) {
                int rows = shape[0];
                int cols = shape[1];
                for (WeightMatrix.Format format : new WeightMatrix.Format[] {WeightMatrix.Format.BF16, WeightMatrix.Format.F32}) {
                    for (int perSegment : new int[] {rows, Math.max(1, rows / 3 + 1)}) {
                        check(mv, random, format, rows, cols, perSegment);
                    }
                }
            }
        }
    }

    private static void check(MatVec mv, Random random, WeightMatrix.Format format, int rows, int cols, int perSegment) {
        double[][] w = new double[rows][cols];
        int segments = (rows + perSegment - 1) / perSegment;
        ByteBuffer[] buffers = new ByteBuffer[segments];
        for (int s = 0; s < segments; s++) {
            int n = Math.min(perSegment, rows - s * perSegment);
            // odd-sized heap and direct buffers alike
            buffers[s] = (s % 2 == 0 ? ByteBuffer.allocateDirect(n * cols * format.bytes() + 3)
                    : ByteBuffer.allocate(n * cols * format.bytes())).order(ByteOrder.LITTLE_ENDIAN);
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < cols; c++) {
                    float value = (float) random.nextGaussian();
                    int at = (r * cols + c) * format.bytes();
                    if (format == WeightMatrix.Format.BF16) {
                        short bits = (short) (Float.floatToIntBits(value) >>> 16);
                        buffers[s].putShort(at, bits);
                        w[s * perSegment + r][c] = Float.intBitsToFloat(bits << 16);
                    } else {
                        buffers[s].putFloat(at, value);
                        w[s * perSegment + r][c] = value;
                    }
                }
            }
        }
        WeightMatrix m = new WeightMatrix(format, rows, cols, perSegment, buffers);
        float[] x = new float[cols];
        for (int c = 0; c < cols; c++) {
            x[c] = (float) random.nextGaussian();
        }
        float[] out = new float[rows];
        mv.multiply(x, new float[(cols + 1) / 2], new float[(cols + 1) / 2], m, out);
        String what = mv.kernels().name() + " " + format + " " + rows + "x" + cols + "/" + perSegment;
        for (int r = 0; r < rows; r++) {
            double expected = 0;
            double magnitude = 0;
            for (int c = 0; c < cols; c++) {
                expected += w[r][c] * x[c];
                magnitude += Math.abs(w[r][c] * x[c]);
            }
            // float32 accumulation: error ≤ ~n·eps·Σ|terms|; the bound below is far looser than the usual ~sqrt(n)
            double tolerance = 1e-6 * magnitude * Math.sqrt(cols) + 1e-6;
            assertThat((double) out[r]).as("%s row %d", what, r).isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
        }
        float[] row = new float[cols];
        int pick = rows - 1;
        m.row(pick, row);
        for (int c = 0; c < cols; c++) {
            assertThat((double) row[c]).isEqualTo(w[pick][c]);
        }
    }

    /**
     * Q8 copies: every value within half a step (d / 2) of its source, a block of zeros stays zero, a block's
     * largest magnitude is exactly ±127 · d, and the products of both kernel sets equal the double-precision
     * product of the dequantized values (odd shapes: partial last blocks, rows not divisible by four, columns not
     * divisible by a vector's four lanes of int8s).
     */
    @Test
    void q8QuantizationAndProducts() {
        Random random = new Random(11);
        int[][] shapes = {{1, 1}, {7, 31}, {13, 32}, {29, 33}, {37, 64}, {5, 65}, {9, 96}, {5, 100}, {11, 128}, {67, 1536},
            {3, 8960}, {6, 4099}, {9, 8192}};
        for (int[] shape : shapes) {
            int rows = shape[0];
            int cols = shape[1];
            ByteBuffer source = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
            float[] w = new float[rows * cols];
            for (int e = 0; e < w.length; e++) {
                // one all-zero block (row 0's first) and a spread of magnitudes elsewhere
                float value = e < Math.min(cols, WeightMatrix.Q8_BLOCK) ? 0f : (float) (random.nextGaussian() * Math.exp(random.nextGaussian()));
                short bits = (short) (Float.floatToIntBits(value) >>> 16);
                source.putShort(2 * e, bits);
                w[e] = Float.intBitsToFloat(bits << 16);
            }
            WeightMatrix bf16 = WeightMatrix.of(WeightMatrix.Format.BF16, rows, cols, source);
            int blocks = WeightMatrix.blocksPerRow(cols);
            ByteBuffer quants = ByteBuffer.allocateDirect(rows * cols);
            ByteBuffer scales = ByteBuffer.allocateDirect(rows * blocks * 4).order(ByteOrder.LITTLE_ENDIAN);
            WeightMatrix.quantize(bf16, 0, rows / 2, quants, scales); // in two parts, as threads do
            WeightMatrix.quantize(bf16, rows / 2, rows, quants, scales);
            WeightMatrix q8 = WeightMatrix.quantized(rows, cols, quants, scales);
            assertThat(q8.bytes()).isEqualTo((long) rows * cols + rows * blocks * 4L);
            float[] dequantized = new float[rows * cols];
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                q8.row(r, row);
                System.arraycopy(row, 0, dequantized, r * cols, cols);
                for (int b = 0; b < blocks; b++) {
                    float d = scales.getFloat(4 * (r * blocks + b));
                    float max = 0f;
                    int maxQ = 0;
                    for (int j = b * WeightMatrix.Q8_BLOCK; j < Math.min(cols, (b + 1) * WeightMatrix.Q8_BLOCK); j++) {
                        int e = r * cols + j;
                        assertThat((double) dequantized[e]).as("%dx%d (%d, %d)", rows, cols, r, j)
                                .isCloseTo(w[e], org.assertj.core.data.Offset.offset(d * 0.5001 + 1e-30));
                        max = Math.max(max, Math.abs(w[e]));
                        maxQ = Math.max(maxQ, Math.abs(quants.get(e)));
                    }
                    assertThat(d).isEqualTo(max / 127f);
                    assertThat(maxQ).isEqualTo(max == 0f ? 0 : 127);
                }
            }
            float[] x = new float[cols];
            for (int c = 0; c < cols; c++) {
                x[c] = (float) random.nextGaussian();
            }
            for (Kernels k : kernels()) {
                float[] out = new float[rows];
                new MatVec(k, THREADS).multiply(x, new float[(cols + 1) / 2], new float[(cols + 1) / 2], q8, out);
                for (int r = 0; r < rows; r++) {
                    double expected = 0;
                    double magnitude = 0;
                    for (int c = 0; c < cols; c++) {
                        expected += (double) dequantized[r * cols + c] * x[c];
                        magnitude += Math.abs((double) dequantized[r * cols + c] * x[c]);
                    }
                    double tolerance = 1e-6 * magnitude * Math.sqrt(cols) + 1e-6;
                    assertThat((double) out[r]).as("%s Q8 %dx%d row %d", k.name(), rows, cols, r)
                            .isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
                    // one row alone (long rows otherwise go four at a time): bit-identical
                    float[] permuted = new float[cols];
                    k.permuteForQ8(x, cols, permuted);
                    float[] alone = new float[1];
                    q8.rows(k, x, permuted, null, alone, 0, r, r + 1);
                    assertThat(alone[0]).as("%s Q8 %dx%d row %d alone", k.name(), rows, cols, r).isEqualTo(out[r]);
                }
            }
        }
    }

    @Test
    void fusedProductsOverSeveralMatrices() {
        Random random = new Random(7);
        int cols = 77;
        int[] rowCounts = {5, 2, 2};
        WeightMatrix[] ms = new WeightMatrix[rowCounts.length];
        float[][] dense = new float[rowCounts.length][];
        for (int i = 0; i < ms.length; i++) {
            ByteBuffer b = ByteBuffer.allocate(rowCounts[i] * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
            dense[i] = new float[rowCounts[i] * cols];
            for (int e = 0; e < dense[i].length; e++) {
                short bits = (short) (Float.floatToIntBits((float) random.nextGaussian()) >>> 16);
                b.putShort(e * 2, bits);
                dense[i][e] = Float.intBitsToFloat(bits << 16);
            }
            ms[i] = WeightMatrix.of(WeightMatrix.Format.BF16, rowCounts[i], cols, b);
        }
        float[] x = new float[cols];
        for (int c = 0; c < cols; c++) {
            x[c] = (float) random.nextGaussian();
        }
        for (Kernels k : kernels()) {
            float[][] outs = {new float[5], new float[2], new float[2]};
            new MatVec(k, THREADS).multiply(x, new float[39], new float[39], ms, outs);
            for (int i = 0; i < ms.length; i++) {
                for (int r = 0; r < rowCounts[i]; r++) {
                    double expected = 0;
                    for (int c = 0; c < cols; c++) {
                        expected += (double) dense[i][r * cols + c] * x[c];
                    }
                    assertThat((double) outs[i][r]).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
                }
            }
        }
    }

    @Test
    void bf16WideningIsExactAtAnyOffsetAndLength() {
        Random random = new Random(7);
        for (Kernels k : kernels()) {
            for (int count : new int[] {0, 1, 15, 16, 17, 64, 1000, 4099}) {
                int srcOffset = 2 * random.nextInt(5);
                int dstOffset = 4 * random.nextInt(5);
                ByteBuffer src = ByteBuffer.allocateDirect(srcOffset + 2 * count + 8).order(ByteOrder.LITTLE_ENDIAN);
                ByteBuffer dst = ByteBuffer.allocateDirect(dstOffset + 4 * count + 8).order(ByteOrder.nativeOrder());
                short[] bits = new short[count];
                for (int i = 0; i < count; i++) {
                    bits[i] = (short) random.nextInt(1 << 16); // every pattern, NaNs and subnormals included
                    src.putShort(srcOffset + 2 * i, bits[i]);
                }
                dst.putInt(dstOffset + 4 * count, 0x12345678); // the word after the range stays untouched
                k.widenBf16(src, srcOffset, dst, dstOffset, count);
                for (int i = 0; i < count; i++) {
                    assertThat(dst.getInt(dstOffset + 4 * i)).as("%s count %d element %d", k.name(), count, i)
                            .isEqualTo(bits[i] << 16);
                }
                assertThat(dst.getInt(dstOffset + 4 * count)).as("%s past the end", k.name()).isEqualTo(0x12345678);
            }
        }
    }

    @Test
    void matrixRowsWidenAcrossSegments() {
        Random random = new Random(8);
        int rows = 13;
        int cols = 37;
        for (WeightMatrix.Format format : new WeightMatrix.Format[] {WeightMatrix.Format.BF16, WeightMatrix.Format.F32}) {
            ByteBuffer bytes = ByteBuffer.allocate(rows * cols * format.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            float[] expected = new float[rows * cols];
            for (int i = 0; i < expected.length; i++) {
                float v = (float) random.nextGaussian();
                if (format == WeightMatrix.Format.BF16) {
                    short b = (short) (Float.floatToIntBits(v) >>> 16);
                    bytes.putShort(2 * i, b);
                    expected[i] = Float.intBitsToFloat(b << 16);
                } else {
                    bytes.putFloat(4 * i, v);
                    expected[i] = v;
                }
            }
            // segments of 5 rows (the last one 3), as a matrix over 1 GiB is mapped
            ByteBuffer[] segments = new ByteBuffer[3];
            for (int s = 0; s < 3; s++) {
                int first = 5 * s;
                int count = Math.min(5, rows - first);
                segments[s] = bytes.duplicate().position(first * cols * format.bytes())
                        .limit((first + count) * cols * format.bytes()).slice().order(ByteOrder.LITTLE_ENDIAN);
            }
            WeightMatrix m = new WeightMatrix(format, rows, cols, 5, segments);
            for (Kernels k : kernels()) {
                ByteBuffer target = ByteBuffer.allocateDirect(rows * cols * 4).order(ByteOrder.nativeOrder());
                m.widenRows(k, 0, 4, target);
                m.widenRows(k, 4, 11, target);
                m.widenRows(k, 11, rows, target);
                for (int i = 0; i < expected.length; i++) {
                    assertThat(target.getFloat(4 * i)).as("%s %s element %d", k.name(), format, i).isEqualTo(expected[i]);
                }
            }
        }
    }

    @Test
    void dotAndAxpy() {
        Random random = new Random(3);
        for (Kernels k : kernels()) {
            for (int n : new int[] {1, 15, 16, 17, 128, 131}) {
                float[] a = new float[n + 5];
                float[] b = new float[n + 9];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextGaussian();
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) random.nextGaussian();
                }
                double expected = 0;
                for (int i = 0; i < n; i++) {
                    expected += (double) a[3 + i] * b[7 + i];
                }
                assertThat((double) k.dot(a, 3, b, 7, n)).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
                float[] y = b.clone();
                k.axpy(0.5f, a, 3, y, 7, n);
                for (int i = 0; i < b.length; i++) {
                    double want = i >= 7 && i < 7 + n ? b[i] + 0.5 * a[i - 4] : b[i];
                    assertThat((double) y[i]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }

    @Test
    void threadsCoverEveryItemOnceAndPropagateFailures() {
        for (int n : new int[] {1, 2, 10, 1000}) {
            for (int grain : new int[] {1, 3, 64}) {
                java.util.concurrent.atomic.AtomicIntegerArray hits = new java.util.concurrent.atomic.AtomicIntegerArray(n);
                java.util.Set<Integer> workers = java.util.concurrent.ConcurrentHashMap.newKeySet();
                THREADS.run(n, grain, (worker, from, to) -> {
                    workers.add(worker);
                    assertThat(to - from).isBetween(1, grain);
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertThat(hits.get(i)).as("item %d of %d, grain %d", i, n, grain).isEqualTo(1);
                }
                assertThat(workers).allSatisfy(w -> assertThat(w).isBetween(0, THREADS.threads() - 1));
            }
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> THREADS.run(100, 1, (worker, from, to) -> {
            if (from == 57) {
                throw new IllegalStateException("boom");
            }
        })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
    }

    @Test
    void gatedSiluMatchesItsDefinition() {
        Random random = new Random(5);
        int rows = 203;
        int cols = 96;
        WeightMatrix[] ms = new WeightMatrix[2];
        for (int m = 0; m < 2; m++) {
            ByteBuffer b = ByteBuffer.allocate(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (int e = 0; e < rows * cols; e++) {
                b.putShort(e * 2, (short) (Float.floatToIntBits((float) random.nextGaussian() * 0.2f) >>> 16));
            }
            ms[m] = WeightMatrix.of(WeightMatrix.Format.BF16, rows, cols, b);
        }
        float[] x = new float[cols];
        for (int c = 0; c < cols; c++) {
            x[c] = (float) random.nextGaussian();
        }
        for (Kernels k : kernels()) {
            MatVec mv = new MatVec(k, THREADS);
            float[] gate = new float[rows];
            float[] up = new float[rows];
            mv.multiply(x, new float[48], new float[48], ms, new float[][] {gate, up});
            float[] out = new float[rows];
            mv.gatedSilu(x, new float[48], new float[48], ms[0], ms[1], new float[rows], new float[rows], out);
            for (int i = 0; i < rows; i++) {
                float expected = gate[i] * (float) (1.0 / (1.0 + Math.exp(-gate[i]))) * up[i];
                assertThat(out[i]).as("row %d", i).isEqualTo(expected);
            }
        }
    }
}
