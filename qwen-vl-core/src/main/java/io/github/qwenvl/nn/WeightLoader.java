package io.github.qwenvl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
 */
public final class WeightLoader {

    private final SafetensorsCheckpoint checkpoint;
    private final NDManager manager;
    private final DataType matrixType;
    private long loadedBytes;
    private long parameterCount;
    private long storedBytesRead;
    private int reportedTenths;
    private final long storedBytesTotal;
    private final long startNanos = System.nanoTime();
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WeightLoader.class);
    /** Checkpoints below this size load too fast to be worth progress lines. */
    private static final long PROGRESS_THRESHOLD_BYTES = 256L << 20;

    /**
     * @param matrixType dtype of linear-layer weights and biases ({@link #loadLinear}); everything else
     *                   (norms, embeddings) stays float32, so with FLOAT16 matrices the residual stream
     *                   and norms are still computed in float32 (plain f16 overflows in Qwen2 models)
     */
    public WeightLoader(SafetensorsCheckpoint checkpoint, NDManager manager, DataType matrixType) {
        this.checkpoint = checkpoint;
        this.manager = manager;
        this.matrixType = matrixType;
        this.storedBytesTotal = checkpoint.storedBytes();
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
        NDArray array;
        if (checkpoint.isZeroCopyFloat32(stored)) {
            // float32 on disk: the engine tensor is the memory-mapped file region itself
            array = manager.create(checkpoint.float32Buffer(stored), new Shape(info.shape()), DataType.FLOAT32);
        } else {
            // BF16/F16: widen straight into the engine tensor's own (CPU) memory, chunk by chunk from the
            // mapping; a Java direct buffer would count against -XX:MaxDirectMemorySize (= -Xmx by default)
            if (manager.getDevice().isGpu()) {
                try (NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
                    NDArray host = widened(cpu, stored, info);
                    array = host.toDevice(manager.getDevice(), true);
                    array.attach(manager);
                }
            } else {
                array = widened(manager, stored, info);
            }
        }
        Device device = manager.getDevice();
        if (dataType != DataType.FLOAT32 || !device.equals(array.getDevice())) {
            NDArray converted = array.toDevice(device, false).toType(dataType, false);
            if (converted != array) {
                array.close();
                array = converted;
            }
        }
        array.setName(stored);
        loadedBytes += info.elementCount() * dataType.getNumOfBytes();
        parameterCount += info.elementCount();
        reportProgress(info.length());
        return array;
    }

    /** Loads a linear weight when the checkpoint has it, else null. */
    public NDArray loadLinearOptional(String name, long... expectedShape) {
        return contains(name) ? loadLinear(name, expectedShape) : null;
    }

    /** Logs every 10 % of the checkpoint's bytes for large checkpoints (loading a 2B model takes tens of seconds). */
    private void reportProgress(long bytes) {
        storedBytesRead += bytes;
        if (storedBytesTotal < PROGRESS_THRESHOLD_BYTES) {
            return;
        }
        int tenths = (int) (storedBytesRead * 10 / storedBytesTotal);
        if (tenths > reportedTenths) {
            reportedTenths = tenths;
            LOG.info("Loading weights from {}: {}% ({} of {} MiB) in {} s", checkpoint.directory().getFileName(),
                    tenths * 10, storedBytesRead >> 20, storedBytesTotal >> 20,
                    String.format("%.1f", (System.nanoTime() - startNanos) / 1e9));
        }
    }

    /** A float32 CPU tensor filled from the checkpoint through a view of its own memory. */
    private NDArray widened(NDManager owner, String stored, TensorInfo info) {
        // uninitialised (torch::empty): every element is written just below
        NDArray host = owner.create(new Shape(info.shape()), DataType.FLOAT32);
        checkpoint.readFloat32Into(stored, ((ai.djl.pytorch.engine.PtNDArray) host).toByteBuffer(true));
        return host;
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
