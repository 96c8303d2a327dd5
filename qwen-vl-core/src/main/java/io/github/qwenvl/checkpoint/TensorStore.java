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

    @Override
    void close();

    /** Safetensors weights when the directory has them, else {@code pytorch_model*.bin}. */
    static TensorStore open(Path directory) {
        if (SafetensorsCheckpoint.isPresent(directory)) {
            return of(SafetensorsCheckpoint.open(directory));
        }
        if (TorchBinCheckpoint.isPresent(directory)) {
            return TorchBinCheckpoint.open(directory);
        }
        throw new CheckpointException("No weights in " + directory + ": neither *.safetensors nor pytorch_model*.bin");
    }

    /** A view of a safetensors checkpoint; closing it closes the checkpoint. */
    static TensorStore of(SafetensorsCheckpoint checkpoint) {
        return new TensorStore() {
            @Override
            public Path directory() {
                return checkpoint.directory();
            }

            @Override
            public Set<String> names() {
                return checkpoint.names();
            }

            @Override
            public boolean contains(String name) {
                return checkpoint.contains(name);
            }

            @Override
            public TensorInfo info(String name) {
                return checkpoint.info(name);
            }

            @Override
            public ByteBuffer float32Buffer(String name) {
                return checkpoint.float32Buffer(name);
            }

            @Override
            public float[] readFloats(String name) {
                return checkpoint.readFloats(name);
            }

            @Override
            public void close() {
                checkpoint.close();
            }
        };
    }
}
