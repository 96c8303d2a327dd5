package io.github.qwenvl;

/**
 * A request was stopped before it finished: its client went away, it ran past its deadline, or the model is shutting
 * down (requests that arrive while the model closes end with this exception too, reason {@link Reason#SHUTDOWN},
 * before any work). Everything the request held is freed by the time it is thrown.
 */
public class RequestCancelledException extends QwenVlException {

    /** Why a request was cancelled. */
    public enum Reason {
        /** The caller cancelled it ({@link CancellationToken#cancel}, {@link GenerationListener#isCancelled}). */
        CLIENT,
        /** Its deadline passed ({@link CancellationToken#withTimeout}). */
        TIMEOUT,
        /** The model is closing. */
        SHUTDOWN
    }

    private final Reason reason;

    public RequestCancelledException(Reason reason, String message) {
        super(message);
        this.reason = java.util.Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
