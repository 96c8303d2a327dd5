package io.github.qwenvl.nn.cpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A (rows × cols) weight matrix read in place from little-endian bytes, typically the memory-mapped tensor of
 * a safetensors file (no copy: the pages are shared with the OS page cache). Stored as BF16 or F32. A matrix
 * over 1 GiB comes as several segments of whole rows ({@code rowsPerSegment} each, the last one shorter),
 * since one {@link ByteBuffer} is int-indexed.
 *
 * <p>Or {@link Format#Q8}, an opt-in 8-bit copy ({@link #quantize}): symmetric int8 as in llama.cpp's Q8_0, each
 * row cut into blocks of {@value #Q8_BLOCK} values stored as int8 {@code q} with one float32 scale {@code d} per
 * block, value ≈ q · d, d = max |w| / 127 over the block. Blocks of 64 rather than Q8_0's 32: one 512-bit load of
 * int8s is one block, so a block's scale multiplies one vector (1.06 bytes per value instead of 1.125). One
 * segment of int8s plus a scale buffer of (rows, ceil(cols / 64)) floats.
 */
public final class WeightMatrix {

    /** Storage formats the kernels read. */
    public enum Format {
        BF16(2), F32(4),
        /** int8 values (1 byte each) plus a float32 scale per block of {@link WeightMatrix#Q8_BLOCK} values. */
        Q8(1);

        private final int bytes;

        Format(int bytes) {
            this.bytes = bytes;
        }

        public int bytes() {
            return bytes;
        }
    }

    private final Format format;
    private final int rows;
    private final int cols;
    private final int rowsPerSegment;
    private final ByteBuffer[] segments;
    private final ByteBuffer scales; // Q8 only: (rows, blocksPerRow) float32, little-endian

    /** Values per scale of {@link Format#Q8}. */
    public static final int Q8_BLOCK = 64;

    /**
     * @param segments little-endian bytes, segment s holding rows [s · rowsPerSegment, …); each at least
     *                 its rows × cols × width bytes
     */
    public WeightMatrix(Format format, int rows, int cols, int rowsPerSegment, ByteBuffer... segments) {
        this(format, rows, cols, rowsPerSegment, segments, null);
    }

    private WeightMatrix(Format format, int rows, int cols, int rowsPerSegment, ByteBuffer[] segments,
                         ByteBuffer scales) {
        if ((format == Format.Q8) != (scales != null)) {
            throw new IllegalArgumentException("Q8 matrices, and only they, have scales");
        }
        if (rows < 1 || cols < 1 || rowsPerSegment < 1) {
            throw new IllegalArgumentException("bad matrix shape " + rows + "x" + cols + " / " + rowsPerSegment);
        }
        if ((long) rowsPerSegment * cols * format.bytes() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("segment too large: " + rowsPerSegment + " rows of " + cols);
        }
        int needed = (rows + rowsPerSegment - 1) / rowsPerSegment;
        if (segments.length != needed) {
            throw new IllegalArgumentException(rows + " rows need " + needed + " segments, got " + segments.length);
        }
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.rowsPerSegment = rowsPerSegment;
        this.segments = new ByteBuffer[segments.length];
        for (int s = 0; s < segments.length; s++) {
            int segmentRows = Math.min(rowsPerSegment, rows - s * rowsPerSegment);
            long bytes = (long) segmentRows * cols * format.bytes();
            if (segments[s].capacity() < bytes) {
                throw new IllegalArgumentException("segment " + s + " holds " + segments[s].capacity() + " bytes, needs " + bytes);
            }
            this.segments[s] = segments[s].duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        if (scales != null) {
            if (rowsPerSegment != rows) {
                throw new IllegalArgumentException("a Q8 matrix is one segment");
            }
            long scaleBytes = (long) rows * blocksPerRow(cols) * 4;
            if (scales.capacity() < scaleBytes) {
                throw new IllegalArgumentException("scales hold " + scales.capacity() + " bytes, need " + scaleBytes);
            }
            this.scales = scales.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        } else {
            this.scales = null;
        }
    }

    /** Q8 scale blocks per row of {@code cols} values (the last one may be shorter). */
    public static int blocksPerRow(int cols) {
        return (cols + Q8_BLOCK - 1) / Q8_BLOCK;
    }

    /**
     * The Q8 copy of {@code source} (any format but Q8), written into {@code quants} (rows · cols bytes) and
     * {@code scales} (rows · {@link #blocksPerRow} floats), rows [from, to) only so that threads can split the work;
     * {@link #quantized} wraps the buffers once every row is written. See {@link #quantizeRows}.
     */
    public static void quantize(WeightMatrix source, int from, int to, ByteBuffer quants, ByteBuffer scales) {
        if (source.format == Format.Q8) {
            throw new IllegalArgumentException("already Q8");
        }
        int cols = source.cols;
        float[] row = new float[cols];
        short[] bits = new short[cols];
        for (int r = from; r < to; r++) {
            source.row(r, row, bits);
            quantizeRows(row, cols, r, 1, quants, scales);
        }
    }

    /**
     * Q8 of {@code rowCount} rows given as floats ({@code values}: row-major, rowCount · cols) that are rows
     * [firstRow, firstRow + rowCount) of the matrix: blocks of 64 values of a row share the scale
     * d = max |w| / 127, and q = w / d rounded half away from zero (all zeros: d = 0, q = 0).
     */
    public static void quantizeRows(float[] values, int cols, int firstRow, int rowCount, ByteBuffer quants,
                                    ByteBuffer scales) {
        int blocks = blocksPerRow(cols);
        ByteBuffer q = quants.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer d = scales.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        byte[] quantized = new byte[cols];
        for (int i = 0; i < rowCount; i++) {
            int r = firstRow + i;
            int at = i * cols;
            for (int b = 0; b < blocks; b++) {
                int j0 = b * Q8_BLOCK;
                int j1 = Math.min(cols, j0 + Q8_BLOCK);
                float max = 0f;
                for (int j = j0; j < j1; j++) {
                    max = Math.max(max, Math.abs(values[at + j]));
                }
                float scale = max / 127f;
                float inverse = scale == 0f ? 0f : 1f / scale;
                d.putFloat(4 * (r * blocks + b), scale);
                for (int j = j0; j < j1; j++) {
                    float v = values[at + j] * inverse;
                    // half away from zero without a branch on the sign (random signs mispredict half the time);
                    // |v| ≤ 127 up to rounding of the inverse: clamp so a value never wraps around
                    int qv = (int) (v + Math.copySign(0.5f, v));
                    quantized[j] = (byte) Math.max(-127, Math.min(127, qv));
                }
            }
            q.put(r * cols, quantized);
        }
    }

    /** A Q8 matrix over buffers filled by {@link #quantize} (one segment: rows · cols must fit an int). */
    public static WeightMatrix quantized(int rows, int cols, ByteBuffer quants, ByteBuffer scales) {
        return new WeightMatrix(Format.Q8, rows, cols, rows, new ByteBuffer[] {quants}, scales);
    }

    /** One segment over all rows. */
    public static WeightMatrix of(Format format, int rows, int cols, ByteBuffer bytes) {
        return new WeightMatrix(format, rows, cols, rows, bytes);
    }

    /** Largest row count per segment so that a segment stays within {@code maxSegmentBytes}. */
    public static int rowsPerSegment(Format format, int rows, int cols, long maxSegmentBytes) {
        long perRow = (long) cols * format.bytes();
        long fit = Math.max(1, Math.min(maxSegmentBytes, Integer.MAX_VALUE) / perRow);
        return (int) Math.min(rows, fit);
    }

    public Format format() {
        return format;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /**
     * The stored bytes of all rows as one read-only little-endian buffer (no copy), or null when the matrix has several
     * segments or is {@link Format#Q8} (its scales are apart).
     */
    public ByteBuffer wholeBytes() {
        if (segments.length != 1 || scales != null) {
            return null;
        }
        return segments[0].asReadOnlyBuffer().limit((int) ((long) rows * cols * format.bytes()))
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Bytes one full product reads (for Q8 including its scales). */
    public long bytes() {
        long bytes = (long) rows * cols * format.bytes();
        return scales == null ? bytes : bytes + (long) rows * blocksPerRow(cols) * 4;
    }

    /**
     * {@code out[outOffset + r - from] = row r · x} for rows [from, to). For BF16, {@code even}/{@code odd}
     * must hold {@link Kernels#deinterleave deinterleaved} x, for Q8 {@code even} must hold x {@link
     * Kernels#permuteForQ8 permuted} (both ignored for F32).
     */
    public void rows(Kernels kernels, float[] x, float[] even, float[] odd, float[] out, int outOffset, int from, int to) {
        int r = from;
        while (r < to) {
            int s = r / rowsPerSegment;
            int segmentStart = s * rowsPerSegment;
            int end = Math.min(to, segmentStart + rowsPerSegment);
            if (format == Format.BF16) {
                kernels.bf16Rows(segments[s], cols, r - segmentStart, end - segmentStart, x, even, odd, out,
                        outOffset + r - from);
            } else if (format == Format.Q8) {
                kernels.q8Rows(segments[s], scales, cols, r - segmentStart, end - segmentStart, x, even, out,
                        outOffset + r - from);
            } else {
                kernels.f32Rows(segments[s], cols, r - segmentStart, end - segmentStart, x, out, outOffset + r - from);
            }
            r = end;
        }
    }

    /**
     * {@link #rows} for {@code batch} vectors at once: {@code out[b][outOffset + r - from] = row r · x[b]}, each value
     * exactly as {@link #rows} computes it for x[b] alone; the rows are read once for all vectors (see the kernels'
     * {@code *RowsBatch}). {@code even[b]}/{@code odd[b]} as {@link #rows}'s {@code even}/{@code odd} for x[b].
     */
    public void rowsBatch(Kernels kernels, int batch, float[][] x, float[][] even, float[][] odd, float[][] out,
                          int outOffset, int from, int to) {
        int r = from;
        while (r < to) {
            int s = r / rowsPerSegment;
            int segmentStart = s * rowsPerSegment;
            int end = Math.min(to, segmentStart + rowsPerSegment);
            if (format == Format.BF16) {
                kernels.bf16RowsBatch(segments[s], cols, r - segmentStart, end - segmentStart, batch, x, even, odd,
                        out, outOffset + r - from);
            } else if (format == Format.Q8) {
                kernels.q8RowsBatch(segments[s], scales, cols, r - segmentStart, end - segmentStart, batch, x, even,
                        out, outOffset + r - from);
            } else {
                kernels.f32RowsBatch(segments[s], cols, r - segmentStart, end - segmentStart, batch, x, out,
                        outOffset + r - from);
            }
            r = end;
        }
    }

    /**
     * Rows [from, to) as float32 into {@code target} (native order), row r at byte r · cols · 4: the layer-by-layer
     * widening of {@code WIDEN_PER_LAYER}. BF16 and F32 only (a Q8 copy is not the stored value).
     */
    public void widenRows(Kernels kernels, int from, int to, ByteBuffer target) {
        if (format == Format.Q8) {
            throw new IllegalStateException("Q8 rows are not the stored values");
        }
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + rows);
        }
        if ((long) to * cols * 4 > target.capacity()) {
            throw new IllegalArgumentException("target holds " + target.capacity() + " bytes, rows up to " + to
                    + " need " + (long) to * cols * 4);
        }
        int r = from;
        while (r < to) {
            int s = r / rowsPerSegment;
            int segmentStart = s * rowsPerSegment;
            int end = Math.min(to, segmentStart + rowsPerSegment);
            int srcOffset = (r - segmentStart) * cols * format.bytes();
            int dstOffset = r * cols * 4;
            int count = (end - r) * cols;
            if (format == Format.BF16) {
                kernels.widenBf16(segments[s], srcOffset, target, dstOffset, count);
            } else {
                ByteBuffer out = target.duplicate().order(ByteOrder.nativeOrder());
                out.position(dstOffset);
                out.asFloatBuffer().put(segments[s].duplicate().order(ByteOrder.LITTLE_ENDIAN)
                        .position(srcOffset).limit(srcOffset + 4 * count).slice()
                        .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
            }
            r = end;
        }
    }

    /** Row r widened to float32 (an embedding lookup). */
    public void row(int r, float[] out) {
        row(r, out, null);
    }

    /** As {@link #row(int, float[])}; a BF16 row is copied in bulk into {@code scratch} (≥ cols shorts) when given. */
    private void row(int r, float[] out, short[] scratch) {
        if (r < 0 || r >= rows) {
            throw new IndexOutOfBoundsException("row " + r + " of " + rows);
        }
        int s = r / rowsPerSegment;
        ByteBuffer b = segments[s];
        int base = (r - s * rowsPerSegment) * cols * format.bytes();
        if (format == Format.BF16 && scratch != null) {
            b.asShortBuffer().get(base / 2, scratch, 0, cols); // a view of the little-endian buffer: LE shorts
            for (int j = 0; j < cols; j++) {
                out[j] = Float.intBitsToFloat(scratch[j] << 16);
            }
        } else if (format == Format.BF16) {
            for (int j = 0; j < cols; j++) {
                out[j] = Float.intBitsToFloat(b.getShort(base + 2 * j) << 16);
            }
        } else if (format == Format.Q8) {
            int blocks = blocksPerRow(cols);
            for (int j = 0; j < cols; j++) {
                out[j] = b.get(base + j) * scales.getFloat(4 * (r * blocks + j / Q8_BLOCK));
            }
        } else {
            for (int j = 0; j < cols; j++) {
                out[j] = b.getFloat(base + 4 * j);
            }
        }
    }
}
