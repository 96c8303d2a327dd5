package io.github.qwenvl.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.checkpoint.TensorInfo;
import io.github.qwenvl.checkpoint.TensorStore;
import io.github.qwenvl.nn.SliceFiller;

import java.util.Arrays;

/**
 * Loads Qwen-VL tensors (published names: {@code transformer.wte.weight}, {@code transformer.h.N.*},
 * {@code transformer.visual.*}, {@code lm_head.weight}) from any {@link TensorStore} as float32 arrays (BF16/F16
 * widened in Java), optionally cast to the matrix dtype for linear weights.
 */
final class QwenVlWeights implements AutoCloseable {

    private final TensorStore store;
    private final SafetensorsCheckpoint float32Cache; // null, or float32 copies of the store's 16-bit tensors
    private final SliceFiller filler;
    private final NDManager manager;
    private final DataType matrixType;
    private long bytes;
    private long parameters;

    QwenVlWeights(TensorStore store, NDManager manager, DataType matrixType) {
        this(store, null, manager, matrixType, 1);
    }

    /**
     * @param fillThreads threads that widen 16-bit weights into float32 CPU tensors ({@link SliceFiller}); callers
     *                    must {@link #finish()} before computing with loaded tensors, and close this before the
     *                    manager
     */
    QwenVlWeights(TensorStore store, SafetensorsCheckpoint float32Cache, NDManager manager, DataType matrixType,
                  int fillThreads) {
        this.store = store;
        this.float32Cache = float32Cache;
        // fill threads only where every tensor stays float32 on the CPU (a cast or a copy to a GPU needs the values)
        boolean cpuFloat32 = !manager.getDevice().isGpu() && matrixType == DataType.FLOAT32;
        this.filler = new SliceFiller(cpuFloat32 ? fillThreads : 1, store.directory().toString(), store.storedBytes());
        this.manager = manager;
        this.matrixType = matrixType;
    }

    /** Refuses GPTQ-quantised checkpoints (Qwen-VL-Chat-Int4): their linear layers are packed int4. */
    static void refuseQuantized(TensorStore store, com.google.gson.JsonObject config) {
        boolean quantConfig = config != null && config.has("quantization_config");
        String packed = store.names().stream()
                .filter(n -> n.endsWith(".qweight") || n.endsWith(".qzeros") || n.endsWith(".scales") || n.endsWith(".g_idx"))
                .findFirst().orElse(null);
        if (quantConfig || packed != null) {
            String method = quantConfig && config.get("quantization_config").isJsonObject()
                    && config.getAsJsonObject("quantization_config").has("quant_method")
                    ? config.getAsJsonObject("quantization_config").get("quant_method").getAsString() : "GPTQ";
            throw new CheckpointException("Quantised checkpoint in " + store.directory() + " (" + method
                    + (packed != null ? ", packed tensor '" + packed + "'" : ", quantization_config in config.json")
                    + "): GPTQ Int4 weights (e.g. Qwen-VL-Chat-Int4) are not supported; use the float checkpoint"
                    + " (e.g. Qwen/Qwen-VL-Chat)");
        }
    }

    NDManager manager() {
        return manager;
    }

    boolean contains(String name) {
        return store.contains(name);
    }

    float[] floats(String name, long... shape) {
        check(name, shape);
        return store.readFloats(name);
    }

    NDArray load(String name, long... shape) {
        return load(name, DataType.FLOAT32, shape);
    }

    NDArray loadLinear(String name, long... shape) {
        return load(name, matrixType, shape);
    }

    private TensorInfo check(String name, long... shape) {
        if (!store.contains(name)) {
            throw new CheckpointException("Missing weight '" + name + "' in " + store.directory() + " (the checkpoint has "
                    + store.names().size() + " tensors; is it a Qwen-VL checkpoint?)");
        }
        TensorInfo info = store.info(name);
        if (shape.length > 0 && !Arrays.equals(info.shape(), shape)) {
            throw new CheckpointException("Weight '" + name + "' in " + store.directory() + " has shape "
                    + Arrays.toString(info.shape()) + ", config.json implies " + Arrays.toString(shape));
        }
        return info;
    }

    private NDArray load(String name, DataType type, long... shape) {
        TensorInfo info = check(name, shape);
        NDArray array = filler.load(store, float32Cache, name, manager, type);
        bytes += info.elementCount() * type.getNumOfBytes();
        parameters += info.elementCount();
        return array;
    }

    /** Waits until every queued tensor is filled (before any computation with them); rethrows the first failure. */
    void finish() {
        filler.finish();
    }

    /** Waits for queued fills and stops the fill threads. */
    @Override
    public void close() {
        filler.close();
    }

    /** Counts a tensor read as floats (kept in Java) as a parameter. */
    void countJava(long elements) {
        parameters += elements;
        bytes += elements * 4;
    }

    long bytes() {
        return bytes;
    }

    long parameters() {
        return parameters;
    }
}
