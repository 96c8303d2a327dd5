package io.github.qwenvl.generate;

/**
 * One request's language-model state (its KV cache) for an architecture: prefill the prompt, then
 * feed one token at a time. Implementations free all native memory in {@link #close()}.
 */
public interface DecodingSession extends AutoCloseable {

    /** Runs the prompt; returns the logits (V) of its last position. */
    float[] prefill();

    /** Appends one token; returns the logits (V) for the position after it. */
    float[] next(int token);

    /** Prompt ids, as the model sees them (image tokens expanded). */
    int[] promptIds();

    @Override
    void close();
}
