package io.github.qwenvl;

/** Receives streamed text. Deltas never split a UTF-8 character; their concatenation is the final text. */
@FunctionalInterface
public interface GenerationListener {

    void onText(String delta);

    /** Polled once per token: return true to stop (the request's KV cache is freed at once). */
    default boolean isCancelled() {
        return false;
    }
}
