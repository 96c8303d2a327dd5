package io.github.qwenvl.nn.cpu;

/**
 * Matrix × vector products over {@link WeightMatrix} rows, spread over {@link DecodeThreads}. Several
 * matrices that multiply the same vector (q/k/v, gate/up) run as one parallel pass over their stacked rows:
 * one hand-off to the workers instead of one per matrix.
 */
public final class MatVec {

    /** Rows per block handed to a thread (a multiple of the kernels' four-row step). */
    static final int GRAIN = 64;

    private final Kernels kernels;
    private final DecodeThreads threads;
    /** x permuted for Q8 or prepared for Q4 rows, per calling thread (requests may step concurrently); read by the workers. */
    private final ThreadLocal<float[]> preparedScratch = ThreadLocal.withInitial(() -> new float[0]);
    /** A batch's x packed for the BF16 batched kernels, per calling thread; read by the workers. */
    private final ThreadLocal<float[]> packScratch = ThreadLocal.withInitial(() -> new float[0]);

    public MatVec(Kernels kernels, DecodeThreads threads) {
        this.kernels = kernels;
        this.threads = threads;
    }

    public Kernels kernels() {
        return kernels;
    }

    public DecodeThreads threads() {
        return threads;
    }

    /**
     * outs[i] = matrices[i] · x for matrices of equal column count n = x's length used.
     *
     * @param even scratch of at least (n + 1) / 2 floats
     * @param odd  scratch of at least n / 2 floats
     */
    public void multiply(float[] x, float[] even, float[] odd, WeightMatrix[] matrices, float[][] outs) {
        int cols = matrices[0].cols();
        int total = 0;
        for (WeightMatrix m : matrices) {
            if (m.cols() != cols || m.format() != matrices[0].format() || m.groupSize() != matrices[0].groupSize()) {
                throw new IllegalArgumentException("matrices of one pass must share the column count and format");
            }
            total += m.rows();
        }
        float[] prepared = prepare(matrices[0], x, cols, even, odd);
        threads.run(total, GRAIN, (worker, from, to) -> {
            int offset = 0;
            for (int i = 0; i < matrices.length; i++) {
                WeightMatrix m = matrices[i];
                int lo = Math.max(from, offset);
                int hi = Math.min(to, offset + m.rows());
                if (lo < hi) {
                    m.rows(kernels, x, prepared, odd, outs[i], lo - offset, lo - offset, hi - offset);
                }
                offset += m.rows();
            }
        });
    }

    /**
     * The gated MLP activation: out[i] = silu(gate_i · x) · (up_i · x), silu(g) = g · sigmoid(g), in one parallel
     * pass (each block computes its gate and up rows, then their activations).
     */
    public void gatedSilu(float[] x, float[] even, float[] odd, WeightMatrix gate, WeightMatrix up, float[] gateOut,
                          float[] upOut, float[] out) {
        int cols = gate.cols();
        if (up.cols() != cols || up.rows() != gate.rows()) {
            throw new IllegalArgumentException("gate and up must have the same shape");
        }
        if (up.format() != gate.format() || up.groupSize() != gate.groupSize()) {
            throw new IllegalArgumentException("gate and up must have the same format");
        }
        float[] prepared = prepare(gate, x, cols, even, odd);
        threads.run(gate.rows(), GRAIN, (worker, from, to) -> {
            gate.rows(kernels, x, prepared, odd, gateOut, from, from, to);
            up.rows(kernels, x, prepared, odd, upOut, from, from, to);
            for (int i = from; i < to; i++) {
                float g = gateOut[i];
                out[i] = g * (float) (1.0 / (1.0 + Math.exp(-g))) * upOut[i];
            }
        });
    }

    /**
     * x in the form the kernels of {@code m}'s format read, passed to {@link WeightMatrix#rows} as its {@code even}:
     * for BF16 x's even entries ({@code odd} gets the odd ones), for Q8 x {@link Kernels#permuteForQ8 permuted} into
     * this thread's scratch. Every matrix of one pass must have the format of {@code m}.
     */
    private float[] prepare(WeightMatrix m, float[] x, int cols, float[] even, float[] odd) {
        if (m.format() == WeightMatrix.Format.Q4) {
            int length = Kernels.q4PreparedLength(cols, m.groupSize());
            float[] scratch = preparedScratch.get();
            if (scratch.length < length) {
                scratch = new float[length];
                preparedScratch.set(scratch);
            }
            kernels.prepareForQ4(x, cols, m.groupSize(), scratch);
            return scratch;
        }
        if (m.format() == WeightMatrix.Format.Q8) {
            float[] scratch = preparedScratch.get();
            if (scratch.length < cols) {
                scratch = new float[cols];
                preparedScratch.set(scratch);
            }
            kernels.permuteForQ8(x, cols, scratch);
            return scratch;
        }
        Kernels.deinterleave(x, cols, even, odd);
        return even;
    }

