package io.github.qwenvl.nn.cpu;

/**
 * Matrix × vector products over {@link WeightMatrix} rows, spread over {@link DecodeThreads}. Several
 * matrices that multiply the same vector (q/k/v, gate/up) run as one parallel pass over their stacked rows:
 * one hand-off to the workers instead of one per matrix.
 */
public final class MatVec {

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
        threads.run(total, (chunk, from, to) -> {
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

    /** out = matrix · x. */
    public void multiply(float[] x, float[] even, float[] odd, WeightMatrix matrix, float[] out) {
        multiply(x, even, odd, new WeightMatrix[] {matrix}, new float[][] {out});
    }
}
