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
 *
 * <p>Or {@link Format#Q4}: asymmetric 4-bit with per-group scales, the layout of the official AWQ and GPTQ
 * checkpoints after unpacking: each row cut into groups of {@code groupSize} consecutive values (along the input
 * dimension), value ≈ d · q + m with an unsigned code q in [0, 15] and float32 d (scale) and m (offset) per
 * (row, group). Codes are packed two per byte along the row, value j of a row in byte j / 2, the low nibble for even j:
 * read as little-endian 32-bit words, word w holds values 8w … 8w + 7, value 8w + k in bits 4k … 4k + 3. One segment
 * of rows · cols / 2 bytes plus scale and offset buffers of (rows, cols / groupSize) floats each: 0.5625 bytes per
 * value at groups of 128.
 */
public final class WeightMatrix {

    /** Storage formats the kernels read. */
    public enum Format {
        BF16(2), F32(4),
        /** int8 values (1 byte each) plus a float32 scale per block of {@link WeightMatrix#Q8_BLOCK} values. */
        Q8(1),
        /** unsigned 4-bit codes (two per byte) plus a float32 scale and offset per group of a row. */
        Q4(0);

        private final int bytes;

        Format(int bytes) {
            this.bytes = bytes;
        }

        /** Bytes per value of the byte-aligned formats (BF16, F32, Q8); Q4 has half a byte: see {@link #rowBytes}. */
        public int bytes() {
            if (bytes == 0) {
                throw new UnsupportedOperationException(name() + " packs two values per byte; use rowBytes");
            }
            return bytes;
        }

        /** Bytes of one row of {@code cols} values, scales not included. */
        public long rowBytes(int cols) {
            return bytes == 0 ? ((long) cols + 1) / 2 : (long) cols * bytes;
        }
    }

    private final Format format;
    private final int rows;
    private final int cols;
    private final int rowsPerSegment;
    private final ByteBuffer[] segments;
    private final ByteBuffer scales; // Q8: (rows, blocksPerRow) float32; Q4: (rows, groups) float32; little-endian
    private final ByteBuffer offsets; // Q4 only: (rows, groups) float32, little-endian
    private final int groupSize;      // Q4 only: values per scale along a row (0 otherwise)

    /** Least-squares refits of a Q4 group's scale and offset after its min/max start ({@link #quantizeRowsQ4}). */
    static final int Q4_REFITS = 1;

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
        this(format, rows, cols, rowsPerSegment, segments, scales, null, 0);
    }

    private WeightMatrix(Format format, int rows, int cols, int rowsPerSegment, ByteBuffer[] segments,
                         ByteBuffer scales, ByteBuffer offsets, int groupSize) {
        boolean quantized = format == Format.Q8 || format == Format.Q4;
        if (quantized != (scales != null) || (format == Format.Q4) != (offsets != null)) {
            throw new IllegalArgumentException("Q8 and Q4 matrices, and only they, have scales; Q4 also offsets");
        }
        if (rows < 1 || cols < 1 || rowsPerSegment < 1) {
            throw new IllegalArgumentException("bad matrix shape " + rows + "x" + cols + " / " + rowsPerSegment);
        }
        if (rowsPerSegment * format.rowBytes(cols) > Integer.MAX_VALUE) {
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
            long bytes = segmentRows * format.rowBytes(cols);
            if (segments[s].capacity() < bytes) {
                throw new IllegalArgumentException("segment " + s + " holds " + segments[s].capacity() + " bytes, needs " + bytes);
            }
            this.segments[s] = segments[s].duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        this.groupSize = groupSize;
        if (format == Format.Q4) {
            if (groupSize < 2 || groupSize % 2 != 0 || cols % groupSize != 0) {
                throw new IllegalArgumentException("Q4 groups of " + groupSize + " must be even and divide the "
                        + cols + " columns");
            }
            if (rowsPerSegment != rows) {
                throw new IllegalArgumentException("a Q4 matrix is one segment");
            }
            long groupBytes = (long) rows * (cols / groupSize) * 4;
            if (scales.capacity() < groupBytes || offsets.capacity() < groupBytes) {
                throw new IllegalArgumentException("Q4 scales/offsets hold " + scales.capacity() + "/"
                        + offsets.capacity() + " bytes, need " + groupBytes);
            }
            this.scales = scales.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            this.offsets = offsets.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            return;
        }
        this.offsets = null;
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

    /**
     * Q4 of {@code rowCount} rows given as floats ({@code values}: row-major, rowCount · cols) that are rows
     * [firstRow, firstRow + rowCount) of the matrix, written into buffers laid out as {@link #q4} reads them: per group
     * of {@code groupSize} values of a row, m = min, d = (max − min) / 15, q = (w − m) / d rounded to nearest and
     * clamped to [0, 15] (a constant group: d = 0, q = 0, m = its value). Round-to-nearest with a min and a scale per
     * group, as llama.cpp's Q4_1 (there in blocks of 32).
     */
    public static void quantizeRowsQ4(float[] values, int cols, int firstRow, int rowCount, int groupSize,
                                      ByteBuffer codes, ByteBuffer scales, ByteBuffer offsets) {
        if (cols % groupSize != 0 || groupSize % 2 != 0) {
            throw new IllegalArgumentException("Q4 groups of " + groupSize + " must be even and divide " + cols);
        }
        int groups = cols / groupSize;
        ByteBuffer q = codes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer d = scales.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer m = offsets.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        byte[] packed = new byte[cols / 2];
        for (int i = 0; i < rowCount; i++) {
            int r = firstRow + i;
            int at = i * cols;
            for (int g = 0; g < groups; g++) {
                int j0 = g * groupSize;
                float min = Float.POSITIVE_INFINITY;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = j0; j < j0 + groupSize; j++) {
                    min = Math.min(min, values[at + j]);
                    max = Math.max(max, values[at + j]);
                }
                float scale = (max - min) / 15f;
                float offset = min;
                for (int pass = 0; pass < Q4_REFITS && scale > 0f; pass++) {
                    // least squares of w ≈ d · q + m over the group for the codes of the current (d, m): the
                    // min/max grid spends levels on the two extremes, the fit moves them to where the values are
                    float inverse = 1f / scale;
                    double sq = 0;
                    double sqq = 0;
                    double sw = 0;
                    double sqw = 0;
                    for (int j = j0; j < j0 + groupSize; j++) {
                        int code = Math.max(0, Math.min(15, Math.round((values[at + j] - offset) * inverse)));
                        sq += code;
                        sqq += (double) code * code;
                        sw += values[at + j];
                        sqw += (double) code * values[at + j];
                    }
                    double det = groupSize * sqq - sq * sq;
                    if (det <= 0) {
                        break;
                    }
                    float fitScale = (float) ((groupSize * sqw - sq * sw) / det);
                    if (!(fitScale > 0f)) {
                        break;
                    }
                    scale = fitScale;
                    offset = (float) ((sw - fitScale * sq) / groupSize);
                }
                float inverse = scale == 0f ? 0f : 1f / scale;
                d.putFloat(4 * (r * groups + g), scale);
                m.putFloat(4 * (r * groups + g), offset);
                for (int j = j0; j < j0 + groupSize; j += 2) {
                    int lo = Math.max(0, Math.min(15, Math.round((values[at + j] - offset) * inverse)));
                    int hi = Math.max(0, Math.min(15, Math.round((values[at + j + 1] - offset) * inverse)));
                    packed[j >> 1] = (byte) (lo | (hi << 4));
                }
            }
            q.put(r * (cols / 2), packed);
        }
    }

    /** A Q8 matrix over buffers filled by {@link #quantize} (one segment: rows · cols must fit an int). */
    public static WeightMatrix quantized(int rows, int cols, ByteBuffer quants, ByteBuffer scales) {
        return new WeightMatrix(Format.Q8, rows, cols, rows, new ByteBuffer[] {quants}, scales);
    }

    /**
     * A Q4 matrix over {@code codes} (rows · cols / 2 bytes, layout in the class comment), {@code scales} and
     * {@code offsets} (rows · cols / groupSize float32 each, little-endian): value (r, j) = d · q + m with q the code,
     * d and m those of (r, j / groupSize).
     */
    public static WeightMatrix q4(int rows, int cols, int groupSize, ByteBuffer codes, ByteBuffer scales,
                                  ByteBuffer offsets) {
        return new WeightMatrix(Format.Q4, rows, cols, rows, new ByteBuffer[] {codes}, scales, offsets, groupSize);
    }

    /** Q4: values per scale along a row; 0 for other formats. */
    public int groupSize() {
        return groupSize;
    }

    /** One segment over all rows. */
    public static WeightMatrix of(Format format, int rows, int cols, ByteBuffer bytes) {
        return new WeightMatrix(format, rows, cols, rows, bytes);
    }

    /** Largest row count per segment so that a segment stays within {@code maxSegmentBytes}. */
    public static int rowsPerSegment(Format format, int rows, int cols, long maxSegmentBytes) {
        long perRow = format.rowBytes(cols);
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
     * segments or is {@link Format#Q8} / {@link Format#Q4} (their scales are apart).
     */
    public ByteBuffer wholeBytes() {
        if (segments.length != 1 || scales != null) {
            return null;
        }
        return segments[0].asReadOnlyBuffer().limit((int) (rows * format.rowBytes(cols)))
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Bytes one full product reads (for Q8 including its scales, for Q4 its scales and offsets). */
    public long bytes() {
        long bytes = rows * format.rowBytes(cols);
        if (format == Format.Q4) {
            return bytes + 2L * rows * (cols / groupSize) * 4;
        }
        return scales == null ? bytes : bytes + (long) rows * blocksPerRow(cols) * 4;
    }

    /**
     * {@code out[outOffset + r - from] = row r · x} for rows [from, to). For BF16, {@code even}/{@code odd}
     * must hold {@link Kernels#deinterleave deinterleaved} x, for Q8 {@code even} must hold x {@link
     * Kernels#permuteForQ8 permuted}, for Q4 x {@link Kernels#prepareForQ4 prepared} (both ignored for F32).
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
            } else if (format == Format.Q4) {
                kernels.q4Rows(segments[s], scales, offsets, cols, groupSize, r - segmentStart, end - segmentStart, x,
                        even, out, outOffset + r - from);
            } else {
                kernels.f32Rows(segments[s], cols, r - segmentStart, end - segmentStart, x, out, outOffset + r - from);
            }
            r = end;
        }
    }

    /**
     * {@link #rows} for {@code batch} vectors at once: {@code out[b][outOffset + r - from] = row r · x[b]}, each value
     * exactly as {@link #rows} computes it for x[b] alone; the rows are read once for all vectors (see the kernels'
     * {@code *RowsBatch}). {@code even[b]}/{@code odd[b]} as {@link #rows}'s {@code even}/{@code odd} for x[b];
     * {@code packed}: for BF16, {@link Kernels#packBf16Batch} of them, or null.
     */
    public void rowsBatch(Kernels kernels, int batch, float[][] x, float[][] even, float[][] odd, float[] packed,
                          float[][] out, int outOffset, int from, int to) {
        int r = from;
        while (r < to) {
            int s = r / rowsPerSegment;
            int segmentStart = s * rowsPerSegment;
            int end = Math.min(to, segmentStart + rowsPerSegment);
            if (format == Format.BF16) {
                kernels.bf16RowsBatch(segments[s], cols, r - segmentStart, end - segmentStart, batch, x, even, odd,
                        packed, out, outOffset + r - from);
            } else if (format == Format.Q8) {
                kernels.q8RowsBatch(segments[s], scales, cols, r - segmentStart, end - segmentStart, batch, x, even,
                        out, outOffset + r - from);
            } else if (format == Format.Q4) {
                // one vector at a time: the 4-bit kernel's widening arithmetic, not memory, bounds it
                for (int b = 0; b < batch; b++) {
                    kernels.q4Rows(segments[s], scales, offsets, cols, groupSize, r - segmentStart, end - segmentStart,
                            x[b], even[b], out[b], outOffset + r - from);
                }
            } else {
                kernels.f32RowsBatch(segments[s], cols, r - segmentStart, end - segmentStart, batch, x, out,
                        outOffset + r - from);
            }
            r = end;
        }
    }

    /**
     * Rows [from, to) as float32 into {@code target} (native order), row r at byte r · cols · 4: the layer-by-layer
     * widening of {@code WIDEN_PER_LAYER}. BF16 and F32 exactly; Q4 dequantised (d · q + m: the values of a 4-bit
     * checkpoint). Not Q8 (an int8 copy is not the stored value).
     */
    public void widenRows(Kernels kernels, int from, int to, ByteBuffer target) {
        if (format == Format.Q8) {
            throw new IllegalStateException("Q8 rows are not the stored values");
        }
        if (format == Format.Q4) {
            if (from < 0 || to > rows || from > to) {
                throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + rows);
            }
            ByteBuffer out = target.duplicate().order(ByteOrder.nativeOrder());
            float[] row = new float[cols];
            for (int r = from; r < to; r++) {
                row(r, row);
                out.position(r * cols * 4);
                out.asFloatBuffer().put(row);
            }
            return;
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

    /** Code of value j of the Q4 row starting at byte {@code rowBase}: byte j / 2, low nibble for even j. */
    static int q4Code(ByteBuffer codes, int rowBase, int j) {
        int b = codes.get(rowBase + (j >> 1));
        return (j & 1) == 0 ? b & 0xF : (b >> 4) & 0xF;
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
        int base = format == Format.Q4 ? 0 : (r - s * rowsPerSegment) * cols * format.bytes();
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
        } else if (format == Format.Q4) {
            int groups = cols / groupSize;
            int codeBase = r * (cols / 2);
            for (int j = 0; j < cols; j++) {
                int g = r * groups + j / groupSize;
                out[j] = q4Code(b, codeBase, j) * scales.getFloat(4 * g) + offsets.getFloat(4 * g);
            }
        } else {
            for (int j = 0; j < cols; j++) {
                out[j] = b.getFloat(base + 4 * j);
            }
        }
    }
}
