package io.github.qwenvl.checkpoint;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;

/**
 * Named weight tensors of a model directory, whatever the file format: safetensors ({@link SafetensorsCheckpoint})
 * or PyTorch {@code .bin} zip archives ({@link TorchBinCheckpoint}).
 */
public interface TensorStore extends AutoCloseable {

    Path directory();

    Set<String> names();

    boolean contains(String name);

    /** Dtype and shape (offset/length are format-specific). */
    TensorInfo info(String name);

    /** The tensor as float32 in a direct, native-order buffer (never modify it in place). */
    ByteBuffer float32Buffer(String name);

    float[] readFloats(String name);

    /** Total bytes of tensor data as stored. */
    default long storedBytes() {
        long total = 0;
        for (String name : names()) {
            total += info(name).length();
        }
        return total;
    }

    /** True when {@link #float32Buffer} hands out the file's own float32 bytes (no copy). */
    default boolean isZeroCopyFloat32(String name) {
        return false;
    }

    /**
     * Elements [fromElement, fromElement + count) of the tensor (row-major) widened to float32 into {@code target}
     * (native order, at least count × 4 bytes): how engine tensors are filled in slices, which also works for
     * tensors over 2 GiB as float32. The default reads the whole tensor (small tensors only).
     */
    default void readFloat32Range(String name, ByteBuffer target, long fromElement, long count) {
        float[] all = readFloats(name);
        target.duplicate().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer()
                .put(all, Math.toIntExact(fromElement), Math.toIntExact(count));
    }

    @Override
    void close();

    /** Safetensors weights when the directory has them, else {@code pytorch_model*.bin}. */
    static TensorStore open(Path directory) {
        return open(directory, io.github.qwenvl.EngineTuning.DEFAULTS.mapLimitBytes());
    }

    /** As {@link #open(Path)}; safetensors files map at most {@code mapLimitBytes} at once. */
    static TensorStore open(Path directory, long mapLimitBytes) {
        if (SafetensorsCheckpoint.isPresent(directory)) {
            return SafetensorsCheckpoint.open(directory, mapLimitBytes);
        }
        if (TorchBinCheckpoint.isPresent(directory)) {
            return TorchBinCheckpoint.open(directory);
        }
        throw new CheckpointException("No weights in " + directory + ": neither *.safetensors nor pytorch_model*.bin");
    }
}
