package io.github.qwenvl.engine;

import io.github.qwenvl.CancellationToken;

/**
 * The places inside the networks where a running request can be stopped. The architectures call
 * {@link #reached} between vision blocks, attention blocks and prefill layers; {@link io.github.qwenvl.QwenVlModel}
 * installs the request's check for the thread that runs it, so the networks need no request parameter. Outside a
 * request (tests driving a network directly) a checkpoint does nothing.
 */
public final class Checkpoints {

    /** A request's check: throws {@link io.github.qwenvl.RequestCancelledException} to stop it. */
    @FunctionalInterface
    public interface Check {
        void reached(CancellationToken.Checkpoint checkpoint, int index);
    }

    /** Restores the thread's previous check when closed. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    private static final ThreadLocal<Check> CURRENT = new ThreadLocal<>();

    private Checkpoints() {
    }

    /** Checks the current thread's request, if any: throws when it is cancelled. */
    public static void reached(CancellationToken.Checkpoint checkpoint, int index) {
        Check check = CURRENT.get();
        if (check != null) {
            check.reached(checkpoint, index);
        }
    }

    /** Makes {@code check} the current thread's until the returned scope is closed. */
    public static Scope enter(Check check) {
        Check previous = CURRENT.get();
        CURRENT.set(check);
        return () -> {
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        };
    }
}
