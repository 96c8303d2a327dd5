package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.function.UnaryOperator;

/**
 * Frees a layer's intermediates as soon as the layer is done. DJL attaches an op's result to the
 * manager of its first operand, so the layer input is moved into a short-lived manager: everything
 * computed from it lands there, and only the output is moved back. Without this, a 32-block vision
 * tower keeps every block's attention matrices alive until the whole tower returns.
 */
public final class Scopes {

    private Scopes() {
    }

    /**
     * Runs {@code layer} on {@code input} in a child manager of {@code parent} and returns the output
     * attached to {@code parent}.
     *
     * @param consumeInput true to free {@code input} with the intermediates (it is not needed after the
     *                     layer); false to give it back to its manager untouched
     */
    public static NDArray run(NDManager parent, NDArray input, boolean consumeInput, UnaryOperator<NDArray> layer) {
        try (NDManager scope = parent.newSubManager()) {
            if (consumeInput) {
                input.attach(scope);
            } else {
                scope.tempAttachAll(input);
            }
            NDArray output = layer.apply(input);
            output.attach(parent);
            return output;
        }
    }
}
