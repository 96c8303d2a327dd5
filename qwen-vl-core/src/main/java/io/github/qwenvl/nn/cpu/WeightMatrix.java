package io.github.qwenvl.nn.cpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A (rows × cols) weight matrix read in place from little-endian bytes, typically the memory-mapped tensor of
 * a safetensors file (no copy: the pages are shared with the OS page cache). Stored as BF16 or F32. A matrix
 * over 1 GiB comes as several segments of whole rows ({@code rowsPerSegment} each, the last one shorter),
 * since one {@link ByteBuffer} is int-indexed.
 */
public final class WeightMatrix {

    /** Storage formats the kernels read. */
    public enum Format {
        BF16(2), F32(4);

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

    /**
     * @param segments little-endian bytes, segment s holding rows [s · rowsPerSegment, …); each at least
     *                 its rows × cols × width bytes
     */
    public WeightMatrix(Format format, int rows, int cols, int rowsPerSegment, ByteBuffer... segments) {
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

    /** Bytes one full product reads. */
    public long bytes() {
        return (long) rows * cols * format.bytes();
    }

    /**
     * {@code out[outOffset + r - from] = row r · x} for rows [from, to). For BF16, {@code even}/{@code odd}
     * must hold {@link Kernels#deinterleave deinterleaved} x (ignored for F32).
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
            } else {
                kernels.f32Rows(segments[s], cols, r - segmentStart, end - segmentStart, x, out, outOffset + r - from);
            }
            r = end;
        }
    }

    /** Row r widened to float32 (an embedding lookup). */
    public void row(int r, float[] out) {
        if (r < 0 || r >= rows) {
            throw new IndexOutOfBoundsException("row " + r + " of " + rows);
        }
        int s = r / rowsPerSegment;
        ByteBuffer b = segments[s];
        int base = (r - s * rowsPerSegment) * cols * format.bytes();
        if (format == Format.BF16) {
            for (int j = 0; j < cols; j++) {
                out[j] = Float.intBitsToFloat(b.getShort(base + 2 * j) << 16);
            }
        } else {
            for (int j = 0; j < cols; j++) {
                out[j] = b.getFloat(base + 4 * j);
            }
        }
    }
}
