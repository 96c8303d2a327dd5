package io.github.qwenvl.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.checkpoint.TensorInfo;
import io.github.qwenvl.checkpoint.TensorStore;

import java.util.Arrays;

/**
 * Loads Qwen-VL tensors (published names: {@code transformer.wte.weight}, {@code transformer.h.N.*},
 * {@code transformer.visual.*}, {@code lm_head.weight}) from any {@link TensorStore} as float32 arrays (BF16/F16
 * widened in Java), optionally cast to the matrix dtype for linear weights.
 */
final class QwenVlWeights {

    /** Elements per fill slice (64 MB of float32). */
    private static final long SLICE_ELEMENTS = 16L << 20;

    private final TensorStore store;
    private final SafetensorsCheckpoint float32Cache; // null, or float32 copies of the store's 16-bit tensors
    private final NDManager manager;
    private final DataType matrixType;
    private long bytes;
    private long parameters;

    QwenVlWeights(TensorStore store, NDManager manager, DataType matrixType) {
        this(store, null, manager, matrixType);
    }

    QwenVlWeights(TensorStore store, SafetensorsCheckpoint float32Cache, NDManager manager, DataType matrixType) {
        this.store = store;
        this.float32Cache = float32Cache;
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
        NDArray array;
        if (float32Cache != null && float32Cache.contains(name) && float32Cache.isZeroCopyFloat32(name)
                && float32Cache.info(name).elementCount() == info.elementCount()) {
            // the weight cache's float32 copy: the engine tensor is the mapped cache file region itself
            array = manager.create(float32Cache.float32Buffer(name), new Shape(info.shape()), DataType.FLOAT32);
        } else if (store.isZeroCopyFloat32(name)) {
            array = manager.create(store.float32Buffer(name), new Shape(info.shape()), DataType.FLOAT32);
        } else if (manager.getDevice().isGpu()) {
            try (NDManager cpu = NDManager.newBaseManager(ai.djl.Device.cpu())) {
                NDArray host = widened(cpu, name, info);
                array = host.toDevice(manager.getDevice(), true);
                array.attach(manager);
            }
        } else {
            array = widened(manager, name, info);
        }
        if (type != DataType.FLOAT32 || !manager.getDevice().equals(array.getDevice())) {
            NDArray converted = array.toDevice(manager.getDevice(), false).toType(type, false);
            if (converted != array) {
                array.close();
                array = converted;
            }
        }
        array.setName(name);
        bytes += info.elementCount() * type.getNumOfBytes();
        parameters += info.elementCount();
        return array;
    }

    /**
     * A float32 CPU tensor filled from the store in row slices of ~64 MB, each through a view of the tensor's own
     * memory: no Java buffer of the whole tensor (the -Xmx-sized direct-memory limit and a ByteBuffer's 2 GiB
     * capacity would refuse Qwen-VL-Chat's 2.5 GB float32 embedding and LM head).
     */
    private NDArray widened(NDManager owner, String name, TensorInfo info) {
        long[] dims = info.shape();
        NDArray host = owner.create(new Shape(dims), DataType.FLOAT32); // torch::empty: every element is written
        long rows = dims.length == 0 ? 1 : dims[0];
        long rowElements = rows == 0 ? 0 : info.elementCount() / rows;
        long rowsPerSlice = dims.length < 2 ? rows : Math.max(1, SLICE_ELEMENTS / Math.max(1, rowElements));
        for (long r0 = 0; r0 < rows; r0 += rowsPerSlice) {
            long r1 = Math.min(rows, r0 + rowsPerSlice);
            if (r0 == 0 && r1 == rows) {
                store.readFloat32Range(name, ((PtNDArray) host).toByteBuffer(true), 0, info.elementCount());
            } else {
                try (NDArray view = host.get(new NDIndex("{}:{}", r0, r1))) {
                    store.readFloat32Range(name, ((PtNDArray) view).toByteBuffer(true), r0 * rowElements,
                            (r1 - r0) * rowElements);
                }
            }
        }
        return host;
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
