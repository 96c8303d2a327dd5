package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.checkpoint.TensorInfo;

import java.util.Arrays;
import java.util.List;

/**
 * Turns checkpoint tensors into engine {@link NDArray}s owned by one long-lived manager.
 *
 * <p>BF16/F16 weights are widened to float32 in Java while reading (DJL 0.36's PyTorch engine aborts
 * the JVM on a BFLOAT16 NDArray), then optionally cast to the compute dtype on the target device.
 * Names are looked up with alternative prefixes, because checkpoints saved by newer transformers
 * versions nest the same tensors under {@code model.language_model.} / {@code model.visual.}.
 *
 * <p>On the CPU in float32 the widening runs on {@code fillThreads} threads: {@link #load} allocates the engine
 * tensor on the caller's thread and queues its filling in slices of ~64 MB, so the caller goes on declaring
 * weights while the slices are converted. Callers must {@link #finish()} before using any tensor, and close the
 * loader (which waits for queued slices) before the tensors' manager can be closed. Loading a 2B model is
 * dominated by writing 8.8 GB of fresh memory (page faults in the kernel, not the conversion): two threads
 * fault and fill in parallel.
 */
public final class WeightLoader implements AutoCloseable {

    private final SafetensorsCheckpoint checkpoint;
    private final SafetensorsCheckpoint float32Cache; // null, or float32 copies of the checkpoint's 16-bit tensors
    private final NDManager manager;
    private final DataType matrixType;
    private long loadedBytes;
    private long parameterCount;
    private final SliceFiller filler;

    /**
     * @param matrixType dtype of linear-layer weights and biases ({@link #loadLinear}); everything else
     *                   (norms, embeddings) stays float32, so with FLOAT16 matrices the residual stream
     *                   and norms are still computed in float32 (plain f16 overflows in Qwen2 models)
     */
    public WeightLoader(SafetensorsCheckpoint checkpoint, NDManager manager, DataType matrixType) {
        this(checkpoint, manager, matrixType, 1);
    }

    /**
     * @param fillThreads threads that widen BF16/F16 weights into float32 CPU tensors (1: on the caller's thread)
     */
    public WeightLoader(SafetensorsCheckpoint checkpoint, NDManager manager, DataType matrixType, int fillThreads) {
        this(checkpoint, null, manager, matrixType, fillThreads);
    }

    /**
     * @param float32Cache float32 copies of the checkpoint's BF16/F16 tensors ({@link
     *                     io.github.qwenvl.checkpoint.Float32WeightCache}), mapped instead of widened; null = none
     */
    public WeightLoader(SafetensorsCheckpoint checkpoint, SafetensorsCheckpoint float32Cache, NDManager manager,
                        DataType matrixType, int fillThreads) {
        this(checkpoint, float32Cache, manager, matrixType, fillThreads,
                io.github.qwenvl.EngineTuning.DEFAULTS.loadSliceElements());
    }

    /** @param sliceElements elements widened and written per slice ({@link SliceFiller}) */
    public WeightLoader(SafetensorsCheckpoint checkpoint, SafetensorsCheckpoint float32Cache, NDManager manager,
                        DataType matrixType, int fillThreads, long sliceElements) {
        this.checkpoint = checkpoint;
        this.float32Cache = float32Cache;
        this.manager = manager;
        this.matrixType = matrixType;
        // fill threads only where every tensor stays float32 on the CPU (a cast or a copy to a GPU needs the values)
        boolean cpuFloat32 = manager != null && !manager.getDevice().isGpu() && matrixType == DataType.FLOAT32;
        // progress lines (large checkpoints) count bytes as the fill threads finish them, not as tensors are declared
        this.filler = new SliceFiller(cpuFloat32 ? fillThreads : 1, checkpoint.directory().toString(),
                checkpoint.storedBytes(), sliceElements);
    }

    /** Stored bytes of the tensors loaded so far whose values are filled in (progress; lags {@link #load} with fill threads). */
    long filledStoredBytes() {
        return filler.filledStoredBytes();
    }

    /** Waits until every queued tensor is filled; rethrows the first failure (a corrupt tensor, say). */
    public void finish() {
        filler.finish();
    }

    /** Waits for queued fills and stops the fill threads. */
    @Override
    public void close() {
        filler.close();
    }

    public NDManager manager() {
        return manager;
    }

    public SafetensorsCheckpoint checkpoint() {
        return checkpoint;
    }

    /** Bytes of weights created so far, in the dtypes held. */
    public long loadedBytes() {
        return loadedBytes;
    }

    /** Parameters loaded so far (a tied LM head counts once). */
    public long parameterCount() {
        return parameterCount;
    }

    /** The stored name of a tensor, trying the published layout first, then the newer nested one. */
    public String resolve(String name) {
        for (String candidate : candidates(name)) {
            if (checkpoint.contains(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    public boolean contains(String name) {
        return resolve(name) != null;
    }

    /** Loads a required float32 tensor (norm weights, embeddings) and checks its shape. */
    public NDArray load(String name, long... expectedShape) {
        return load(name, DataType.FLOAT32, expectedShape);
    }

    /** Loads a linear layer's weight or bias in the matrix dtype. */
    public NDArray loadLinear(String name, long... expectedShape) {
        return load(name, matrixType, expectedShape);
    }

    private NDArray load(String name, DataType dataType, long... expectedShape) {
        TensorInfo info = checkedInfo(name, expectedShape);
        NDArray array = filler.load(checkpoint, float32Cache, info.name(), manager, dataType);
        loadedBytes += info.elementCount() * dataType.getNumOfBytes();
        parameterCount += info.elementCount();
        return array;
    }

    /**
     * The stored tensor {@code name} resolves to (any layout), checked against {@code expectedShape} (none: any shape).
     *
     * @throws CheckpointException when it is missing or has another shape
     */
    public TensorInfo checkedInfo(String name, long... expectedShape) {
        String stored = resolve(name);
        if (stored == null) {
            throw new CheckpointException("Missing weight '" + name + "' in " + checkpoint.directory()
                    + " (the checkpoint has " + checkpoint.names().size() + " tensors; is it the right architecture?)");
        }
        TensorInfo info = checkpoint.info(stored);
        if (expectedShape.length > 0 && !Arrays.equals(info.shape(), expectedShape)) {
            throw new CheckpointException("Weight '" + stored + "' in " + checkpoint.directory() + " has shape "
                    + Arrays.toString(info.shape()) + ", config.json implies " + Arrays.toString(expectedShape));
        }
        return info;
    }

    /**
     * Counts a weight held only as its mapped stored bytes (read in place, widened per layer as it is used): its
     * parameters, and its stored bytes as bytes held.
     */
    public void countMapped(TensorInfo info) {
        loadedBytes += info.length();
        parameterCount += info.elementCount();
        filler.countMapped(info.length());
    }

    /** Adds bytes held besides the loaded tensors (buffers the layers are widened into). */
    public void countHeld(long bytes) {
        loadedBytes += bytes;
    }

    /** Loads a linear weight when the checkpoint has it, else null. */
    public NDArray loadLinearOptional(String name, long... expectedShape) {
        return contains(name) ? loadLinear(name, expectedShape) : null;
    }

    private static List<String> candidates(String name) {
        if (name.startsWith("model.")) {
            return List.of(name, "model.language_model." + name.substring("model.".length()));
        }
        if (name.startsWith("visual.")) {
            return List.of(name, "model." + name);
        }
        if (name.startsWith("lm_head.")) {
            return List.of(name, "model." + name);
        }
        return List.of(name);
    }
}
