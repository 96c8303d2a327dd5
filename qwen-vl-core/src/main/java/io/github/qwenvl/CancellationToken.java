package io.github.qwenvl;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Stops one request: cancelled by its caller ({@link #cancel}), by its deadline ({@link #withTimeout}) or by the
 * model's {@link QwenVlModel#close()}. The engine checks it between generated tokens and, before the first token,
 * between the vision tower's blocks, its attention's query blocks and head groups, and between the prefill's layers
 * and query blocks, so a cancelled request leaves the engine within one block and ends with a
 * {@link RequestCancelledException} that carries the reason.
 *
 * <pre>{@code
 * CancellationToken token = CancellationToken.withTimeout(Duration.ofSeconds(30));
 * onClientGone(() -> token.cancel(RequestCancelledException.Reason.CLIENT));
 * model.stream(request, listener, token);
 * }</pre>
 *
 * <p>Thread-safe; the first reason given wins. One token per request.
 */
public final class CancellationToken {

    /** Where the engine checks a request's token. */
    public enum Checkpoint {
        /** Before each block of a vision tower (index: the block). */
        VISION_BLOCK,
        /** Before each query-row block or head group of a vision block's attention (index: its first row or head). */
        VISION_ATTENTION,
        /** Before each decoder layer of the prefill (index: the layer). */
        PREFILL_LAYER,
        /** Before each query-row block of a prefill layer's attention (index: its first row). */
        PREFILL_ATTENTION,
        /** After each generated token (index: the token's position in the answer). */
        TOKEN
    }

    /** Sees every checkpoint a request passes, before the token is checked there (diagnostics and tests). */
    @FunctionalInterface
    public interface Observer {
        void reached(Checkpoint checkpoint, int index);
    }

    private final long deadlineNanos; // System.nanoTime() based; meaningful only with a timeout
    private final Duration timeout;   // null: no deadline
    private final AtomicReference<RequestCancelledException.Reason> reason = new AtomicReference<>();
    private volatile Observer observer;

    private CancellationToken(Duration timeout) {
        this.timeout = timeout;
        this.deadlineNanos = timeout == null ? 0 : System.nanoTime() + timeout.toNanos();
    }

    /** A token without a deadline, cancelled only by {@link #cancel} (or the model's close). */
    public static CancellationToken create() {
        return new CancellationToken(null);
    }

    /** A token whose deadline is {@code timeout} from now. */
    public static CancellationToken withTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be zero or positive: " + timeout);
        }
        return new CancellationToken(timeout);
    }

    /**
     * Cancels the request (the first reason given wins).
     *
     * @return true when this call cancelled it, false when it already was
     */
    public boolean cancel(RequestCancelledException.Reason why) {
        return reason.compareAndSet(null, java.util.Objects.requireNonNull(why, "reason"));
    }

    /** Why the request is cancelled, or null while it is not (a passed deadline counts as {@code TIMEOUT}). */
    public RequestCancelledException.Reason reason() {
        RequestCancelledException.Reason r = reason.get();
        if (r == null && timeout != null && System.nanoTime() - deadlineNanos > 0) {
            reason.compareAndSet(null, RequestCancelledException.Reason.TIMEOUT);
            r = reason.get();
        }
        return r;
    }

    public boolean isCancelled() {
        return reason() != null;
    }

    /** The timeout this token was made with, or null. */
    public Duration timeout() {
        return timeout;
    }

    /** Throws {@link RequestCancelledException} when the request is cancelled. */
    public void throwIfCancelled() {
        RequestCancelledException.Reason r = reason();
        if (r != null) {
            throw exception(r);
        }
    }

    /** Installs an observer of the checkpoints this token's request passes; returns this token. */
    public CancellationToken observe(Observer o) {
        this.observer = o;
        return this;
    }

    void reached(Checkpoint checkpoint, int index) {
        Observer o = observer;
        if (o != null) {
            o.reached(checkpoint, index);
        }
    }

    RequestCancelledException exception(RequestCancelledException.Reason r) {
        return new RequestCancelledException(r, switch (r) {
            case CLIENT -> "The request was cancelled by its client";
            case TIMEOUT -> "The request ran past its timeout of " + timeout + " and was stopped";
            case SHUTDOWN -> "The model is shutting down; the request was stopped";
        });
    }
}
