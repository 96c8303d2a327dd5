package io.github.qwenvl.generate;

/** Why generation ended. */
public enum FinishReason {
    /** The model produced an end-of-sequence token. */
    EOS,
    /** The text reached one of the request's stop sequences. */
    STOP_SEQUENCE,
    /** maxNewTokens were generated. */
    LENGTH,
    /** The caller cancelled (e.g. a stream subscriber went away). */
    CANCELLED
}
