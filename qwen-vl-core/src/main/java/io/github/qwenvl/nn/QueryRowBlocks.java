package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.engine.Checkpoints;

/**
 * Prefill attention over blocks of query rows of about a budget of scores each
 * ({@link io.github.qwenvl.EngineTuning#attentionBlockElements}), so a long prompt
 * never holds its whole (…, heads, S, T) score matrices (12 heads × 8K × 8K × 4 B = 3.2 GB each for a 2B model).
 * Softmax is row-wise, so the result is that of one pass; short prompts and decode steps are one block.
 */
public final class QueryRowBlocks {

    /**
     * On a GPU the blocks are this many times larger (256 MB of scores by default): memory is plentiful there, and
     * every block costs a handful of kernel launches.
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

    /** One block's attention, consumed where it is computed: its queries and mask rows, the first row and count. */
    @FunctionalInterface
    public interface AttendBlock {
        void apply(NDArray queries, NDArray mask, int from, int rows);
    }

    private QueryRowBlocks() {
    }

    /** Query rows per block for {@code scoresPerRow} scores per row, of {@code s} rows in all. */
    static int rowsPerBlock(long budget, int s, long scoresPerRow, ai.djl.Device device) {
        return (int) Math.min(s, Math.max(16, onDevice(budget, device) / scoresPerRow));
    }

    /**
     * Runs {@code attend} on each block of query rows in turn, with nothing kept between blocks: the caller writes each
     * block's result where it belongs (the decoder adds its output projection into the residual's rows), so no
     * (…, S, hd) concatenation of the blocks is made either.
     *
     * @param budget       scores computed at once ({@link io.github.qwenvl.EngineTuning#attentionBlockElements})
     * @param q            queries with the S query rows on axis 2
     * @param mask         additive mask with the same rows on axis 2, or null
     * @param scoresPerRow scores one query row computes (batch × heads × T)
     */
    public static void forEachBlock(long budget, NDArray q, NDArray mask, long scoresPerRow, AttendBlock attend) {
        int s = (int) q.getShape().get(2);
        int rowsPerBlock = rowsPerBlock(budget, s, scoresPerRow, q.getDevice());
        for (int from = 0; from < s; from += rowsPerBlock) {
            int rows = Math.min(rowsPerBlock, s - from);
            Checkpoints.reached(CancellationToken.Checkpoint.PREFILL_ATTENTION, from);
            try (NDManager scope = q.getManager().newSubManager()) {
                NDArray qBlock = q.get(":, :, {}:{}", from, from + rows);
                qBlock.attach(scope);
                NDArray maskBlock = null;
                if (mask != null) {
                    maskBlock = mask.get(":, :, {}:{}", from, from + rows);
                    maskBlock.attach(scope);
                }
                attend.apply(qBlock, maskBlock, from, rows);
            }
        }
    }

    /**
     * @param budget       scores computed at once ({@link io.github.qwenvl.EngineTuning#attentionBlockElements})
     * @param q            queries with the S query rows on axis 2
     * @param mask         additive mask with the same rows on axis 2, or null
     * @param scoresPerRow scores one query row computes (batch × heads × T)
     * @return the blocks' results, each with its rows on axis 2, concatenated along axis 2; every block's
     *         intermediates are freed before the next block starts
     */
    public static NDArray attend(long budget, NDArray q, NDArray mask, long scoresPerRow, Attend attend) {
        NDManager owner = q.getManager();
        NDList blocks = new NDList();
        forEachBlock(budget, q, mask, scoresPerRow, (qs, maskBlock, from, rows) -> {
            NDArray result = attend.apply(qs, maskBlock, rows);
            result.attach(owner); // kept past the block's scope
            blocks.add(result);
        });
        return blocks.size() == 1 ? blocks.get(0) : NDArrays.concat(blocks, 2);
    }
}
