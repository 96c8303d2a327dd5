package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.function.UnaryOperator;

/**
 * A position-wise layer (an MLP) over blocks of rows, each block's output added into the residual in place, so a
 * long sequence never holds its whole (rows, intermediate) tensors: a 1344×1008 image's 6912 patches give
 * 141 MB (6912, 5120) fc1 outputs in every Qwen2-VL-2B vision block, and a 1753-token prompt three 63 MB
 * (1753, 8960) gate / up / product tensors in every decoder layer. Blocks of at most the budget
 * ({@link io.github.qwenvl.EngineTuning#mlpBlockElements}, 16 MB by default) also stay below glibc's largest dynamic {@code mmap} threshold (32 MB), so their memory is reused from
 * block to block instead of being faulted in fresh for every one.
 *
 * <p>Each row's result is that of one pass over all rows (the layer is position-wise); sequences that fit in one
 * block run as one pass.
 */
public final class RowBlocks {

    /** Fewest rows per block: smaller blocks would cost more in per-op overhead than they save. */
    static final int MIN_ROWS = 16;

    private RowBlocks() {
    }

    /**
     * Rows per block when each row computes {@code elementsPerRow} intermediate elements: within {@code budget}
     * intermediate elements ({@link QueryRowBlocks#GPU_BLOCK_FACTOR} times more on a GPU), at least {@link #MIN_ROWS}.
     */
    public static long rowsPerBlock(long budget, long elementsPerRow, ai.djl.Device device) {
        return Math.max(MIN_ROWS, QueryRowBlocks.onDevice(budget, device) / Math.max(1, elementsPerRow));
    }

    /**
     * {@code residual + layer(input)}, added into {@code residual} in place, in row blocks when the rows'
     * intermediates exceed the budget.
     *
     * @param budget       intermediate elements computed at once ({@link io.github.qwenvl.EngineTuning#mlpBlockElements})
     * @param residual     (…, D) the caller's own tensor: the result is added into it, and it is returned
     * @param input        (…, D') the layer's input, with the same leading dimensions
     * @param intermediate the widest intermediate a row computes (the MLP's hidden width)
     * @param layer        the position-wise layer: (rows, D') → (rows, D)
     */
    public static NDArray addLayer(long budget, NDArray residual, NDArray input, long intermediate,
                                   UnaryOperator<NDArray> layer) {
        long width = input.getShape().get(input.getShape().dimension() - 1);
        long rows = input.size() / Math.max(1, width);
        long perBlock = rowsPerBlock(budget, intermediate, input.getDevice());
        if (rows <= perBlock) {
            return residual.addi(layer.apply(input));
        }
        long outWidth = residual.getShape().get(residual.getShape().dimension() - 1);
        // (rows, D') and (rows, D) views of the contiguous input and residual
        NDArray flatInput = input.reshape(rows, width);
        NDArray flatResidual = residual.reshape(rows, outWidth);
        for (long from = 0; from < rows; from += perBlock) {
            long to = Math.min(rows, from + perBlock);
            try (NDManager scope = residual.getManager().newSubManager()) {
                NDArray block = flatInput.get("{}:{}", from, to);
                block.attach(scope);
                NDArray target = flatResidual.get("{}:{}", from, to);
                target.attach(scope);
                target.addi(layer.apply(block)); // writes through the view into the residual
            }
        }
        flatInput.close();
        flatResidual.close();
        return residual;
    }

    /**
     * Rotates {@code x} in place, {@code x·cos + rotate_half(x)·sin} element by element as {@link Ops#applyRotary}
     * computes it, in blocks of rows: no second tensor of x's size, and the rotation's temporaries (the rotated halves
     * and their product) are one block's. Used for q and k, whose rotated copies would, with those temporaries, be the
     * largest tensors of a long prompt's attention.
     *
     * @param budget elements of a block's temporaries ({@link io.github.qwenvl.EngineTuning#mlpBlockElements})
     * @param x   (N, …, hd) with the rows on axis 0; may be a view (the rotation writes through it)
     * @param cos (N, …, hd), broadcasting over x's middle axes (heads); {@code sin} the same
     */
    public static void rotateInPlace(long budget, NDArray x, NDArray cos, NDArray sin) {
        long n = x.getShape().get(0);
        long rows = rowsPerBlock(budget, x.size() / Math.max(1, n), x.getDevice());
        for (long from = 0; from < n; from += rows) {
            long to = Math.min(n, from + rows);
            try (NDManager scope = x.getManager().newSubManager()) {
                NDArray block = x.get("{}:{}", from, to); // a view: written through into x
                NDArray blockCos = cos.get("{}:{}", from, to);
                NDArray blockSin = sin.get("{}:{}", from, to);
                block.attach(scope);
                blockCos.attach(scope);
                blockSin.attach(scope);
                NDArray rotatedHalves = Ops.rotateHalf(block).muli(blockSin);
                block.muli(blockCos).addi(rotatedHalves);
            }
        }
    }
}
