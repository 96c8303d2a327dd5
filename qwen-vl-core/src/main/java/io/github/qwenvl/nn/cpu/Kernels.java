package io.github.qwenvl.nn.cpu;

import java.nio.ByteBuffer;

/**
 * The inner loops of the Java decode path: rows of a memory-mapped weight matrix times a float vector,
 * and the dot / axpy of attention. Two implementations: {@link VectorKernels} (the incubating Vector API,
 * needs {@code --add-modules jdk.incubator.vector}) and {@link ScalarKernels} (plain Java, always there).
 * {@link #get()} picks once per JVM and logs which.
 *
 * <p>Weight buffers are little-endian; row r of a (rows × cols) matrix starts at byte r · cols · width of its
 * segment. BF16 is the top half of a float32, so widening is exact ({@code bits << 16}).
 */
public interface Kernels {

    /** A name for logs and reports: "vector (512-bit)" or "scalar". */
    String name();

    /**
     * {@code out[outOffset + i] = Σ_j bf16(row rowFrom + i)[j] · x[j]} for rows [rowFrom, rowTo) of a BF16
     * segment. {@code even}/{@code odd} are x[0], x[2], … and x[1], x[3], … (see {@link #deinterleave}).
     */
    void bf16Rows(ByteBuffer segment, int cols, int rowFrom, int rowTo, float[] x, float[] even, float[] odd,
                  float[] out, int outOffset);

    /**
     * As {@link #bf16Rows} for a {@link WeightMatrix.Format#Q8} segment: int8 values, row r's block b scaled by the
     * float32 {@code scales[r · ceil(cols / 64) + b]}. Each block's products are summed before its scale multiplies
     * them. {@code permuted} is x as {@link #permuteForQ8} left it.
     */
    void q8Rows(ByteBuffer quants, ByteBuffer scales, int cols, int rowFrom, int rowTo, float[] x, float[] permuted,
                float[] out, int outOffset);

    /**
     * x[0, n) reordered for {@link #q8Rows} into {@code out} (at least n floats): the vector kernels read int8s four
     * to a 32-bit lane and need the four x values of a lane's bytes in four separate vectors; plain kernels copy.
     */
    void permuteForQ8(float[] x, int n, float[] out);

    /**
     * As {@link #bf16Rows} for a {@link WeightMatrix.Format#Q4} matrix: row r, group g contributes
     * d · Σ q_j · x_j + m · Σ x_j over its values j, with d and m the float32 {@code scales} / {@code offsets} at
     * (r · cols / groupSize + g) and q_j the 4-bit codes. {@code prepared} is x as {@link #prepareForQ4} left it (its
     * group sums included).
     */
    void q4Rows(ByteBuffer codes, ByteBuffer scales, ByteBuffer offsets, int cols, int groupSize, int rowFrom,
                int rowTo, float[] x, float[] prepared, float[] out, int outOffset);

    /**
     * x[0, n) for {@link #q4Rows} into {@code out} (at least {@link #q4PreparedLength} floats): first x in the order the
     * kernels read the codes (eight to a 32-bit lane), then the sums of x over each group of {@code groupSize}.
     */
    void prepareForQ4(float[] x, int n, int groupSize, float[] out);

    /** Floats {@link #prepareForQ4} writes for n values in groups of {@code groupSize}. */
    static int q4PreparedLength(int n, int groupSize) {
        return n + n / groupSize;
    }

    /** The group sums part of {@link #prepareForQ4}: out[n + g] = Σ x over group g. */
    static void q4GroupSums(float[] x, int n, int groupSize, float[] out) {
        for (int g = 0; g < n / groupSize; g++) {
            float sum = 0f;
            for (int j = g * groupSize; j < (g + 1) * groupSize; j++) {
                sum += x[j];
            }
            out[n + g] = sum;
        }
    }

    /**
     * {@code count} BF16 values at byte {@code srcOffset} of {@code src} (little-endian) widened to float32 at byte
     * {@code dstOffset} of {@code dst} (native order): exact, each value's bits shifted into the top half.
     */
    void widenBf16(ByteBuffer src, int srcOffset, ByteBuffer dst, int dstOffset, int count);

    /** As {@link #bf16Rows} for a float32 segment. */
    void f32Rows(ByteBuffer segment, int cols, int rowFrom, int rowTo, float[] x, float[] out, int outOffset);

    /**
     * Rows per block of the batched defaults below: every vector of the batch goes through a block of rows before the
     * next block, so the block is read from memory once and from the cache by the other vectors.
     */
    int BATCH_ROWS = 16;

