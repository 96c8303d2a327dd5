package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;

/**
 * Receives named intermediate tensors (patch embeddings, block outputs, ...) during a forward pass,
 * for debugging and for the golden tests. {@link #NONE} records nothing and costs nothing. A value is only valid
 * during the call (layers free their intermediates when they end): copy what you keep.
 */
@FunctionalInterface
public interface Trace {

    Trace NONE = (name, value) -> {
    };

    void record(String name, NDArray value);

    default boolean enabled() {
        return this != NONE;
    }
}
