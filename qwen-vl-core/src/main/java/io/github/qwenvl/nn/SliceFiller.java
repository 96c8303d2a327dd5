package io.github.qwenvl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.checkpoint.TensorInfo;
import io.github.qwenvl.checkpoint.TensorStore;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Fills float32 CPU engine tensors from a checkpoint in row slices of about {@link #sliceElements}, each written
 * through a view of the tensor's own memory: no Java buffer of a whole tensor (a ByteBuffer holds at most 2 GiB;
 * Qwen-VL-Chat's float32 embedding is 2.5 GB) and nothing counted against the JVM's direct-memory limit.
 *
 * <p>With more than one thread the slices are queued on fill threads, so page faults and conversion run on every
 * core while the model goes on declaring weights: callers must {@link #finish()} before computing with any filled
 * tensor, and close the filler (which waits for queued slices) before the tensors' manager may be closed. Views are
 * taken on the caller's thread (the engine's managers are not shared with the fill threads).
 */
public final class SliceFiller implements AutoCloseable {

    /** Reads elements [fromElement, fromElement + count) of a tensor as float32 (native order) into target. */
    @FunctionalInterface
    public interface RangeReader {
        void read(ByteBuffer target, long fromElement, long count);
    }

    /** Elements per slice ({@link io.github.qwenvl.EngineTuning#loadSliceElements}, 64 MB of float32 by default). */
    private final long sliceElements;

    private final ExecutorService threads; // null: fill on the caller's thread
    private final List<Future<?>> pending = new ArrayList<>();
    private final String source;
    // progress lines: stored bytes whose values are in engine tensors (filled, or mapped without a copy)
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SliceFiller.class);
    /** Checkpoints below this size load too fast to be worth progress lines. */
    static final long PROGRESS_THRESHOLD_BYTES = 256L << 20;
    private final long progressTotal;
    private final java.util.concurrent.atomic.AtomicLong progressDone = new java.util.concurrent.atomic.AtomicLong();
    private int reportedTenths;
    private final long startNanos = System.nanoTime();

    /**
     * @param fillThreads threads that fill queued slices (1 or less: every slice is filled before {@link #fill} returns)
     * @param source      what is read, for error messages
     */
    public SliceFiller(int fillThreads, String source) {
        this(fillThreads, source, 0);
    }

    /**
     * @param storedBytesTotal the stored bytes of every tensor that will be loaded: from 256 MiB up, a log line at every
     *                         10 % of them actually filled (with fill threads the declarations run ahead of the fills)
     */
    public SliceFiller(int fillThreads, String source, long storedBytesTotal) {
        this(fillThreads, source, storedBytesTotal, io.github.qwenvl.EngineTuning.DEFAULTS.loadSliceElements());
    }

    /** @param sliceElements elements widened and written per slice */
    public SliceFiller(int fillThreads, String source, long storedBytesTotal, long sliceElements) {
        this.sliceElements = sliceElements;
        this.source = source;
        this.progressTotal = storedBytesTotal;
        this.threads = fillThreads > 1 ? Executors.newFixedThreadPool(fillThreads, r -> {
            Thread t = new Thread(r, "qwen-vl-weight-fill");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /**
     * Tensor {@code name} of {@code store} as an engine tensor of {@code type} on {@code manager}'s device: the mapped
     * region itself where float32 bytes are at hand (the float32 weight cache's copy, else a float32-stored tensor:
     * no copy, never modified in place), otherwise filled in slices (queued on the CPU in float32; for a GPU or a
     * cast, filled on the CPU first).
     *
     * @param float32Cache float32 copies of the store's 16-bit tensors ({@link io.github.qwenvl.checkpoint.Float32WeightCache}), or null
     */
    public NDArray load(TensorStore store, SafetensorsCheckpoint float32Cache, String name, NDManager manager,
                        DataType type) {
        TensorInfo info = store.info(name);
        Shape shape = new Shape(info.shape());
        double storedPerElement = (double) info.length() / Math.max(1, info.elementCount());
        RangeReader reader = (target, from, count) -> {
            store.readFloat32Range(name, target, from, count);
            progress(Math.round(count * storedPerElement));
        };
        NDArray array;
        if (float32Cache != null && float32Cache.contains(name) && float32Cache.isZeroCopyFloat32(name)
                && float32Cache.info(name).elementCount() == info.elementCount()) {
            array = manager.create(float32Cache.float32Buffer(name), shape, DataType.FLOAT32);
            progress(info.length());
        } else if (store.isZeroCopyFloat32(name)) {
            array = manager.create(store.float32Buffer(name), shape, DataType.FLOAT32);
            progress(info.length());
        } else if (manager.getDevice().isGpu()) {
            try (NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
                array = fill(cpu, info.shape(), reader, false).toDevice(manager.getDevice(), true);
                array.attach(manager);
            }
        } else {
            // a cast below reads the values, so only a float32 tensor may be filled later
            array = fill(manager, info.shape(), reader, type == DataType.FLOAT32);
        }
        if (type != DataType.FLOAT32 || !manager.getDevice().equals(array.getDevice())) {
            NDArray converted = array.toDevice(manager.getDevice(), false).toType(type, false);
            if (converted != array) {
                array.close();
                array = converted;
            }
        }
        array.setName(name);
        return array;
    }

    /**
     * An uninitialised float32 tensor of {@code shape} on {@code owner} (CPU), filled by {@code reader}: queued when
     * the filler has threads and {@code queue} is true, else before this returns.
     */
    public NDArray fill(NDManager owner, long[] shape, RangeReader reader, boolean queue) {
        NDArray host = owner.create(new Shape(shape), DataType.FLOAT32); // torch::empty: every element is written
        long elements = host.size();
        long rows = shape.length == 0 ? 1 : shape[0];
        long rowElements = rows == 0 ? 0 : elements / rows;
        long rowsPerSlice = shape.length < 2 ? rows : Math.max(1, sliceElements / Math.max(1, rowElements));
        for (long r0 = 0; r0 < rows; r0 += rowsPerSlice) {
            long r1 = Math.min(rows, r0 + rowsPerSlice);
            ByteBuffer target;
            if (r0 == 0 && r1 == rows) {
                target = ((PtNDArray) host).toByteBuffer(true);
            } else {
                // a view of rows [r0, r1): its buffer addresses the host tensor's memory, which host keeps alive
                try (NDArray view = host.get(new NDIndex("{}:{}", r0, r1))) {
                    target = ((PtNDArray) view).toByteBuffer(true);
                }
            }
            long from = r0 * rowElements;
            long count = (r1 - r0) * rowElements;
            if (threads != null && queue) {
                pending.add(threads.submit(() -> reader.read(target, from, count)));
            } else {
                reader.read(target, from, count);
            }
        }
        return host;
    }

    /** Counts stored bytes that are used in place (mapped), for the progress lines. */
    public void countMapped(long storedBytes) {
        progress(storedBytes);
    }

    /** Stored bytes whose values are in engine tensors so far (what the progress lines report). */
    long filledStoredBytes() {
        return progressDone.get();
    }

    /** Counts filled stored bytes; logs each further 10 % of a large checkpoint (from any fill thread). */
    private void progress(long storedBytes) {
        long done = progressDone.addAndGet(storedBytes);
        if (progressTotal < PROGRESS_THRESHOLD_BYTES) {
            return;
        }
        int tenths = (int) Math.min(10, done * 10 / progressTotal);
        synchronized (this) {
            if (tenths > reportedTenths) {
                reportedTenths = tenths;
                LOG.info("Loading weights from {}: {}% ({} of {} MiB) in {} s", source, tenths * 10, done >> 20,
                        progressTotal >> 20, String.format(java.util.Locale.ROOT, "%.1f",
                                (System.nanoTime() - startNanos) / 1e9));
            }
        }
    }

    /** Waits until every queued slice is filled; rethrows the first failure (a truncated file, say). */
    public void finish() {
        RuntimeException failure = null;
        for (Future<?> f : pending) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException re ? re
                            : new CheckpointException("Cannot read weights from " + source + ": " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CheckpointException("Interrupted while loading weights from " + source, e);
            }
        }
        pending.clear();
        if (failure != null) {
            throw failure;
        }
    }

    /** Waits for queued slices (ignoring their failures: {@link #finish()} reports them) and stops the threads. */
    @Override
    public void close() {
        if (threads == null) {
            return;
        }
        threads.shutdown();
        boolean interrupted = false;
        while (true) {
            try {
                if (threads.awaitTermination(1, TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true; // never return while a thread may still write into the tensors
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
