package io.github.qwenvl.nn.cpu;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small fixed set of threads for the decode kernels. {@link #run} hands out a range in blocks of
 * {@code grain} items: the calling thread and up to {@code threads - 1} daemon workers take blocks until none
 * is left, and the call returns when every block is done. Blocks are taken dynamically, so a thread that the
 * OS deschedules (other processes on the same cores) does not hold the others up, and a worker still busy with
 * another request's job is simply not waited for. Results do not depend on which thread ran a block as long as
 * items are independent (matrix rows, attention heads): concurrent requests reproduce their serial runs bit for bit.
 */
public final class DecodeThreads implements AutoCloseable {

    /** The work of one block [from, to), run by participant {@code worker} (0 = the caller, < {@link #threads()}). */
    @FunctionalInterface
    public interface Chunk {
        void run(int worker, int from, int to);
    }

    private static final AtomicInteger POOLS = new AtomicInteger();
    /** Busy-wait iterations before the waiting caller starts yielding its core. */
    private static final int SPINS = 4096;

    private final int threads;
    private final ExecutorService pool;

    public DecodeThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1");
        }
        this.threads = threads;
        if (threads == 1) {
            this.pool = null;
        } else {
            int id = POOLS.incrementAndGet();
            AtomicInteger n = new AtomicInteger();
            this.pool = Executors.newFixedThreadPool(threads - 1, r -> {
                Thread t = new Thread(r, "qwenvl-decode-" + id + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code chunk} over [0, n) in blocks of {@code grain} items, on up to {@link #threads()} threads. */
    public void run(int n, int grain, Chunk chunk) {
        if (n <= 0) {
            return;
        }
        int g = Math.max(1, grain);
        int blocks = (n + g - 1) / g;
        int helpers = Math.min(threads, blocks) - 1;
        if (helpers <= 0) {
            chunk.run(0, 0, n);
            return;
        }
        Job job = new Job(n, g, chunk);
        for (int w = 1; w <= helpers; w++) {
            int worker = w;
            pool.execute(() -> job.work(worker));
        }
        job.work(0);
        job.awaitDone();
        Throwable failure = job.failure;
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    private static final class Job {
        private final int n;
        private final int grain;
        private final Chunk chunk;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private volatile Throwable failure;

        Job(int n, int grain, Chunk chunk) {
            this.n = n;
            this.grain = grain;
            this.chunk = chunk;
        }

        void work(int worker) {
            while (true) {
                int from = next.getAndAdd(grain);
                if (from >= n) {
                    return;
                }
                int to = Math.min(n, from + grain);
                try {
                    chunk.run(worker, from, to);
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    }
                } finally {
                    done.addAndGet(to - from);
                }
            }
        }

        /** Until every block, also those taken by workers, is finished (the counter publishes their writes). */
        void awaitDone() {
            int spins = 0;
            while (done.get() < n) {
                if (++spins < SPINS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
