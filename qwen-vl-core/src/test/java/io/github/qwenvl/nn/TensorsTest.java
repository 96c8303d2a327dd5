package io.github.qwenvl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.engine.DjlRuntime;
import io.github.qwenvl.testing.Glibc;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link Tensors#floats}: the values arrive, and the memory is the engine's, freed when the tensor is closed, where
 * {@code NDManager.create(float[])} leaves its direct buffer to the garbage collector (malloc's bytes in use, glibc's
 * own account, with the closed tensor still referenced so that no collection can free it behind the test's back).
 */
class TensorsTest {

    private static final int MB = 1 << 20;

    @Test
    void valuesArrive() {
        DjlRuntime.start(1);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            float[] data = {1f, -2f, 3.5f, 0f, 7f, Float.MIN_VALUE};
            NDArray t = Tensors.floats(manager, data, new Shape(2, 3));
            assertThat(t.getShape()).isEqualTo(new Shape(2, 3));
            assertThat(t.toFloatArray()).containsExactly(data);
            assertThat(Tensors.floats(manager, new float[0], new Shape(0, 4)).size()).isZero();
            assertThatThrownBy(() -> Tensors.floats(manager, data, new Shape(4, 2)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void writtenInPlace() {
        DjlRuntime.start(1);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            NDArray t = Tensors.floats(manager, new Shape(3, 2), values -> {
                for (int i = 0; i < 6; i++) {
                    values.put(i * 0.5f);
                }
            });
            assertThat(t.toFloatArray()).containsExactly(0f, 0.5f, 1f, 1.5f, 2f, 2.5f);
            // a writer that leaves values unwritten would hand uninitialised memory to the model
            assertThatThrownBy(() -> Tensors.floats(manager, new Shape(3, 2), values -> values.put(1f)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("1 of 6 values written");
            assertThatThrownBy(() -> Tensors.floats(manager, new Shape(1, 2), values -> values.put(new float[3])))
                    .isInstanceOf(java.nio.BufferOverflowException.class);
        }
    }

    @Test
    void memoryIsFreedOnClose() throws InterruptedException {
        DjlRuntime.start(1);
        float[] data = new float[32 * MB]; // 128 MB
        long size = 128L * MB;
        // earlier tests' direct buffers are freed by the cleaner thread after a collection: let that happen first,
        // so that it does not move the baseline during the test (margins of a quarter of the size cover the rest)
        System.gc();
        Thread.sleep(200);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            long before = Glibc.mallinfo2().inUseBytes();
            NDArray owned = Tensors.floats(manager, data, new Shape(data.length));
            assertThat(Glibc.mallinfo2().inUseBytes() - before).isGreaterThan(size * 3 / 4);
            owned.close();
            assertThat(Glibc.mallinfo2().inUseBytes() - before).isLessThan(size / 4);

            before = Glibc.mallinfo2().inUseBytes();
            NDArray wrapped = manager.create(data, new Shape(data.length));
            wrapped.close();
            // why Tensors exists: the closed tensor's direct buffer is still allocated
            assertThat(Glibc.mallinfo2().inUseBytes() - before).isGreaterThan(size * 3 / 4);
            java.lang.ref.Reference.reachabilityFence(wrapped); // the buffer stays reachable until here
        }
    }
}
