package io.github.qwenvl.nn.cpu;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link WeightMatrix.Format#Q4}: the round-to-nearest quantiser's codes and group parameters, dequantisation, and
 * the products of both kernel sets against a double-precision reference over the dequantised values, for group sizes
 * the vector kernel takes (whole chunks of eight codes per lane) and those it hands to the plain kernel.
 */
class Q4KernelsTest {

    private static final DecodeThreads THREADS = new DecodeThreads(3);

    @AfterAll
    static void stop() {
        THREADS.close();
    }

    /** A random (rows × cols) Q4 matrix quantised from Gaussian values, and those values. */
    record Quantized(WeightMatrix matrix, float[] values, ByteBuffer codes, ByteBuffer scales, ByteBuffer offsets) {
    }

    static Quantized quantize(Random random, int rows, int cols, int groupSize) {
        float[] w = new float[rows * cols];
        for (int e = 0; e < w.length; e++) {
            w[e] = (float) random.nextGaussian() * 0.05f;
        }
        int groups = cols / groupSize;
        ByteBuffer codes = ByteBuffer.allocateDirect(rows * cols / 2).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer scales = ByteBuffer.allocate(rows * groups * 4).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer offsets = ByteBuffer.allocate(rows * groups * 4).order(ByteOrder.LITTLE_ENDIAN);
        WeightMatrix.quantizeRowsQ4(w, cols, 0, rows, groupSize, codes, scales, offsets);
        return new Quantized(WeightMatrix.q4(rows, cols, groupSize, codes, scales, offsets), w, codes, scales, offsets);
    }

