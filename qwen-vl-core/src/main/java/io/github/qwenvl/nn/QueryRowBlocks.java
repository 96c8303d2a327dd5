package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/**
 * Prefill attention over blocks of query rows of about {@link #scoreBlockElements} scores each, so a long prompt
 * never holds its whole (…, heads, S, T) score matrices (12 heads × 8K × 8K × 4 B = 3.2 GB each for a 2B model).
 * Softmax is row-wise, so the result is that of one pass; short prompts and decode steps are one block.
 */
public final class QueryRowBlocks {

    /** Scores computed at once: 4M floats = 16 MB per score tensor (tests lower it: blocks of 16 rows). */
    public static volatile long scoreBlockElements = 4L << 20;

    /**
     * On a GPU the blocks are this many times larger (256 MB of scores by default): memory is plentiful there, and
     * every block costs a handful of kernel launches (measured on an H100: a 1344×1008 image's vision tower in
     * 16 MB blocks took 3× as long as transformers' one-pass attention).
     */
    public static final int GPU_BLOCK_FACTOR = 16;

    /** A block budget chosen for CPU, scaled for tensors on {@code device} (the vision tower has its own CPU budget). */
    public static long onDevice(long cpuScoreElements, ai.djl.Device device) {
        return device.isGpu() ? cpuScoreElements * GPU_BLOCK_FACTOR : cpuScoreElements;
    }

    /** Attention of one block: its queries and mask rows (null when there is no mask), {@code rows} of them. */
    @FunctionalInterface
    public interface Attend {
        NDArray apply(NDArray queries, NDArray mask, int rows);
    }

    private QueryRowBlocks() {
    }

    /**
     * @param q            queries with the S query rows on axis 2
     * @param mask         additive mask with the same rows on axis 2, or null
     * @param scoresPerRow scores one query row computes (batch × heads × T)
     * @return the blocks' results, each with its rows on axis 2, concatenated along axis 2; every block's
     *         intermediates are freed before the next block starts
     */
    public static NDArray attend(NDArray q, NDArray mask, long scoresPerRow, Attend attend) {
        int s = (int) q.getShape().get(2);
        int rowsPerBlock = (int) Math.min(s, Math.max(16, onDevice(scoreBlockElements, q.getDevice()) / scoresPerRow));
        NDList blocks = new NDList();
        for (int from = 0; from < s; from += rowsPerBlock) {
            int rows = Math.min(rowsPerBlock, s - from);
            NDArray qBlock = rows == s ? q : q.get(":, :, {}:{}", from, from + rows);
            NDArray maskBlock = mask == null ? null : rows == s ? mask : mask.get(":, :, {}:{}", from, from + rows);
            blocks.add(Scopes.run(q.getManager(), qBlock, rows != s, qs -> attend.apply(qs, maskBlock, rows)));
        }
        return blocks.size() == 1 ? blocks.get(0) : NDArrays.concat(blocks, 2);
    }
}
