package io.github.qwenvl.generate;

import io.github.qwenvl.QwenVlException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Continuous batching of decode steps: the running sequences of one decoder join and leave a shared decode step at
 * token boundaries, and one step computes the next-token logits of all of them ({@link Step}).
 *
 * <p>Each request keeps running its own {@link GenerationLoop} on its own thread (sampling, stop rules, seed, listener
 * and cancellation stay per request). Its session {@link #join joins} the batcher when it starts decoding and hands
 * every token to {@link Sequence#next}, which waits until the batcher's thread has run a step that included it and
 * returns a copy of its logits. A step starts as soon as every joined sequence is waiting, when {@code maxBatchSize}
 * are waiting, or, should a joined sequence not be back yet (its sampling, a slow listener), after a short grace
 * ({@link #graceNanos}) with those that are. A sequence leaves when its session closes, so one that finishes or is
 * cancelled between steps never holds the others up. A failing step fails the sequences of that step (each gets a
 * {@link QwenVlException} carrying the cause); the batcher goes on with the others.
 *
 * <p>Cancellation: a request's {@link io.github.qwenvl.CancellationToken} is seen by its token loop after the step
 * it waits for (one step, as without batching). A thread interrupted while its token waits for a step that has not
 * started withdraws it and gets {@link Withdrawn} ({@link GenerationLoop} ends such a request as CANCELLED); one
 * interrupted while its step runs waits for that step, since the step writes to its state, and keeps the interrupt.
 *
 * <p>CPU share with new requests: a request's vision tower and prefill are compute-bound and compete with the decode
 * steps for the same cores. Such work reports every checkpoint (between vision blocks and prefill layers, see
 * {@link io.github.qwenvl.engine.Checkpoints}) to its {@link PrefillShare}: once it has computed for about one step's
 * time since it last let a step through, it waits ({@link #yieldToDecode()}) while a decode step is running or due.
 * Running streams and new requests then take turns of about a step each, so a running stream's longest pause while a
 * request is admitted is about one vision block or prefill layer plus one step, not the whole vision pass and
 * prefill; the new request shares the CPU with the streams until its first token.
 *
 * @param <S> the decoder's per-sequence state (its KV cache)
 */
public final class DecodeBatcher<S> implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DecodeBatcher.class);

    /** The decoder's batched step: one token per state, logits per state in the same order. */
    @FunctionalInterface
    public interface Step<S> {
        /**
         * @return logits (V) per state; the batcher copies them before the next step, so they may belong to the state
         */
        float[][] step(List<S> states, int[] tokens, long[] positions);
    }

    /** Thrown by {@link Sequence#next} to a thread interrupted while its token waited for a step: no step ran it. */
    public static final class Withdrawn extends RuntimeException {
        Withdrawn() {
            super("interrupted while waiting for a decode step; the token was withdrawn", null, false, false);
        }
    }

    /**
     * What the batcher is doing: for health and status pages.
     *
     * @param maxBatchSize  most sequences per step
     * @param decoding      sequences joined now (decoding, between their first token and their end)
     * @param batchSize     sequences of the last step while any are decoding, else 0: the current batch
     * @param largestBatch  most sequences one step has computed so far
     * @param steps         steps run so far
     * @param tokens        tokens computed so far (the steps' sizes summed)
     */
    public record Stats(int maxBatchSize, int decoding, int batchSize, int largestBatch, long steps, long tokens) {
    }

    /** Longest adaptive grace for a joined sequence that is not yet back (its sampling, its listener). */
    private static final long MAX_ADAPTIVE_GRACE_NANOS = 50_000_000;

    private final String name;
    private final int maxBatchSize;
    private final Step<S> step;
    private final long leastGraceNanos;
    private final Object lock = new Object();
    /** Waiting tokens, oldest first; guarded by {@link #lock}. */
    private final ArrayDeque<Entry<S>> pending = new ArrayDeque<>();
    /** Sequences joined and not closed; guarded by {@link #lock}. */
    private int joined;
    private boolean closed;
    private Thread thread;
    private long steps;
    private long tokens;
    private int lastBatchSize;
    private int largestBatch;
    private long lastStepNanos;
    private boolean stepRunning;

    /**
     * @param name         for the thread's name and logs
     * @param maxBatchSize most sequences one step computes (at least 1); more wait for the next step, oldest first
     * @param step         the decoder's step; called by one thread at a time, the batcher's
     */
    public DecodeBatcher(String name, int maxBatchSize, Step<S> step) {
        this(name, maxBatchSize, io.github.qwenvl.EngineTuning.DEFAULTS.batchGraceNanos(), step);
    }

    /**
     * @param leastGraceNanos least time a step waits for a joined sequence that is not back yet ({@link
     *                        io.github.qwenvl.EngineTuning#batchGraceNanos()})
     */
    public DecodeBatcher(String name, int maxBatchSize, long leastGraceNanos, Step<S> step) {
        this.leastGraceNanos = Math.max(0, leastGraceNanos);
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be at least 1, was " + maxBatchSize);
        }
        this.name = java.util.Objects.requireNonNull(name, "name");
        this.maxBatchSize = maxBatchSize;
        this.step = java.util.Objects.requireNonNull(step, "step");
    }

    public int maxBatchSize() {
        return maxBatchSize;
    }

    /** Registers a sequence that is about to decode; close it when the sequence ends. */
    public Sequence join(S state) {
        java.util.Objects.requireNonNull(state, "state");
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("decode batcher " + name + " is closed");
            }
            if (thread == null) {
                thread = new Thread(this::loop, "qwenvl-decode-batcher-" + name);
                thread.setDaemon(true);
                thread.start();
            }
            joined++;
            return new Sequence(state);
        }
    }

    public Stats stats() {
        synchronized (lock) {
            return new Stats(maxBatchSize, joined, joined == 0 ? 0 : lastBatchSize, largestBatch, steps, tokens);
        }
    }

    /**
     * How long a due step waits for joined sequences not yet back: a quarter of the last step (at most 50 ms), or the
     * least grace where that is longer (0.5 ms by default). A sequence samples its next token well within it; one that
     * is slower (a listener blocked on a slow client) joins the next step. Waiting a quarter step for a sequence costs
     * the others less than that sequence loses by missing a whole step.
     */
    long graceNanos() {
        return Math.max(leastGraceNanos, Math.min(MAX_ADAPTIVE_GRACE_NANOS, lastStepNanos / 4));
    }

    /** One joined sequence: hands its tokens to the shared steps. Not thread-safe: one token at a time. */
    public final class Sequence implements AutoCloseable {
        private final S state;
        private boolean left;

        private Sequence(S state) {
            this.state = state;
        }

        /**
         * Appends {@code token} at rotary {@code position} in the next step that includes this sequence and returns
         * its logits for the following token (a copy, this caller's to keep).
         *
         * @throws Withdrawn         when this thread was interrupted before a step took the token
         * @throws QwenVlException   when the step failed (the cause attached) or the batcher was closed
         */
        public float[] next(int token, long position) {
            Entry<S> e = new Entry<>(state, token, position);
            boolean interrupted = false;
            synchronized (lock) {
                if (left) {
                    throw new IllegalStateException("sequence already left the batcher");
                }
                if (closed) {
                    throw new QwenVlException("decode batcher " + name + " is closed");
                }
                pending.addLast(e);
                lock.notifyAll();
                while (!e.done) {
                    try {
                        lock.wait();
                    } catch (InterruptedException ie) {
                        if (!e.taken) {
                            pending.remove(e);
                            lock.notifyAll(); // the batcher may have been waiting for this sequence
                            Thread.currentThread().interrupt();
                            throw new Withdrawn();
                        }
                        interrupted = true; // its step runs: wait for it, it writes to this sequence's state
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (e.error != null) {
                throw new QwenVlException("decode step failed: " + e.error, e.error);
            }
            return e.logits;
        }

        /** Leaves the batcher; steps no longer wait for this sequence. Idempotent. */
        @Override
        public void close() {
            synchronized (lock) {
                if (!left) {
                    left = true;
                    joined--;
                    lock.notifyAll();
                }
            }
        }
    }

    /**
     * Called by a request's vision tower and prefill at each checkpoint (between vision blocks and prefill layers):
     * while sequences are decoding and a step is running or due, waits until that step is done, so a running stream
     * gets its step between two blocks of another request's prefill instead of sharing the cores with all of it.
     * Returns at once when no sequence is decoding. Only waits for a step, which depends on nothing the caller may
     * hold (the prefill's layer buffers), so it cannot deadlock; an interrupt ends the wait (and is kept).
     */
    /** A new request's share of the CPU between decode steps, for its vision tower and prefill (one per request). */
    public PrefillShare prefillShare() {
        return new PrefillShare();
    }

    /**
     * One request's vision and prefill work, taking turns with the decode steps: see {@link #checkpoint()}. Used by the
     * request's own thread.
     */
    public final class PrefillShare {
        private long sliceStart = System.nanoTime();

        private PrefillShare() {
        }

        /**
         * At a checkpoint of the request's vision tower or prefill: once it has computed for about as long as the last
         * decode step took since it last let one through, waits for the step that is running or due
         * ({@link #yieldToDecode()}); otherwise returns at once.
         */
        public void checkpoint() {
            long slice;
            synchronized (lock) {
                slice = lastStepNanos;
            }
            if (System.nanoTime() - sliceStart < slice) {
                return;
            }
            yieldToDecode();
            sliceStart = System.nanoTime();
        }
    }

    public void yieldToDecode() {
        synchronized (lock) {
            if (closed || joined == 0 || !stepRunning && pending.isEmpty()) {
                return;
            }
            long target = steps + 1; // the step running now, or the next one
            while (!closed && joined > 0 && steps < target) {
                try {
                    lock.wait(1000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void loop() {
        List<Entry<S>> batch = new ArrayList<>(maxBatchSize);
        while (true) {
            synchronized (lock) {
                long readySince = 0;
                while (true) {
                    if (closed) {
                        return;
                    }
                    if (!pending.isEmpty()) {
                        if (pending.size() >= joined || pending.size() >= maxBatchSize) {
                            break;
                        }
                        long now = System.nanoTime();
                        if (readySince == 0) {
                            readySince = now;
                        }
                        long left = graceNanos() - (now - readySince);
                        if (left <= 0) {
                            break;
                        }
                        waitNanos(left);
                    } else {
                        readySince = 0;
                        waitNanos(0);
                    }
                }
                batch.clear();
                while (batch.size() < maxBatchSize && !pending.isEmpty()) {
                    Entry<S> e = pending.pollFirst();
                    e.taken = true;
                    batch.add(e);
                }
                stepRunning = true;
            }
            run(batch);
        }
    }

    /** Waits on the lock for up to {@code nanos} (0: until notified); the batcher's thread is never interrupted. */
    private void waitNanos(long nanos) {
        try {
            if (nanos == 0) {
                lock.wait();
            } else {
                TimeUnit.NANOSECONDS.timedWait(lock, nanos);
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            synchronized (lock) {
                closed = true;
            }
        }
    }

    private void run(List<Entry<S>> batch) {
        int n = batch.size();
        List<S> states = new ArrayList<>(n);
        int[] ids = new int[n];
        long[] positions = new long[n];
        for (int i = 0; i < n; i++) {
            Entry<S> e = batch.get(i);
            states.add(e.state);
            ids[i] = e.token;
            positions[i] = e.position;
        }
        float[][] logits = null;
        Throwable failure = null;
        long start = System.nanoTime();
        try {
            logits = step.step(states, ids, positions);
            if (logits == null || logits.length != n) {
                throw new IllegalStateException("the step returned " + (logits == null ? "null" : logits.length + " rows")
                        + " for " + n + " sequences");
            }
            for (int i = 0; i < n; i++) {
                logits[i] = logits[i].clone(); // the step's arrays belong to the states
            }
        } catch (Throwable t) { // fails this step's sequences, whatever it was; the batcher goes on
            failure = t;
            LOG.warn("Decode step of {} sequence(s) failed in batcher {}", n, name, t);
        }
        long took = System.nanoTime() - start;
        synchronized (lock) {
            for (int i = 0; i < n; i++) {
                Entry<S> e = batch.get(i);
                if (failure == null) {
                    e.logits = logits[i];
                } else {
                    e.error = failure;
                }
                e.done = true;
            }
            steps++;
            tokens += n;
            lastBatchSize = n;
            largestBatch = Math.max(largestBatch, n);
            lastStepNanos = took;
            stepRunning = false;
            lock.notifyAll();
        }
    }

    /**
     * Stops the batcher's thread after the step in progress; tokens still waiting fail with a {@link QwenVlException}.
     * The model closes it once every request has left. Idempotent.
     */
    @Override
    public void close() {
        Thread t;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            for (Entry<S> e : pending) {
                e.error = new QwenVlException("decode batcher " + name + " was closed");
                e.done = true;
            }
            pending.clear();
            lock.notifyAll();
            t = thread;
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(60));
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** One sequence's token waiting for, or in, a step. Fields guarded by the batcher's lock. */
    private static final class Entry<S> {
        final S state;
        final int token;
        final long position;
        boolean taken;
        boolean done;
        float[] logits;
        Throwable error;

        Entry(S state, int token, long position) {
            this.state = state;
            this.token = token;
            this.position = position;
        }
    }
}
