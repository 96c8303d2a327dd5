package io.github.qwenvl.spring;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Admission control: at most {@code maxConcurrent} generations run at once, at most {@code maxQueued}
 * wait, and none waits longer than {@code maxWait}. On a CPU, parallel generations only share the same
 * cores, so queueing keeps each request fast instead of making all of them slow.
 *
 * <p>With a {@code sharesSteps} condition, the {@code maxConcurrent} generations are admitted together only while it
 * holds (the model's decode steps are batched, so running generations share each pass over the weights); while it
 * does not (a model decoding each generation alone, or none loaded yet) they run one at a time.
 */
public final class RequestGate {

    private final Semaphore running;
    private final Semaphore alone = new Semaphore(1, true);
    private final int maxConcurrent;
    private final int maxQueued;
    private final Duration maxWait;
    private final BooleanSupplier sharesSteps;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger waitingAlone = new AtomicInteger(); // hold a slot, wait for their turn alone

    public RequestGate(int maxConcurrent, int maxQueued, Duration maxWait) {
        this(maxConcurrent, maxQueued, maxWait, () -> true);
    }

    /**
     * @param sharesSteps asked at each admission: true lets up to {@code maxConcurrent} generations run together,
     *                    false runs them one at a time (within the same queue and wait limits)
     */
    public RequestGate(int maxConcurrent, int maxQueued, Duration maxWait, BooleanSupplier sharesSteps) {
        if (maxConcurrent < 1 || maxQueued < 0) {
            throw new IllegalArgumentException("maxConcurrent must be >= 1 and maxQueued >= 0");
        }
        this.running = new Semaphore(maxConcurrent, true);
        this.maxConcurrent = maxConcurrent;
        this.maxQueued = maxQueued;
        this.maxWait = maxWait;
        this.sharesSteps = java.util.Objects.requireNonNull(sharesSteps, "sharesSteps");
    }

    /** Waits for a slot; the returned permit must be closed. */
    public Permit acquire() {
        long deadline = System.nanoTime() + maxWait.toNanos();
        Permit slot = acquireSlot();
        if (maxConcurrent == 1 || sharesSteps.getAsBoolean()) {
            return slot;
        }
        waitingAlone.incrementAndGet();
        try {
            if (!alone.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                slot.close();
                throw new ModelBusyException("The model is busy: no generation slot became free within " + maxWait);
            }
        } catch (InterruptedException e) {
            slot.close();
            Thread.currentThread().interrupt();
            throw new ModelBusyException("Interrupted while waiting for a generation slot");
        } finally {
            waitingAlone.decrementAndGet();
        }
        return () -> {
            alone.release();
            slot.close();
        };
    }

    private Permit acquireSlot() {
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
        return maxConcurrent - running.availablePermits() - waitingAlone.get();
    }

    public int waiting() {
        return waiting.get() + waitingAlone.get();
    }

    /** A held slot. */
    @FunctionalInterface
    public interface Permit extends AutoCloseable {
        @Override
        void close();
    }
}
