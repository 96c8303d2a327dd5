package io.github.qwenvl.nn.cpu;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small fixed set of threads for the decode kernels: {@link #run} splits a range into {@code threads}
 * contiguous chunks, runs chunk 0 on the calling thread and the others on daemon workers, and returns when
 * all are done. Chunk bounds depend only on the range and the thread count, so results never depend on
 * scheduling (concurrent requests reproduce their serial runs bit for bit).
 */
public final class DecodeThreads implements AutoCloseable {

    /** The work of one chunk. */
    @FunctionalInterface
    public interface Chunk {
        void run(int chunk, int from, int to);
    }

    private static final AtomicInteger POOLS = new AtomicInteger();

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

    /** Runs {@code chunk} over [0, n) in {@link #threads()} pieces (fewer when n is smaller). */
    public void run(int n, Chunk chunk) {
        int parts = Math.min(threads, n);
        if (parts <= 1) {
            if (n > 0) {
                chunk.run(0, 0, n);
            }
            return;
        }
        @SuppressWarnings("unchecked")
        Future<?>[] futures = new Future<?>[parts - 1];
        for (int c = 1; c < parts; c++) {
            int from = (int) ((long) n * c / parts);
            int to = (int) ((long) n * (c + 1) / parts);
            int index = c;
            futures[c - 1] = pool.submit(() -> chunk.run(index, from, to));
        }
        Throwable failure = null;
        try {
            chunk.run(0, 0, (int) ((long) n / parts));
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        boolean interrupted = false;
        for (Future<?> f : futures) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause();
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
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

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
