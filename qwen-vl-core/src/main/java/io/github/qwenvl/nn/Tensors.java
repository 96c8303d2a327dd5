package io.github.qwenvl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.function.Consumer;

/**
 * Float32 input tensors whose memory the engine owns, so it is freed when the tensor is closed: copied from a Java
 * array, or written in place by the caller (no Java array at all).
 *
 * <p>Why not {@code NDManager.create(float[], Shape)}: on the CPU, DJL's PyTorch engine copies the array into a fresh
 * direct {@code ByteBuffer} and wraps that memory ({@code torch.from_blob}); closing the tensor leaves the buffer to
 * the garbage collector, which may not run for a whole request: a large image's pixels and a long prompt's
 * embeddings and mask would stay resident until a later collection.
 * Here the engine allocates the tensor ({@code torch.empty}) and the array is copied into its memory.
 */
public final class Tensors {

    private Tensors() {
    }

    /** A float32 tensor of {@code shape} holding {@code data} (row-major), on {@code manager}'s device. */
    public static NDArray floats(NDManager manager, float[] data, Shape shape) {
        if (shape.size() != data.length) {
            throw new IllegalArgumentException(data.length + " values for shape " + shape);
        }
        return floats(manager, shape, values -> values.put(data));
    }

    /**
     * A float32 tensor of {@code shape} whose values {@code fill} writes (row-major, every one of them) into the
     * engine's memory: no Java array of the tensor's size exists at all. Large inputs (a long prompt's embeddings and
     * mask) are written this way, so they never become humongous garbage that grows the Java heap.
     */
    public static NDArray floats(NDManager manager, Shape shape, Consumer<FloatBuffer> fill) {
        if (!manager.getDevice().equals(Device.cpu())) {
            try (NDManager host = manager.newSubManager(Device.cpu())) {
                NDArray onDevice = floats(host, shape, fill).toDevice(manager.getDevice(), true);
                onDevice.attach(manager);
                return onDevice;
            }
        }
        NDArray tensor = manager.create(shape, DataType.FLOAT32); // torch::empty: fill writes every element
        if (shape.size() > 0) {
            try {
                FloatBuffer values = ((PtNDArray) tensor).toByteBuffer(true).order(ByteOrder.nativeOrder())
                        .asFloatBuffer();
                fill.accept(values);
                if (values.position() != values.limit()) {
                    throw new IllegalStateException(values.position() + " of " + values.limit() + " values written");
                }
            } catch (RuntimeException | Error e) {
                tensor.close();
                throw e;
            }
        }
        return tensor;
    }
}
