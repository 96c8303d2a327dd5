package io.github.qwenvl;

/** Receives streamed text. Deltas never split a UTF-8 character; their concatenation is the final text. */
@FunctionalInterface
public interface GenerationListener {

    void onText(String delta);

    /**
     * Return true to stop the request (its memory is freed at once). Polled after every token, where it ends the
     * request with the text so far ({@code FinishReason.CANCELLED}), and before the first token between the vision
     * tower's and the prefill's blocks, where it ends it with {@link RequestCancelledException} (reason CLIENT). It
     * must answer at once: inside a forward pass it is polled while the pass holds the network's layer buffers.
     */
    default boolean isCancelled() {
        return false;
    }
}