    /**
     * {@link #bf16Rows} for {@code batch} vectors through the same rows: {@code out[b][outOffset + i] = Σ_j bf16(row
     * rowFrom + i)[j] · x[b][j]} for b &lt; batch, with {@code even[b]}/{@code odd[b]} x[b] deinterleaved and {@code
     * packed} what {@link #packBf16Batch} made of them (or null: the kernels prepare it themselves). Every value
     * is computed with exactly the arithmetic of {@link #bf16Rows} (the same products summed in the same order), so
     * a vector's result never depends on the other vectors of the batch. This default runs {@link #bf16Rows} per
     * vector over blocks of {@link #BATCH_ROWS} rows.
     */
    default void bf16RowsBatch(ByteBuffer segment, int cols, int rowFrom, int rowTo, int batch, float[][] x,
                               float[][] even, float[][] odd, float[] packed, float[][] out, int outOffset) {
        for (int r = rowFrom; r < rowTo; r += BATCH_ROWS) {
            int end = Math.min(rowTo, r + BATCH_ROWS);
            for (int b = 0; b < batch; b++) {
                bf16Rows(segment, cols, r, end, x[b], even[b], odd[b], out[b], outOffset + r - rowFrom);
            }
        }
    }

    /**
     * The batch's deinterleaved x in the form {@link #bf16RowsBatch} reads, made once per product and read by all
     * threads: into {@code scratch} when it is large enough, else into a new array, which is returned; null when the
     * kernels read {@code even}/{@code odd} directly (this default).
     */
    default float[] packBf16Batch(int batch, float[][] even, float[][] odd, int cols, float[] scratch) {
        return null;
    }

    /**
     * {@link #q8Rows} for {@code batch} vectors ({@code permuted[b]}: x[b] {@link #permuteForQ8 permuted}), each value
     * with exactly the arithmetic of {@link #q8Rows}. This default runs {@link #q8Rows} per vector over blocks of
     * {@link #BATCH_ROWS} rows.
     */
    default void q8RowsBatch(ByteBuffer quants, ByteBuffer scales, int cols, int rowFrom, int rowTo, int batch,
                             float[][] x, float[][] permuted, float[][] out, int outOffset) {
        for (int r = rowFrom; r < rowTo; r += BATCH_ROWS) {
            int end = Math.min(rowTo, r + BATCH_ROWS);
            for (int b = 0; b < batch; b++) {
                q8Rows(quants, scales, cols, r, end, x[b], permuted[b], out[b], outOffset + r - rowFrom);
            }
        }
    }

    /**
     * {@link #f32Rows} for {@code batch} vectors, each value with exactly the arithmetic of {@link #f32Rows}. This
     * default runs {@link #f32Rows} per vector over blocks of {@link #BATCH_ROWS} rows.
     */
    default void f32RowsBatch(ByteBuffer segment, int cols, int rowFrom, int rowTo, int batch, float[][] x,
                              float[][] out, int outOffset) {
        for (int r = rowFrom; r < rowTo; r += BATCH_ROWS) {
            int end = Math.min(rowTo, r + BATCH_ROWS);
            for (int b = 0; b < batch; b++) {
                f32Rows(segment, cols, r, end, x[b], out[b], outOffset + r - rowFrom);
            }
        }
    }

    /** Σ a[aOffset + i] · b[bOffset + i], i < n. */
    float dot(float[] a, int aOffset, float[] b, int bOffset, int n);

    /** y[yOffset + i] += alpha · x[xOffset + i], i < n. */
    void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n);

    /** even[i] = x[2i], odd[i] = x[2i + 1] (the lane order of BF16 pairs read as 32-bit words). */
    static void deinterleave(float[] x, int n, float[] even, float[] odd) {
        for (int i = 0; 2 * i < n; i++) {
            even[i] = x[2 * i];
            if (2 * i + 1 < n) {
                odd[i] = x[2 * i + 1];
            }
        }
    }

    /** The fastest kernels this JVM can run (chosen once, logged once). */
    static Kernels get() {
        return KernelChoice.BEST;
    }

    /** The plain-Java kernels (comparisons, tests), whatever {@link #get()} chose. */
    static Kernels scalar() {
        return ScalarKernels.INSTANCE;
    }

    /** True when the Vector API module is in the boot layer and its kernels loaded. */
    static boolean vectorized() {
        return KernelChoice.BEST != ScalarKernels.INSTANCE;
    }
}