    @Test
    void quantiserFitsEachGroupAtLeastAsWellAsItsMinMaxGrid() {
        Random random = new Random(3);
        int rows = 5;
        int cols = 96;
        int groupSize = 32;
        Quantized q = quantize(random, rows, cols, groupSize);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            q.matrix().row(r, row);
            for (int g = 0; g < cols / groupSize; g++) {
                float min = Float.POSITIVE_INFINITY;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = g * groupSize; j < (g + 1) * groupSize; j++) {
                    min = Math.min(min, q.values()[r * cols + j]);
                    max = Math.max(max, q.values()[r * cols + j]);
                }
                float step = (max - min) / 15f;
                float d = q.scales().getFloat(4 * (r * (cols / groupSize) + g));
                float m = q.offsets().getFloat(4 * (r * (cols / groupSize) + g));
                double fitted = 0;
                double grid = 0;
                for (int j = g * groupSize; j < (g + 1) * groupSize; j++) {
                    float w = q.values()[r * cols + j];
                    int code = WeightMatrix.q4Code(q.codes(), r * cols / 2, j);
                    assertThat(row[j]).as("dequantised = code · d + m").isEqualTo(code * d + m);
                    assertThat((double) row[j]).isCloseTo(w, Offset.offset((double) step));
                    fitted += (row[j] - w) * (row[j] - w);
                    float rounded = Math.round((w - min) / step) * step + min;
                    grid += (rounded - w) * (rounded - w);
                }
                assertThat(fitted).as("row %d group %d squared error", r, g).isLessThanOrEqualTo(grid * 1.0001);
            }
        }
    }

    @Test
    void constantGroupsAreExact() {
        int cols = 32;
        float[] w = new float[2 * cols];
        java.util.Arrays.fill(w, 0, cols, 0.25f);
        ByteBuffer codes = ByteBuffer.allocate(cols);
        ByteBuffer scales = ByteBuffer.allocate(8);
        ByteBuffer offsets = ByteBuffer.allocate(8);
        WeightMatrix.quantizeRowsQ4(w, cols, 0, 2, cols, codes, scales, offsets);
        WeightMatrix m = WeightMatrix.q4(2, cols, cols, codes, scales, offsets);
        float[] row = new float[cols];
        m.row(0, row);
        assertThat(row).containsOnly(0.25f);
        m.row(1, row);
        assertThat(row).containsOnly(0f);
    }

    @Test
    void productsMatchDoubleReferenceOverDequantisedValues() {
        Random random = new Random(11);
        // (rows, cols, group): vector-kernel groups (multiples of 8 lanes x 8 codes) and plain-kernel ones
        int[][] shapes = {{1, 128, 128}, {7, 256, 128}, {13, 384, 128}, {9, 8960, 128}, {6, 4352, 128},
                {5, 1536, 64}, {11, 96, 32}, {3, 20, 10}, {17, 512, 256}, {4, 16, 16}};
        for (int[] shape : shapes) {
            int rows = shape[0];
            int cols = shape[1];
            int groupSize = shape[2];
            Quantized q = quantize(random, rows, cols, groupSize);
            float[] dense = new float[rows * cols];
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                q.matrix().row(r, row);
                System.arraycopy(row, 0, dense, r * cols, cols);
            }
            float[] x = new float[cols];
            for (int c = 0; c < cols; c++) {
                x[c] = (float) random.nextGaussian();
            }
            float[] first = null;
            for (Kernels k : KernelsTest.kernels()) {
                float[] out = new float[rows];
                new MatVec(k, THREADS).multiply(x, new float[(cols + 1) / 2], new float[(cols + 1) / 2], q.matrix(), out);
                float[] prepared = new float[Kernels.q4PreparedLength(cols, groupSize)];
                k.prepareForQ4(x, cols, groupSize, prepared);
                for (int r = 0; r < rows; r++) {
                    double expected = 0;
                    double magnitude = 0;
                    for (int c = 0; c < cols; c++) {
                        expected += (double) dense[r * cols + c] * x[c];
                        magnitude += Math.abs((double) dense[r * cols + c] * x[c]);
                    }
                    // d·Σq·x + m·Σx regroups the sum: float rounding of a few partial sums of the row's magnitude
                    double tolerance = 2e-6 * magnitude * Math.sqrt(cols) + 1e-6;
                    assertThat((double) out[r]).as("%s Q4 %dx%d/%d row %d", k.name(), rows, cols, groupSize, r)
                            .isCloseTo(expected, Offset.offset(tolerance));
                    float[] alone = new float[1];
                    q.matrix().rows(k, x, prepared, null, alone, 0, r, r + 1);
                    assertThat(alone[0]).as("%s row %d alone equals its value in a block of four", k.name(), r)
                            .isEqualTo(out[r]);
                }
                if (first == null) {
                    first = out;
                } else {
                    for (int r = 0; r < rows; r++) {
                        assertThat((double) out[r]).as("vector vs scalar row %d", r)
                                .isCloseTo(first[r], Offset.offset(1e-4 * (1 + Math.abs(first[r]))));
                    }
                }
            }
        }
    }

    @Test
    void widenRowsGivesTheDequantisedValues() {
        Quantized q = quantize(new Random(5), 3, 256, 128);
        ByteBuffer target = ByteBuffer.allocateDirect(3 * 256 * 4).order(ByteOrder.nativeOrder());
        q.matrix().widenRows(Kernels.get(), 1, 3, target);
        float[] row = new float[256];
        for (int r = 1; r < 3; r++) {
            q.matrix().row(r, row);
            for (int j = 0; j < 256; j++) {
                assertThat(target.getFloat((r * 256 + j) * 4)).isEqualTo(row[j]);
            }
        }
    }

    @Test
    void bytesCountCodesScalesAndOffsets() {
        Quantized q = quantize(new Random(1), 4, 256, 128);
        assertThat(q.matrix().bytes()).isEqualTo(4 * 128 + 2L * 4 * 2 * 4);
        assertThat(WeightMatrix.Format.Q4.rowBytes(256)).isEqualTo(128);
        assertThatThrownBy(WeightMatrix.Format.Q4::bytes).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void groupsMustDivideTheRow() {
        ByteBuffer b = ByteBuffer.allocate(1024);
        assertThatThrownBy(() -> WeightMatrix.q4(2, 96, 64, b, b, b))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("divide");
    }
}
