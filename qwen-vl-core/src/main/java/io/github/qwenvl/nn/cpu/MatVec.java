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
            if (m.cols() != cols) {
                throw new IllegalArgumentException("matrices of one pass must share the column count");
            }
            total += m.rows();
        }
        Kernels.deinterleave(x, cols, even, odd);
        threads.run(total, GRAIN, (worker, from, to) -> {
            int offset = 0;
            for (int i = 0; i < matrices.length; i++) {
                WeightMatrix m = matrices[i];
                int lo = Math.max(from, offset);
                int hi = Math.min(to, offset + m.rows());
                if (lo < hi) {
                    m.rows(kernels, x, even, odd, outs[i], lo - offset, lo - offset, hi - offset);
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
        Kernels.deinterleave(x, cols, even, odd);
        threads.run(gate.rows(), GRAIN, (worker, from, to) -> {
            gate.rows(kernels, x, even, odd, gateOut, from, from, to);
            up.rows(kernels, x, even, odd, upOut, from, from, to);
            for (int i = from; i < to; i++) {
                float g = gateOut[i];
                out[i] = g * (float) (1.0 / (1.0 + Math.exp(-g))) * upOut[i];
            }
        });
    }

    /** out = matrix · x. */
    public void multiply(float[] x, float[] even, float[] odd, WeightMatrix matrix, float[] out) {
        multiply(x, even, odd, new WeightMatrix[] {matrix}, new float[][] {out});
    }
}