    /**
     * The batched {@link #multiply(float[], float[], float[], WeightMatrix[], float[][])}: {@code outs[i][b] =
     * matrices[i] · xs[b]} for b &lt; batch, each block of rows read once for all vectors, every value exactly as the
     * single-vector product computes it (so a vector's result does not depend on the batch it is in).
     *
     * @param even per vector, scratch of at least n floats (BF16: x's even entries; Q8: x permuted), for Q4
     *             {@link Kernels#q4PreparedLength}
     * @param odd  per vector, scratch of at least n / 2 floats
     */
    public void multiplyBatch(int batch, float[][] xs, float[][] even, float[][] odd, WeightMatrix[] matrices,
                              float[][][] outs) {
        int cols = matrices[0].cols();
        int total = 0;
        for (WeightMatrix m : matrices) {
            if (m.cols() != cols || m.format() != matrices[0].format() || m.groupSize() != matrices[0].groupSize()) {
                throw new IllegalArgumentException("matrices of one pass must share the column count and format");
            }
            total += m.rows();
        }
        float[] packed = prepareBatch(matrices[0], batch, xs, cols, even, odd);
        threads.run(total, GRAIN, (worker, from, to) -> {
            int offset = 0;
            for (int i = 0; i < matrices.length; i++) {
                WeightMatrix m = matrices[i];
                int lo = Math.max(from, offset);
                int hi = Math.min(to, offset + m.rows());
                if (lo < hi) {
                    m.rowsBatch(kernels, batch, xs, even, odd, packed, outs[i], lo - offset, lo - offset, hi - offset);
                }
                offset += m.rows();
            }
        });
    }

    /** The batched {@link #multiply(float[], float[], float[], WeightMatrix, float[])}: outs[b] = matrix · xs[b]. */
    public void multiplyBatch(int batch, float[][] xs, float[][] even, float[][] odd, WeightMatrix matrix,
                              float[][] outs) {
        multiplyBatch(batch, xs, even, odd, new WeightMatrix[] {matrix}, new float[][][] {outs});
    }

    /** The batched {@link #gatedSilu}: per vector b, out[b][i] = silu(gate_i · xs[b]) · (up_i · xs[b]). */
    public void gatedSiluBatch(int batch, float[][] xs, float[][] even, float[][] odd, WeightMatrix gate,
                               WeightMatrix up, float[][] gateOut, float[][] upOut, float[][] out) {
        int cols = gate.cols();
        if (up.cols() != cols || up.rows() != gate.rows()) {
            throw new IllegalArgumentException("gate and up must have the same shape");
        }
        if (up.format() != gate.format() || up.groupSize() != gate.groupSize()) {
            throw new IllegalArgumentException("gate and up must have the same format");
        }
        float[] packed = prepareBatch(gate, batch, xs, cols, even, odd);
        threads.run(gate.rows(), GRAIN, (worker, from, to) -> {
            gate.rowsBatch(kernels, batch, xs, even, odd, packed, gateOut, from, from, to);
            up.rowsBatch(kernels, batch, xs, even, odd, packed, upOut, from, from, to);
            for (int b = 0; b < batch; b++) {
                float[] g = gateOut[b];
                float[] u = upOut[b];
                float[] o = out[b];
                for (int i = from; i < to; i++) {
                    o[i] = g[i] * (float) (1.0 / (1.0 + Math.exp(-g[i]))) * u[i];
                }
            }
        });
    }

    /**
     * Each vector in the form the kernels of {@code m}'s format read (see {@link #prepare}), into its scratch; for BF16
     * also the batch {@link Kernels#packBf16Batch packed} once for all threads (returned; null for other formats).
     */
    private float[] prepareBatch(WeightMatrix m, int batch, float[][] xs, int cols, float[][] even, float[][] odd) {
        for (int b = 0; b < batch; b++) {
            if (m.format() == WeightMatrix.Format.Q4) {
                kernels.prepareForQ4(xs[b], cols, m.groupSize(), even[b]);
            } else if (m.format() == WeightMatrix.Format.Q8) {
                kernels.permuteForQ8(xs[b], cols, even[b]);
            } else if (m.format() == WeightMatrix.Format.BF16) {
                Kernels.deinterleave(xs[b], cols, even[b], odd[b]);
            }
        }
        if (m.format() != WeightMatrix.Format.BF16) {
            return null;
        }
        float[] scratch = packScratch.get();
        float[] packed = kernels.packBf16Batch(batch, even, odd, cols, scratch);
        if (packed != null && packed != scratch) {
            packScratch.set(packed);
        }
        return packed;
    }

    /** out = matrix · x. */
    public void multiply(float[] x, float[] even, float[] odd, WeightMatrix matrix, float[] out) {
        multiply(x, even, odd, new WeightMatrix[] {matrix}, new float[][] {out});
    }
}
