package io.github.qwenvl.spring;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admission control: at most {@code maxConcurrent} generations run at once, at most {@code maxQueued}
 * wait, and none waits longer than {@code maxWait}. On a CPU, parallel generations only share the same
 * cores, so queueing keeps each request fast instead of making all of them slow.
 */
public final class RequestGate {

    private final Semaphore running;
    private final int maxConcurrent;
    private final int maxQueued;
    private final Duration maxWait;
    private final AtomicInteger waiting = new AtomicInteger();

    public RequestGate(int maxConcurrent, int maxQueued, Duration maxWait) {
        if (maxConcurrent < 1 || maxQueued < 0) {
            throw new IllegalArgumentException("maxConcurrent must be >= 1 and maxQueued >= 0");
        }
        this.running = new Semaphore(maxConcurrent, true);
        this.maxConcurrent = maxConcurrent;
        this.maxQueued = maxQueued;
        this.maxWait = maxWait;
    }

    /** Waits for a slot; the returned permit must be closed. */
    public Permit acquire() {
        if (running.tryAcquire()) {
            return this::release;
        }
        if (waiting.incrementAndGet() > maxQueued) {
            waiting.decrementAndGet();
            throw new ModelBusyException("The model is busy: " + maxConcurrent + " request(s) running and "
                    + maxQueued + " waiting; try again later");
        }
        try {
            if (!running.tryAcquire(maxWait.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new ModelBusyException("The model is busy: no generation slot became free within " + maxWait);
            }
            return this::release;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelBusyException("Interrupted while waiting for a generation slot");
        } finally {
            waiting.decrementAndGet();
        }
    }

    private void release() {
        running.release();
    }

    /** Most generations admitted at once. */
    public int limit() {
        return maxConcurrent;
    }

    public int running() {
        return maxConcurrent - running.availablePermits();
    }

    public int waiting() {
        return waiting.get();
    }

    /** A held slot. */
    @FunctionalInterface
    public interface Permit extends AutoCloseable {
        @Override
        void close();
    }
}
