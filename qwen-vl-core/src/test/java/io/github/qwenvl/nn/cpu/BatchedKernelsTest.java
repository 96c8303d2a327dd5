package io.github.qwenvl.nn.cpu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batched products ({@link MatVec#multiplyBatch}, {@link MatVec#gatedSiluBatch}, the kernels' {@code
 * *RowsBatch}): for every vector of a batch, bit for bit the single-vector product (the contract that makes a
 * sequence's decode independent of its batch), and within float32 rounding of a double-precision reference. Odd
 * shapes (short and long rows around the kernels' 4096-column switch, partial vectors, tails, row counts not
 * divisible by the row blocks), segmented matrices, batches of 1 to 9 (groups of four and leftovers), BF16, F32 and
 * Q8, both kernel sets; the scalar and vector batched products agree within the same rounding bound.
 */
class BatchedKernelsTest {

    private static final DecodeThreads THREADS = new DecodeThreads(3);
    private static final int[][] SHAPES = {{1, 1}, {7, 3}, {13, 31}, {5, 129}, {33, 64}, {250, 70}, {67, 1536},
        {9, 4096}, {5, 4097}, {7, 4100}, {6, 4099}, {3, 8960}, {11, 8192}};
    private static final int[] BATCHES = {1, 2, 3, 4, 5, 7, 8, 9};
    /** The formats with batched kernels here (Q4 batches loop over its single-vector kernel: Q4KernelsTest). */
    private static final WeightMatrix.Format[] FORMATS = {WeightMatrix.Format.BF16, WeightMatrix.Format.F32,
        WeightMatrix.Format.Q8};

    @AfterAll
    static void stop() {
        THREADS.close();
    }

    @Test
    void batchedProductsEqualSingleProductsAndTheReference() {
        Random random = new Random(17);
        for (int[] shape : SHAPES) {
            int rows = shape[0];
            int cols = shape[1];
            for (WeightMatrix.Format format : FORMATS) {
                int perSegment = format == WeightMatrix.Format.Q8 ? rows : Math.max(1, rows / 3 + 1);
                Dense dense = matrix(random, format, rows, cols, perSegment);
                for (int batch : BATCHES) {
                    float[][] xs = vectors(random, batch, cols);
                    double[][] reference = new double[batch][rows];
                    double[][] bound = new double[batch][rows];
                    for (int b = 0; b < batch; b++) {
                        for (int r = 0; r < rows; r++) {
                            double sum = 0;
                            double magnitude = 0;
                            for (int c = 0; c < cols; c++) {
                                double term = (double) dense.values[r * cols + c] * xs[b][c];
                                sum += term;
                                magnitude += Math.abs(term);
                            }
                            reference[b][r] = sum;
                            // float32 accumulation: error ≤ ~n·eps·Σ|terms|; far looser than the usual ~sqrt(n)
                            bound[b][r] = 1e-6 * magnitude * Math.sqrt(cols) + 1e-6;
                        }
                    }
                    float[][][] byKernels = new float[2][][];
                    int set = 0;
                    for (Kernels k : KernelsTest.kernels()) {
                        MatVec mv = new MatVec(k, THREADS);
                        float[][] outs = new float[batch][rows];
                        mv.multiplyBatch(batch, xs, scratch(batch, cols), scratch(batch, cols), dense.matrix, outs);
                        for (int b = 0; b < batch; b++) {
                            float[] single = new float[rows];
                            mv.multiply(xs[b], new float[cols], new float[cols], dense.matrix, single);
                            String what = k.name() + " " + format + " " + rows + "x" + cols + " batch " + batch
                                    + " vector " + b;
                            assertThat(outs[b]).as(what).containsExactly(single);
                            for (int r = 0; r < rows; r++) {
                                assertThat((double) outs[b][r]).as("%s row %d", what, r).isCloseTo(reference[b][r],
                                        org.assertj.core.data.Offset.offset(bound[b][r]));
                            }
                        }
                        byKernels[set++] = outs;
                    }
                    if (set == 2) { // scalar and vector: different summation orders, both within the bound
                        for (int b = 0; b < batch; b++) {
                            for (int r = 0; r < rows; r++) {
                                assertThat((double) byKernels[1][b][r]).isCloseTo(byKernels[0][b][r],
                                        org.assertj.core.data.Offset.offset(2 * bound[b][r]));
                            }
                        }
                    }
                }
            }
        }
    }

    /** Several matrices in one pass (q/k/v) and the gated MLP: per vector exactly the single-vector passes. */
    @Test
    void fusedAndGatedBatchesEqualSinglePasses() {
        Random random = new Random(23);
        for (WeightMatrix.Format format : FORMATS) {
            for (int cols : new int[] {77, 1536, 4160}) {
                int[] rowCounts = {37, 6, 6};
                WeightMatrix[] ms = new WeightMatrix[rowCounts.length];
                for (int i = 0; i < ms.length; i++) {
                    ms[i] = matrix(random, format, rowCounts[i], cols, rowCounts[i]).matrix;
                }
                for (Kernels k : KernelsTest.kernels()) {
                    MatVec mv = new MatVec(k, THREADS);
                    for (int batch : new int[] {2, 4, 6, 8}) {
                        float[][] xs = vectors(random, batch, cols);
                        float[][][] outs = new float[ms.length][batch][];
                        for (int i = 0; i < ms.length; i++) {
                            for (int b = 0; b < batch; b++) {
                                outs[i][b] = new float[rowCounts[i]];
                            }
                        }
                        mv.multiplyBatch(batch, xs, scratch(batch, cols), scratch(batch, cols), ms, outs);
                        float[][] gate = new float[batch][37];
                        float[][] up = new float[batch][37];
                        float[][] act = new float[batch][37];
                        mv.gatedSiluBatch(batch, xs, scratch(batch, cols), scratch(batch, cols), ms[0],
                                matrix(random, format, 37, cols, 37).matrix, gate, up, act);
                        for (int b = 0; b < batch; b++) {
                            float[][] single = {new float[37], new float[6], new float[6]};
                            mv.multiply(xs[b], new float[cols], new float[cols], ms, single);
                            for (int i = 0; i < ms.length; i++) {
                                assertThat(outs[i][b]).as("%s %s %d cols matrix %d vector %d", k.name(), format,
                                        cols, i, b).containsExactly(single[i]);
                            }
                            assertThat(gate[b]).containsExactly(single[0]);
                        }
                    }
                }
            }
        }
    }

    /** The gated activation of a batch: per vector exactly {@link MatVec#gatedSilu}. */
    @Test
    void gatedSiluBatchEqualsSingle() {
        Random random = new Random(29);
        for (WeightMatrix.Format format : FORMATS) {
            for (int cols : new int[] {64, 1536, 8960}) {
                int rows = 70;
                WeightMatrix gate = matrix(random, format, rows, cols, rows).matrix;
                WeightMatrix up = matrix(random, format, rows, cols, rows).matrix;
                for (Kernels k : KernelsTest.kernels()) {
                    MatVec mv = new MatVec(k, THREADS);
                    int batch = 5;
                    float[][] xs = vectors(random, batch, cols);
                    float[][] g = new float[batch][rows];
                    float[][] u = new float[batch][rows];
                    float[][] a = new float[batch][rows];
                    mv.gatedSiluBatch(batch, xs, scratch(batch, cols), scratch(batch, cols), gate, up, g, u, a);
                    for (int b = 0; b < batch; b++) {
                        float[] sg = new float[rows];
                        float[] su = new float[rows];
                        float[] sa = new float[rows];
                        mv.gatedSilu(xs[b], new float[cols], new float[cols], gate, up, sg, su, sa);
                        assertThat(a[b]).as("%s %s %d cols vector %d", k.name(), format, cols, b).containsExactly(sa);
                    }
                }
            }
        }
    }

    private record Dense(WeightMatrix matrix, float[] values) {
    }

    /** A random (rows × cols) matrix in {@code format} and the float values it stands for (Q8: dequantized). */
    static Dense matrix(Random random, WeightMatrix.Format format, int rows, int cols, int perSegment) {
        float[] values = new float[rows * cols];
        if (format == WeightMatrix.Format.Q8) {
            ByteBuffer source = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (int e = 0; e < values.length; e++) {
                source.putShort(2 * e, (short) (Float.floatToIntBits((float) random.nextGaussian()) >>> 16));
            }
            WeightMatrix bf16 = WeightMatrix.of(WeightMatrix.Format.BF16, rows, cols, source);
            ByteBuffer quants = ByteBuffer.allocateDirect(rows * cols);
            ByteBuffer scales = ByteBuffer.allocateDirect(rows * WeightMatrix.blocksPerRow(cols) * 4)
                    .order(ByteOrder.LITTLE_ENDIAN);
            WeightMatrix.quantize(bf16, 0, rows, quants, scales);
            WeightMatrix q8 = WeightMatrix.quantized(rows, cols, quants, scales);
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                q8.row(r, row);
                System.arraycopy(row, 0, values, r * cols, cols);
            }
            return new Dense(q8, values);
        }
        int segments = (rows + perSegment - 1) / perSegment;
        ByteBuffer[] buffers = new ByteBuffer[segments];
        for (int s = 0; s < segments; s++) {
            int n = Math.min(perSegment, rows - s * perSegment);
            buffers[s] = (s % 2 == 0 ? ByteBuffer.allocateDirect(n * cols * format.bytes() + 3)
                    : ByteBuffer.allocate(n * cols * format.bytes())).order(ByteOrder.LITTLE_ENDIAN);
            for (int e = 0; e < n * cols; e++) {
                float value = (float) random.nextGaussian();
                int at = s * perSegment * cols + e;
                if (format == WeightMatrix.Format.BF16) {
                    short bits = (short) (Float.floatToIntBits(value) >>> 16);
                    buffers[s].putShort(2 * e, bits);
                    values[at] = Float.intBitsToFloat(bits << 16);
                } else {
                    buffers[s].putFloat(4 * e, value);
                    values[at] = value;
                }
            }
        }
        return new Dense(new WeightMatrix(format, rows, cols, perSegment, buffers), values);
    }

    private static float[][] vectors(Random random, int batch, int cols) {
        float[][] xs = new float[batch][cols];
        for (float[] x : xs) {
            for (int c = 0; c < cols; c++) {
                x[c] = (float) random.nextGaussian();
            }
        }
        return xs;
    }

    private static float[][] scratch(int batch, int cols) {
        return new float[batch][cols];
    }
}
