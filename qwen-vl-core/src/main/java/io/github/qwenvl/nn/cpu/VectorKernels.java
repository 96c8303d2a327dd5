package io.github.qwenvl.nn.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Vector API kernels ({@code jdk.incubator.vector}, JDK 17 API). Only loaded when the module is in the boot
 * layer ({@link KernelChoice}); nothing else refers to this class directly.
 *
 * <p>BF16 rows are read as 32-bit words, each holding two neighbouring elements (little-endian: element 2i in
 * the low half, 2i + 1 in the high half). Both widen without any lane shuffling: {@code word << 16} is the
 * even element as a float, {@code word & 0xFFFF0000} the odd one; they multiply the even and odd entries of x,
 * split once per product ({@link Kernels#deinterleave}).
 */
final class VectorKernels implements Kernels {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Shorts of half the int species' width: one load of BF16 values widens to one vector of int lanes. */
    private static final VectorSpecies<Short> HALF_SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(I.vectorBitSize() / 2));
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Declared after the species: static initialisers run in order. */
    static final VectorKernels INSTANCE = new VectorKernels();

    private VectorKernels() {
        if (I.length() != L) {
            throw new IllegalStateException("int and float species differ: " + I + ", " + F);
        }
    }

    @Override
    public String name() {
        return "vector (" + F.vectorBitSize() + "-bit, " + L + " float lanes)";
    }

    @Override
    public void widenBf16(ByteBuffer src, int srcOffset, ByteBuffer dst, int dstOffset, int count) {
        int i = 0;
        // sign-extending shorts to ints (one vpmovsxwd) then shifting left 16 leaves exactly the BF16 bits on top:
        // no lane shuffles, so the loop runs at memory speed
        for (; i + L <= count; i += L) {
            ShortVector s = ShortVector.fromByteBuffer(HALF_SHORTS, src, srcOffset + 2 * i, LE);
            ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats().intoByteBuffer(dst, dstOffset + 4 * i, NATIVE);
        }
        if (i < count) { // the tail through duplicates: the buffers are shared by threads, their byte order is not
            ByteBuffer in = src.duplicate().order(LE);
            ByteBuffer out = dst.duplicate().order(NATIVE);
            for (; i < count; i++) {
                out.putInt(dstOffset + 4 * i, in.getShort(srcOffset + 2 * i) << 16);
            }
        }
    }

    @Override
    public void bf16Rows(ByteBuffer segment, int cols, int rowFrom, int rowTo, float[] x, float[] even, float[] odd,
                         float[] out, int outOffset) {
        int r = rowFrom;
        if (cols <= SHORT_ROW) {
            // short rows (x in L1): one row at a time reads the matrix as one sequential stream
            for (; r < rowTo; r++) {
                out[outOffset + r - rowFrom] = bf16ShortRow(segment, cols, r, x, even, odd);
            }
            return;
        }
        // long rows: four at a time, so each load of x (from L2) feeds four rows
        for (; r + 4 <= rowTo; r += 4) {
            bf16FourRows(segment, cols, r, x, even, odd, out, outOffset + r - rowFrom);
        }
        for (; r < rowTo; r++) {
            out[outOffset + r - rowFrom] = bf16Row(segment, cols, r, x, even, odd);
        }
    }

    private static void bf16FourRows(ByteBuffer segment, int cols, int r, float[] x, float[] even, float[] odd,
                                     float[] out, int at) {
        int rowBytes = cols * 2;
        int b0 = r * rowBytes;
        int b1 = b0 + rowBytes;
        int b2 = b1 + rowBytes;
        int b3 = b2 + rowBytes;
        FloatVector e0 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector o1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F);
        FloatVector o2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F);
        FloatVector o3 = FloatVector.zero(F);
        int single = 2 * L;
        int j = 0;
        for (; j + single <= cols; j += single) {
            int h = j >> 1;
            FloatVector xe = FloatVector.fromArray(F, even, h);
            FloatVector xo = FloatVector.fromArray(F, odd, h);
            int off = 2 * j;
            IntVector w0 = IntVector.fromByteBuffer(I, segment, b0 + off, LE);
            IntVector w1 = IntVector.fromByteBuffer(I, segment, b1 + off, LE);
            IntVector w2 = IntVector.fromByteBuffer(I, segment, b2 + off, LE);
            IntVector w3 = IntVector.fromByteBuffer(I, segment, b3 + off, LE);
            e0 = low(w0).fma(xe, e0);
            o0 = high(w0).fma(xo, o0);
            e1 = low(w1).fma(xe, e1);
            o1 = high(w1).fma(xo, o1);
            e2 = low(w2).fma(xe, e2);
            o2 = high(w2).fma(xo, o2);
            e3 = low(w3).fma(xe, e3);
            o3 = high(w3).fma(xo, o3);
        }
        float s0 = e0.add(o0).reduceLanes(VectorOperators.ADD);
        float s1 = e1.add(o1).reduceLanes(VectorOperators.ADD);
        float s2 = e2.add(o2).reduceLanes(VectorOperators.ADD);
        float s3 = e3.add(o3).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) {
            float xj = x[j];
            s0 += Float.intBitsToFloat(segment.getShort(b0 + 2 * j) << 16) * xj;
            s1 += Float.intBitsToFloat(segment.getShort(b1 + 2 * j) << 16) * xj;
            s2 += Float.intBitsToFloat(segment.getShort(b2 + 2 * j) << 16) * xj;
            s3 += Float.intBitsToFloat(segment.getShort(b3 + 2 * j) << 16) * xj;
        }
        out[at] = s0;
        out[at + 1] = s1;
        out[at + 2] = s2;
        out[at + 3] = s3;
    }

    /** Longest row (elements) read one row at a time; longer rows go four at a time. Fixed per matrix shape. */
    static final int SHORT_ROW = 4096;

    /** One short row: two vectors of words per iteration, four accumulators. */
    private static float bf16ShortRow(ByteBuffer segment, int cols, int r, float[] x, float[] even, float[] odd) {
        int wide = 4 * L;
        int single = 2 * L;
        int base = r * cols * 2;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        int j = 0;
        for (; j + wide <= cols; j += wide) {
            IntVector w0 = IntVector.fromByteBuffer(I, segment, base + 2 * j, LE);
            IntVector w1 = IntVector.fromByteBuffer(I, segment, base + 2 * j + 4 * L, LE);
            int h = j >> 1;
            a0 = low(w0).fma(FloatVector.fromArray(F, even, h), a0);
            a1 = high(w0).fma(FloatVector.fromArray(F, odd, h), a1);
            a2 = low(w1).fma(FloatVector.fromArray(F, even, h + L), a2);
            a3 = high(w1).fma(FloatVector.fromArray(F, odd, h + L), a3);
        }
        for (; j + single <= cols; j += single) {
            IntVector w0 = IntVector.fromByteBuffer(I, segment, base + 2 * j, LE);
            int h = j >> 1;
            a0 = low(w0).fma(FloatVector.fromArray(F, even, h), a0);
            a1 = high(w0).fma(FloatVector.fromArray(F, odd, h), a1);
        }
        float sum = a0.add(a2).add(a1.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) {
            sum += Float.intBitsToFloat(segment.getShort(base + 2 * j) << 16) * x[j];
        }
        return sum;
    }

    /**
     * One long row, with exactly the accumulation of {@link #bf16FourRows} (so a row's value never depends on how
     * rows were grouped into blocks).
     */
    private static float bf16Row(ByteBuffer segment, int cols, int r, float[] x, float[] even, float[] odd) {
        int single = 2 * L;
        int base = r * cols * 2;
        FloatVector e = FloatVector.zero(F);
        FloatVector o = FloatVector.zero(F);
        int j = 0;
        for (; j + single <= cols; j += single) {
            int h = j >> 1;
            IntVector w = IntVector.fromByteBuffer(I, segment, base + 2 * j, LE);
            e = low(w).fma(FloatVector.fromArray(F, even, h), e);
            o = high(w).fma(FloatVector.fromArray(F, odd, h), o);
        }
        float sum = e.add(o).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) {
            sum += Float.intBitsToFloat(segment.getShort(base + 2 * j) << 16) * x[j];
        }
        return sum;
    }

    /** Vectors per group of the batched kernels: four vectors' accumulators (16) stay in the 32 vector registers. */
    private static final int GROUP = 4;

    /**
     * Rows per block of the batched kernels: a group's x (from L1 or L2) serves this many rows before the next group
     * reuses the block's rows from the cache; only its first group reads them from memory. 4 and 16 measured alike on
     * the 2B's shapes (BatchedDecodeBenchmark kernels, one thread, by CPU time); {@code -Dqwenvl.decode.batchRows}
     * for measurements.
     */
    static final int BATCH_BLOCK = Integer.getInteger("qwenvl.decode.batchRows", 16);

    /**
     * Rows times groups of four vectors ({@link #bf16ShortRowFour} for rows of up to {@link #SHORT_ROW} columns,
     * {@link #bf16TwoRowsFour} for longer ones): each widened weight vector feeds four vectors' FMAs, and a group's x
     * is first {@link #pack packed} into one array, so with eight vectors the arithmetic, not the memory, bounds a
     * step. Every value is the single-vector kernels' bit for bit (the same accumulators, steps and sums). Two or three
     * leftover vectors (batch not a multiple of four) go as a pair ({@link #bf16ShortRowTwo}, {@link #bf16TwoRowsTwo});
     * a last single vector and a block's leftover long row go through the single-vector kernels directly.
     */
    @Override
    public void bf16RowsBatch(ByteBuffer segment, int cols, int rowFrom, int rowTo, int batch, float[][] x,
                              float[][] even, float[][] odd, float[] packed, float[][] out, int outOffset) {
        boolean shortRows = cols <= SHORT_ROW;
        int groups = batch / GROUP;
        boolean pair = batch % GROUP >= 2; // two leftover vectors go as a pair
        int groupFloats = cols / (2 * L) * 2 * GROUP * L;
        int pairAt = groups * groupFloats;
        float[] px = packed;
        if (px == null) { // not prepared by the caller: this thread's own copy
            px = packBf16Batch(batch, even, odd, cols, PACKED.get());
            PACKED.set(px);
        }
        for (int r0 = rowFrom; r0 < rowTo; r0 += BATCH_BLOCK) {
            int r1 = Math.min(rowTo, r0 + BATCH_BLOCK);
            int b = 0;
            for (; b + GROUP <= batch; b += GROUP) {
                int r = r0;
                int pbase = (b / GROUP) * groupFloats;
                if (shortRows) {
                    for (; r < r1; r++) {
                        bf16ShortRowFour(segment, cols, r, x, px, pbase, b, out, outOffset + r - rowFrom);
                    }
                } else {
                    for (; r + 2 <= r1; r += 2) {
                        bf16TwoRowsFour(segment, cols, r, x, px, pbase, b, out, outOffset + r - rowFrom);
                    }
                    for (; r < r1; r++) {
                        for (int v = b; v < b + GROUP; v++) {
                            out[v][outOffset + r - rowFrom] = bf16Row(segment, cols, r, x[v], even[v], odd[v]);
                        }
                    }
                }
            }
            if (pair) {
                int r = r0;
                if (shortRows) {
                    for (; r < r1; r++) {
                        bf16ShortRowTwo(segment, cols, r, x, px, pairAt, b, out, outOffset + r - rowFrom);
                    }
                } else {
                    for (; r + 2 <= r1; r += 2) {
                        bf16TwoRowsTwo(segment, cols, r, x, px, pairAt, b, out, outOffset + r - rowFrom);
                    }
                    for (; r < r1; r++) {
                        for (int v = b; v < b + 2; v++) {
                            out[v][outOffset + r - rowFrom] = bf16Row(segment, cols, r, x[v], even[v], odd[v]);
                        }
                    }
                }
                b += 2;
            }
            for (; b < batch; b++) {
                for (int r = r0; r < r1; r++) {
                    out[b][outOffset + r - rowFrom] = shortRows ? bf16ShortRow(segment, cols, r, x[b], even[b], odd[b])
                            : bf16Row(segment, cols, r, x[b], even[b], odd[b]);
                }
            }
        }
    }

    /** As {@link #bf16RowsBatch}: one F32 row times groups of four vectors, each value {@link #f32Rows}' own. */
    @Override
    public void f32RowsBatch(ByteBuffer segment, int cols, int rowFrom, int rowTo, int batch, float[][] x,
                             float[][] out, int outOffset) {
        for (int r0 = rowFrom; r0 < rowTo; r0 += BATCH_BLOCK) {
            int r1 = Math.min(rowTo, r0 + BATCH_BLOCK);
            int b = 0;
            for (; b + GROUP <= batch; b += GROUP) {
                for (int r = r0; r < r1; r++) {
                    f32RowFour(segment, cols, r, x, b, out, outOffset + r - rowFrom);
                }
            }
            for (; b < batch; b++) {
                f32Rows(segment, cols, r0, r1, x[b], out[b], outOffset + r0 - rowFrom);
            }
        }
    }



    /**
     * Groups of four vectors, then a pair of leftovers (batch mod 4 ≥ 2), each {@link #pack packed}; a last single
     * vector is read from even/odd.
     */
    @Override
    public float[] packBf16Batch(int batch, float[][] even, float[][] odd, int cols, float[] scratch) {
        int groups = batch / GROUP;
        boolean pair = batch % GROUP >= 2;
        int groupFloats = cols / (2 * L) * 2 * GROUP * L;
        int needed = groups * groupFloats + (pair ? groupFloats / 2 : 0);
        float[] px = scratch != null && scratch.length >= needed ? scratch : new float[needed];
        for (int g = 0; g < groups; g++) {
            pack(even, odd, g * GROUP, GROUP, cols, px, g * groupFloats);
        }
        if (pair) {
            pack(even, odd, groups * GROUP, 2, cols, px, groups * groupFloats);
        }
        return px;
    }

    /** Per calling thread: the batch's x packed by {@link #pack}. */
    private static final ThreadLocal<float[]> PACKED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * The x of vectors b .. b + group - 1 as one array from {@code at}: for every step of 2L columns (the full steps
     * only; the tail is read from x), 2 · group · L floats: vector 0's even entries of the step, its odd entries, vector
     * 1's, … so that a kernel's loads of one step come from one array at consecutive offsets (one range check pattern,
     * no per-array registers). Returns the floats written (group · the columns of the full steps).
     */
    private static int pack(float[][] even, float[][] odd, int b, int group, int cols, float[] px, int at) {
        int steps = cols / (2 * L);
        for (int t = 0; t < steps; t++) {
            int h = t * L;
            int p = at + t * 2 * group * L;
            for (int v = 0; v < group; v++) {
                System.arraycopy(even[b + v], h, px, p + 2 * v * L, L);
                System.arraycopy(odd[b + v], h, px, p + (2 * v + 1) * L, L);
            }
        }
        return steps * 2 * group * L;
    }

    /**
     * One short row times four vectors (b .. b + 3, their x {@link #pack packed} at {@code pbase} of {@code px}): per
     * vector exactly {@link #bf16ShortRow}'s four accumulators, loop steps and final sum, so each value is bit for bit
     * the single-vector one; each load of the row widens once and feeds the four vectors.
     */
    private static void bf16ShortRowFour(ByteBuffer segment, int cols, int r, float[][] x, float[] px, int pbase,
                                               int b, float[][] out, int at) {
        int wide = 4 * L;
        int single = 2 * L;
        int base = r * cols * 2;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = FloatVector.zero(F);
        FloatVector a02 = FloatVector.zero(F);
        FloatVector a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a11 = FloatVector.zero(F);
        FloatVector a12 = FloatVector.zero(F);
        FloatVector a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a21 = FloatVector.zero(F);
        FloatVector a22 = FloatVector.zero(F);
        FloatVector a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        FloatVector a31 = FloatVector.zero(F);
        FloatVector a32 = FloatVector.zero(F);
        FloatVector a33 = FloatVector.zero(F);
        int j = 0;
        for (; j + wide <= cols; j += wide) {
            IntVector w0 = IntVector.fromByteBuffer(I, segment, base + 2 * j, LE);
            IntVector w1 = IntVector.fromByteBuffer(I, segment, base + 2 * j + 4 * L, LE);
            FloatVector l0 = low(w0);
            FloatVector h0 = high(w0);
            FloatVector l1 = low(w1);
            FloatVector h1 = high(w1);
            int p = pbase + 4 * j;
            a00 = l0.fma(FloatVector.fromArray(F, px, p + 0 * L), a00);
            a01 = h0.fma(FloatVector.fromArray(F, px, p + 1 * L), a01);
            a02 = l1.fma(FloatVector.fromArray(F, px, p + 8 * L), a02);
            a03 = h1.fma(FloatVector.fromArray(F, px, p + 9 * L), a03);
            a10 = l0.fma(FloatVector.fromArray(F, px, p + 2 * L), a10);
            a11 = h0.fma(FloatVector.fromArray(F, px, p + 3 * L), a11);
            a12 = l1.fma(FloatVector.fromArray(F, px, p + 10 * L), a12);
            a13 = h1.fma(FloatVector.fromArray(F, px, p + 11 * L), a13);
            a20 = l0.fma(FloatVector.fromArray(F, px, p + 4 * L), a20);
            a21 = h0.fma(FloatVector.fromArray(F, px, p + 5 * L), a21);
            a22 = l1.fma(FloatVector.fromArray(F, px, p + 12 * L), a22);
            a23 = h1.fma(FloatVector.fromArray(F, px, p + 13 * L), a23);
            a30 = l0.fma(FloatVector.fromArray(F, px, p + 6 * L), a30);
            a31 = h0.fma(FloatVector.fromArray(F, px, p + 7 * L), a31);
            a32 = l1.fma(FloatVector.fromArray(F, px, p + 14 * L), a32);
            a33 = h1.fma(FloatVector.fromArray(F, px, p + 15 * L), a33);
        }
        for (; j + single <= cols; j += single) {
            IntVector w0 = IntVector.fromByteBuffer(I, segment, base + 2 * j, LE);
            FloatVector l0 = low(w0);
            FloatVector h0 = high(w0);
            int p = pbase + 4 * j;
            a00 = l0.fma(FloatVector.fromArray(F, px, p + 0 * L), a00);
            a01 = h0.fma(FloatVector.fromArray(F, px, p + 1 * L), a01);
            a10 = l0.fma(FloatVector.fromArray(F, px, p + 2 * L), a10);
            a11 = h0.fma(FloatVector.fromArray(F, px, p + 3 * L), a11);
            a20 = l0.fma(FloatVector.fromArray(F, px, p + 4 * L), a20);
            a21 = h0.fma(FloatVector.fromArray(F, px, p + 5 * L), a21);
            a30 = l0.fma(FloatVector.fromArray(F, px, p + 6 * L), a30);
            a31 = h0.fma(FloatVector.fromArray(F, px, p + 7 * L), a31);
        }
        float s0 = a00.add(a02).add(a01.add(a03)).reduceLanes(VectorOperators.ADD);
        float s1 = a10.add(a12).add(a11.add(a13)).reduceLanes(VectorOperators.ADD);
        float s2 = a20.add(a22).add(a21.add(a23)).reduceLanes(VectorOperators.ADD);
        float s3 = a30.add(a32).add(a31.add(a33)).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) {
            float w = Float.intBitsToFloat(segment.getShort(base + 2 * j) << 16);
            s0 += w * x[b + 0][j];
            s1 += w * x[b + 1][j];
            s2 += w * x[b + 2][j];
            s3 += w * x[b + 3][j];
        }
        out[b + 0][at] = s0;
        out[b + 1][at] = s1;
        out[b + 2][at] = s2;
        out[b + 3][at] = s3;
    }

    /**
     * Two long rows times four vectors (x {@link #pack packed} as for {@link #bf16ShortRowFour}): per (row, vector)
     * exactly {@link #bf16Row}'s two accumulators and sum, so each value is bit for bit the single-vector one; each
     * load of x serves both rows, each widened word four vectors.
     */
    private static void bf16TwoRowsFour(ByteBuffer segment, int cols, int r, float[][] x, float[] px, int pbase,
                                              int b, float[][] out, int at) {
        int single = 2 * L;
        int b0 = r * cols * 2;
        int b1 = b0 + cols * 2;
        FloatVector e00 = FloatVector.zero(F);
        FloatVector e01 = FloatVector.zero(F);
        FloatVector e02 = FloatVector.zero(F);
        FloatVector e03 = FloatVector.zero(F);
        FloatVector o00 = FloatVector.zero(F);
        FloatVector o01 = FloatVector.zero(F);
        FloatVector o02 = FloatVector.zero(F);
        FloatVector o03 = FloatVector.zero(F);
        FloatVector e10 = FloatVector.zero(F);
        FloatVector e11 = FloatVector.zero(F);
        FloatVector e12 = FloatVector.zero(F);
        FloatVector e13 = FloatVector.zero(F);
        FloatVector o10 = FloatVector.zero(F);
        FloatVector o11 = FloatVector.zero(F);
        FloatVector o12 = FloatVector.zero(F);
        FloatVector o13 = FloatVector.zero(F);
        int j = 0;
        for (; j + single <= cols; j += single) {
            int off = 2 * j;
            IntVector w0 = IntVector.fromByteBuffer(I, segment, b0 + off, LE);
            IntVector w1 = IntVector.fromByteBuffer(I, segment, b1 + off, LE);
            FloatVector l0 = low(w0);
            FloatVector h0 = high(w0);
            FloatVector l1 = low(w1);
            FloatVector h1 = high(w1);
            int p = pbase + 4 * j;
            FloatVector xe0 = FloatVector.fromArray(F, px, p + 0 * L);
            FloatVector xo0 = FloatVector.fromArray(F, px, p + 1 * L);
            e00 = l0.fma(xe0, e00);
            o00 = h0.fma(xo0, o00);
            e10 = l1.fma(xe0, e10);
            o10 = h1.fma(xo0, o10);
            FloatVector xe1 = FloatVector.fromArray(F, px, p + 2 * L);
            FloatVector xo1 = FloatVector.fromArray(F, px, p + 3 * L);
            e01 = l0.fma(xe1, e01);
            o01 = h0.fma(xo1, o01);
            e11 = l1.fma(xe1, e11);
            o11 = h1.fma(xo1, o11);
            FloatVector xe2 = FloatVector.fromArray(F, px, p + 4 * L);
            FloatVector xo2 = FloatVector.fromArray(F, px, p + 5 * L);
            e02 = l0.fma(xe2, e02);
            o02 = h0.fma(xo2, o02);
            e12 = l1.fma(xe2, e12);
            o12 = h1.fma(xo2, o12);
            FloatVector xe3 = FloatVector.fromArray(F, px, p + 6 * L);
            FloatVector xo3 = FloatVector.fromArray(F, px, p + 7 * L);
            e03 = l0.fma(xe3, e03);
            o03 = h0.fma(xo3, o03);
            e13 = l1.fma(xe3, e13);
            o13 = h1.fma(xo3, o13);
        }
        float s00 = e00.add(o00).reduceLanes(VectorOperators.ADD);
        float s01 = e01.add(o01).reduceLanes(VectorOperators.ADD);
        float s02 = e02.add(o02).reduceLanes(VectorOperators.ADD);
        float s03 = e03.add(o03).reduceLanes(VectorOperators.ADD);
        float s10 = e10.add(o10).reduceLanes(VectorOperators.ADD);
        float s11 = e11.add(o11).reduceLanes(VectorOperators.ADD);
        float s12 = e12.add(o12).reduceLanes(VectorOperators.ADD);
        float s13 = e13.add(o13).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) {
            float w0 = Float.intBitsToFloat(segment.getShort(b0 + 2 * j) << 16);
            float w1 = Float.intBitsToFloat(segment.getShort(b1 + 2 * j) << 16);
            s00 += w0 * x[b + 0][j];
            s10 += w1 * x[b + 0][j];
            s01 += w0 * x[b + 1][j];
            s11 += w1 * x[b + 1][j];
            s02 += w0 * x[b + 2][j];
            s12 += w1 * x[b + 2][j];
            s03 += w0 * x[b + 3][j];
            s13 += w1 * x[b + 3][j];
        }
        out[b + 0][at] = s00;
        out[b + 0][at + 1] = s10;
        out[b + 1][at] = s01;
        out[b + 1][at + 1] = s11;
        out[b + 2][at] = s02;
        out[b + 2][at + 1] = s12;
        out[b + 3][at] = s03;
        out[b + 3][at + 1] = s13;
    }


    /** {@link #bf16ShortRowFour} for two vectors (b, b + 1; packed in a group of two). */
    private static void bf16ShortRowTwo(ByteBuffer segment, int cols, int r, float[][] x, float[] px, int pbase, int b,
                                        float[][] out, int at) {
        int wide = 4 * L;
        int single = 2 * L;
        int base = r * cols * 2;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = FloatVector.zero(F);
        FloatVector a02 = FloatVector.zero(F);
        FloatVector a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a11 = FloatVector.zero(F);
        FloatVector a12 = FloatVector.zero(F);
        FloatVector a13 = FloatVector.zero(F);
        int j = 0;
        for (; j + wide <= cols; j += wide) {
            IntVector w0 = IntVector.fromByteBuffer(I, segment, base + 2 * j, LE);
            IntVector w1 = IntVector.fromByteBuffer(I, segment, base + 2 * j + 4 * L, LE);
            FloatVector l0 = low(w0);
            FloatVector h0 = high(w0);
            FloatVector l1 = low(w1);
            FloatVector h1 = high(w1);
            int p = pbase + 2 * j;
            a00 = l0.fma(FloatVector.fromArray(F, px, p + 0 * L), a00);
            a01 = h0.fma(FloatVector.fromArray(F, px, p + 1 * L), a01);
            a02 = l1.fma(FloatVector.fromArray(F, px, p + 4 * L), a02);
            a03 = h1.fma(FloatVector.fromArray(F, px, p + 5 * L), a03);
            a10 = l0.fma(FloatVector.fromArray(F, px, p + 2 * L), a10);
            a11 = h0.fma(FloatVector.fromArray(F, px, p + 3 * L), a11);
            a12 = l1.fma(FloatVector.fromArray(F, px, p + 6 * L), a12);
            a13 = h1.fma(FloatVector.fromArray(F, px, p + 7 * L), a13);
        }
        for (; j + single <= cols; j += single) {
            IntVector w0 = IntVector.fromByteBuffer(I, segment, base + 2 * j, LE);
            FloatVector l0 = low(w0);
            FloatVector h0 = high(w0);
            int p = pbase + 2 * j;
            a00 = l0.fma(FloatVector.fromArray(F, px, p + 0 * L), a00);
            a01 = h0.fma(FloatVector.fromArray(F, px, p + 1 * L), a01);
            a10 = l0.fma(FloatVector.fromArray(F, px, p + 2 * L), a10);
            a11 = h0.fma(FloatVector.fromArray(F, px, p + 3 * L), a11);
        }
        float s0 = a00.add(a02).add(a01.add(a03)).reduceLanes(VectorOperators.ADD);
        float s1 = a10.add(a12).add(a11.add(a13)).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) {
            float w = Float.intBitsToFloat(segment.getShort(base + 2 * j) << 16);
            s0 += w * x[b + 0][j];
            s1 += w * x[b + 1][j];
        }
        out[b + 0][at] = s0;
        out[b + 1][at] = s1;
    }

    /** {@link #bf16TwoRowsFour} for two vectors (b, b + 1; packed in a group of two). */
    private static void bf16TwoRowsTwo(ByteBuffer segment, int cols, int r, float[][] x, float[] px, int pbase, int b,
                                       float[][] out, int at) {
        int single = 2 * L;
        int b0 = r * cols * 2;
        int b1 = b0 + cols * 2;
        FloatVector e00 = FloatVector.zero(F);
        FloatVector o00 = FloatVector.zero(F);
        FloatVector e01 = FloatVector.zero(F);
        FloatVector o01 = FloatVector.zero(F);
        FloatVector e10 = FloatVector.zero(F);
        FloatVector o10 = FloatVector.zero(F);
        FloatVector e11 = FloatVector.zero(F);
        FloatVector o11 = FloatVector.zero(F);
        int j = 0;
        for (; j + single <= cols; j += single) {
            int off = 2 * j;
            IntVector w0 = IntVector.fromByteBuffer(I, segment, b0 + off, LE);
            IntVector w1 = IntVector.fromByteBuffer(I, segment, b1 + off, LE);
            FloatVector l0 = low(w0);
            FloatVector h0 = high(w0);
            FloatVector l1 = low(w1);
            FloatVector h1 = high(w1);
            int p = pbase + 2 * j;
            FloatVector xe0 = FloatVector.fromArray(F, px, p + 0 * L);
            FloatVector xo0 = FloatVector.fromArray(F, px, p + 1 * L);
            e00 = l0.fma(xe0, e00);
            o00 = h0.fma(xo0, o00);
            e10 = l1.fma(xe0, e10);
            o10 = h1.fma(xo0, o10);
            FloatVector xe1 = FloatVector.fromArray(F, px, p + 2 * L);
            FloatVector xo1 = FloatVector.fromArray(F, px, p + 3 * L);
            e01 = l0.fma(xe1, e01);
            o01 = h0.fma(xo1, o01);
            e11 = l1.fma(xe1, e11);
            o11 = h1.fma(xo1, o11);
        }
        float s00 = e00.add(o00).reduceLanes(VectorOperators.ADD);
        float s01 = e01.add(o01).reduceLanes(VectorOperators.ADD);
        float s10 = e10.add(o10).reduceLanes(VectorOperators.ADD);
        float s11 = e11.add(o11).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) {
            float w0 = Float.intBitsToFloat(segment.getShort(b0 + 2 * j) << 16);
            float w1 = Float.intBitsToFloat(segment.getShort(b1 + 2 * j) << 16);
            s00 += w0 * x[b + 0][j];
            s10 += w1 * x[b + 0][j];
            s01 += w0 * x[b + 1][j];
            s11 += w1 * x[b + 1][j];
        }
        out[b + 0][at] = s00;
        out[b + 0][at + 1] = s10;
        out[b + 1][at] = s01;
        out[b + 1][at + 1] = s11;
    }

    /** One F32 row times four vectors: per vector exactly {@link #f32Rows}' accumulators and sum. */
    private static void f32RowFour(ByteBuffer segment, int cols, int r, float[][] x, int b, float[][] out, int at) {
        int wide = 2 * L;
        int base = r * cols * 4;
        float[] x0 = x[b + 0];
        float[] x1 = x[b + 1];
        float[] x2 = x[b + 2];
        float[] x3 = x[b + 3];
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        FloatVector a31 = FloatVector.zero(F);
        int j = 0;
        for (; j + wide <= cols; j += wide) {
            FloatVector w0 = FloatVector.fromByteBuffer(F, segment, base + 4 * j, LE);
            FloatVector w1 = FloatVector.fromByteBuffer(F, segment, base + 4 * j + 4 * L, LE);
            a00 = w0.fma(FloatVector.fromArray(F, x0, j), a00);
            a01 = w1.fma(FloatVector.fromArray(F, x0, j + L), a01);
            a10 = w0.fma(FloatVector.fromArray(F, x1, j), a10);
            a11 = w1.fma(FloatVector.fromArray(F, x1, j + L), a11);
            a20 = w0.fma(FloatVector.fromArray(F, x2, j), a20);
            a21 = w1.fma(FloatVector.fromArray(F, x2, j + L), a21);
            a30 = w0.fma(FloatVector.fromArray(F, x3, j), a30);
            a31 = w1.fma(FloatVector.fromArray(F, x3, j + L), a31);
        }
        for (; j + L <= cols; j += L) {
            FloatVector w0 = FloatVector.fromByteBuffer(F, segment, base + 4 * j, LE);
            a00 = w0.fma(FloatVector.fromArray(F, x0, j), a00);
            a10 = w0.fma(FloatVector.fromArray(F, x1, j), a10);
            a20 = w0.fma(FloatVector.fromArray(F, x2, j), a20);
            a30 = w0.fma(FloatVector.fromArray(F, x3, j), a30);
        }
        float s0 = a00.add(a01).reduceLanes(VectorOperators.ADD);
        float s1 = a10.add(a11).reduceLanes(VectorOperators.ADD);
        float s2 = a20.add(a21).reduceLanes(VectorOperators.ADD);
        float s3 = a30.add(a31).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) {
            float w = segment.getFloat(base + 4 * j);
            s0 += w * x0[j];
            s1 += w * x1[j];
            s2 += w * x2[j];
            s3 += w * x3[j];
        }
        out[b + 0][at] = s0;
        out[b + 1][at] = s1;
        out[b + 2][at] = s2;
        out[b + 3][at] = s3;
    }

    /** Elements of one int vector of int8s: four per 32-bit lane. */
    private static final int Q8_CHUNK = 4 * L;

    /**
     * Within each chunk of 4L elements, x[4i + k] moves to k · L + i: the k-th byte of every lane of a vector of
     * int8 quads then meets its x in one float vector. A shorter tail is copied as is.
     */
    @Override
    public void permuteForQ8(float[] x, int n, float[] out) {
        int chunks = n / Q8_CHUNK;
        for (int c = 0; c < chunks; c++) {
            int base = c * Q8_CHUNK;
            for (int i = 0; i < L; i++) {
                for (int k = 0; k < 4; k++) {
                    out[base + k * L + i] = x[base + 4 * i + k];
                }
            }
        }
        System.arraycopy(x, chunks * Q8_CHUNK, out, chunks * Q8_CHUNK, n - chunks * Q8_CHUNK);
    }

    /**
     * Q8 rows read as 32-bit words, four int8s each: byte k of a word is {@code (word << (24 - 8k)) >> 24}
     * (arithmetic shift: sign-extended), widened to float exactly and multiplied by the permuted x. A block of 64
     * values is 64 / (4L) int vectors (one with 512-bit vectors); its sum is scaled once. Long rows go four at a time,
     * sharing each load of x (read one at a time, they would be limited by the widening arithmetic, not by memory);
     * short rows one at a time (one sequential stream). A row's arithmetic is the same either way, so its value never
     * depends on the grouping.
     */
    @Override
    public void q8Rows(ByteBuffer quants, ByteBuffer scales, int cols, int rowFrom, int rowTo, float[] x,
                       float[] permuted, float[] out, int outOffset) {
        if (WeightMatrix.Q8_BLOCK % Q8_CHUNK != 0) {
            ScalarKernels.INSTANCE.q8Rows(quants, scales, cols, rowFrom, rowTo, x, x, out, outOffset);
            return;
        }
        int r = rowFrom;
        if (cols > SHORT_ROW) { // as for BF16: short rows one at a time read the matrix as one sequential stream
            for (; r + 4 <= rowTo; r += 4) {
                q8FourRows(quants, scales, cols, r, x, permuted, out, outOffset + r - rowFrom);
            }
        }
        for (; r < rowTo; r++) {
            out[outOffset + r - rowFrom] = q8Row(quants, scales, cols, r, x, permuted);
        }
    }

    private static float q8Row(ByteBuffer quants, ByteBuffer scales, int cols, int r, float[] x, float[] permuted) {
        int blocks = WeightMatrix.blocksPerRow(cols);
        int full = cols / WeightMatrix.Q8_BLOCK;
        int base = r * cols;
        int scaleBase = 4 * r * blocks;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < full; b++) {
            FloatVector block = FloatVector.zero(F);
            for (int off = b * WeightMatrix.Q8_BLOCK; off < (b + 1) * WeightMatrix.Q8_BLOCK; off += Q8_CHUNK) {
                IntVector w = IntVector.fromByteBuffer(I, quants, base + off, LE);
                for (int k = 0; k < 4; k++) {
                    block = q8Lanes(w, k).fma(FloatVector.fromArray(F, permuted, off + k * L), block);
                }
            }
            acc = block.fma(FloatVector.broadcast(F, scales.getFloat(scaleBase + 4 * b)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD) + q8Tail(quants, scales, cols, r, x);
    }

    private static void q8FourRows(ByteBuffer quants, ByteBuffer scales, int cols, int r, float[] x, float[] permuted,
                                   float[] out, int at) {
        int blocks = WeightMatrix.blocksPerRow(cols);
        int full = cols / WeightMatrix.Q8_BLOCK;
        int b0 = r * cols;
        int s0 = 4 * r * blocks;
        int rowScales = 4 * blocks;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        for (int b = 0; b < full; b++) {
            FloatVector c0 = FloatVector.zero(F);
            FloatVector c1 = FloatVector.zero(F);
            FloatVector c2 = FloatVector.zero(F);
            FloatVector c3 = FloatVector.zero(F);
            for (int off = b * WeightMatrix.Q8_BLOCK; off < (b + 1) * WeightMatrix.Q8_BLOCK; off += Q8_CHUNK) {
                IntVector w0 = IntVector.fromByteBuffer(I, quants, b0 + off, LE);
                IntVector w1 = IntVector.fromByteBuffer(I, quants, b0 + cols + off, LE);
                IntVector w2 = IntVector.fromByteBuffer(I, quants, b0 + 2 * cols + off, LE);
                IntVector w3 = IntVector.fromByteBuffer(I, quants, b0 + 3 * cols + off, LE);
                for (int k = 0; k < 4; k++) {
                    FloatVector xk = FloatVector.fromArray(F, permuted, off + k * L);
                    c0 = q8Lanes(w0, k).fma(xk, c0);
                    c1 = q8Lanes(w1, k).fma(xk, c1);
                    c2 = q8Lanes(w2, k).fma(xk, c2);
                    c3 = q8Lanes(w3, k).fma(xk, c3);
                }
            }
            a0 = c0.fma(FloatVector.broadcast(F, scales.getFloat(s0 + 4 * b)), a0);
            a1 = c1.fma(FloatVector.broadcast(F, scales.getFloat(s0 + rowScales + 4 * b)), a1);
            a2 = c2.fma(FloatVector.broadcast(F, scales.getFloat(s0 + 2 * rowScales + 4 * b)), a2);
            a3 = c3.fma(FloatVector.broadcast(F, scales.getFloat(s0 + 3 * rowScales + 4 * b)), a3);
        }
        out[at] = a0.reduceLanes(VectorOperators.ADD) + q8Tail(quants, scales, cols, r, x);
        out[at + 1] = a1.reduceLanes(VectorOperators.ADD) + q8Tail(quants, scales, cols, r + 1, x);
        out[at + 2] = a2.reduceLanes(VectorOperators.ADD) + q8Tail(quants, scales, cols, r + 2, x);
        out[at + 3] = a3.reduceLanes(VectorOperators.ADD) + q8Tail(quants, scales, cols, r + 3, x);
    }

    /** Values of one int vector of 4-bit codes: eight per 32-bit lane. */
    private static final int Q4_CHUNK = 8 * L;

    /**
     * Within each chunk of 8L values, x[8i + k] moves to k · L + i (the k-th nibble of every lane then meets its x in
     * one float vector), when the groups are whole chunks; otherwise x is copied and {@link #q4Rows} runs the plain
     * kernel. The group sums follow.
     */
    @Override
    public void prepareForQ4(float[] x, int n, int groupSize, float[] out) {
        if (groupSize % Q4_CHUNK == 0) {
            for (int base = 0; base + Q4_CHUNK <= n; base += Q4_CHUNK) {
                for (int i = 0; i < L; i++) {
                    for (int k = 0; k < 8; k++) {
                        out[base + k * L + i] = x[base + 8 * i + k];
                    }
                }
            }
        } else {
            System.arraycopy(x, 0, out, 0, n);
        }
        Kernels.q4GroupSums(x, n, groupSize, out);
    }

    /**
     * Q4 rows read as 32-bit words of eight codes: nibble k is {@code (word >>> 4k) & 0xF}, widened to float exactly
     * and multiplied by the permuted x; each group's sum is scaled once, and its offset multiplies the group's sum of x.
     * One row at a time, whatever its length: four rows sharing each load of x need more vector registers than the
     * JIT keeps in registers (2B's 1536 × 8960 down projection ran at a sixth of the one-row rate that way).
     */
    @Override
    public void q4Rows(ByteBuffer codes, ByteBuffer scales, ByteBuffer offsets, int cols, int groupSize, int rowFrom,
                       int rowTo, float[] x, float[] prepared, float[] out, int outOffset) {
        if (groupSize % Q4_CHUNK != 0) {
            ScalarKernels.INSTANCE.q4Rows(codes, scales, offsets, cols, groupSize, rowFrom, rowTo, x, prepared, out,
                    outOffset);
            return;
        }
        for (int r = rowFrom; r < rowTo; r++) {
            out[outOffset + r - rowFrom] = q4Row(codes, scales, offsets, cols, groupSize, r, prepared);
        }
    }

    private static float q4Row(ByteBuffer codes, ByteBuffer scales, ByteBuffer offsets, int cols, int groupSize, int r,
                               float[] prepared) {
        int groups = cols / groupSize;
        int base = r * (cols / 2);
        FloatVector acc = FloatVector.zero(F);
        float offsetSum = 0f;
        for (int g = 0; g < groups; g++) {
            // two chains of fused multiply-adds (even and odd nibbles), so one row is not bound by their latency
            FloatVector even = FloatVector.zero(F);
            FloatVector odd = FloatVector.zero(F);
            for (int off = g * groupSize; off < (g + 1) * groupSize; off += Q4_CHUNK) {
                IntVector w = IntVector.fromByteBuffer(I, codes, base + off / 2, LE);
                for (int k = 0; k < 8; k += 2) {
                    even = q4Lanes(w, k).fma(FloatVector.fromArray(F, prepared, off + k * L), even);
                    odd = q4Lanes(w, k + 1).fma(FloatVector.fromArray(F, prepared, off + (k + 1) * L), odd);
                }
            }
            FloatVector block = even.add(odd);
            int at = 4 * (r * groups + g);
            acc = block.fma(FloatVector.broadcast(F, scales.getFloat(at)), acc);
            offsetSum += offsets.getFloat(at) * prepared[cols + g];
        }
        return acc.reduceLanes(VectorOperators.ADD) + offsetSum;
    }

    /** Nibble k of every 32-bit lane (unsigned), as floats. */
    private static FloatVector q4Lanes(IntVector words, int k) {
        IntVector ints = k == 7 ? words.lanewise(VectorOperators.LSHR, 28)
                : k == 0 ? words.and(0xF)
                : words.lanewise(VectorOperators.LSHR, 4 * k).and(0xF);
        return toFloats(ints);
    }

    /** Byte k of every 32-bit lane, sign-extended, as floats. */
    private static FloatVector q8Lanes(IntVector words, int k) {
        IntVector ints = k == 3 ? words.lanewise(VectorOperators.ASHR, 24)
                : words.lanewise(VectorOperators.LSHL, 24 - 8 * k).lanewise(VectorOperators.ASHR, 24);
        return toFloats(ints);
    }

    /** A partial last block of row r (plain x: the permutation left the tail in place), scaled; 0 when none. */
    private static float q8Tail(ByteBuffer quants, ByteBuffer scales, int cols, int r, float[] x) {
        int full = cols / WeightMatrix.Q8_BLOCK;
        int blocks = WeightMatrix.blocksPerRow(cols);
        if (full == blocks) {
            return 0f;
        }
        int base = r * cols;
        float block = 0f;
        for (int j = full * WeightMatrix.Q8_BLOCK; j < cols; j++) {
            block += quants.get(base + j) * x[j];
        }
        return block * scales.getFloat(4 * (r * blocks + full));
    }

    private static FloatVector toFloats(IntVector ints) {
        return (FloatVector) ints.convert(VectorOperators.I2F, 0);
    }

    private static FloatVector low(IntVector words) {
        return (FloatVector) words.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector high(IntVector words) {
        return (FloatVector) words.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats();
    }

    @Override
    public void f32Rows(ByteBuffer segment, int cols, int rowFrom, int rowTo, float[] x, float[] out, int outOffset) {
        int wide = 2 * L;
        for (int r = rowFrom; r < rowTo; r++) {
            int base = r * cols * 4;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            int j = 0;
            for (; j + wide <= cols; j += wide) {
                a0 = FloatVector.fromByteBuffer(F, segment, base + 4 * j, LE).fma(FloatVector.fromArray(F, x, j), a0);
                a1 = FloatVector.fromByteBuffer(F, segment, base + 4 * j + 4 * L, LE)
                        .fma(FloatVector.fromArray(F, x, j + L), a1);
            }
            for (; j + L <= cols; j += L) {
                a0 = FloatVector.fromByteBuffer(F, segment, base + 4 * j, LE).fma(FloatVector.fromArray(F, x, j), a0);
            }
            float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
            for (; j < cols; j++) {
                sum += segment.getFloat(base + 4 * j) * x[j];
            }
            out[outOffset + r - rowFrom] = sum;
        }
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            acc = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOffset + i] * b[bOffset + i];
        }
        return s;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, x, xOffset + i).fma(a, FloatVector.fromArray(F, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }
}
