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
 * {@code NDManager.create(float[])} leaves its direct buffer to the garbage collector.
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

    /**
     * Portable (any C library, any collector): a tensor written with {@link Tensors#floats} holds no Java direct
     * buffer, while one made by {@code NDManager.create(float[])} holds a direct buffer of its size that outlives
     * {@code close()} (the JVM's "direct" buffer pool, with the closed tensor still referenced so that no collection
     * can free it behind the test's back).
     */
    @Test
    void noDirectBufferOutlivesTheTensor() throws InterruptedException {
        DjlRuntime.start(1);
        float[] data = new float[32 * MB]; // 128 MB
        long size = 128L * MB;
        settle();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            long before = directBytes();
            NDArray owned = Tensors.floats(manager, data, new Shape(data.length));
            assertThat(directBytes() - before).as("direct buffers of an engine-owned tensor").isLessThan(size / 4);
            owned.close();

            before = directBytes();
            NDArray wrapped = manager.create(data, new Shape(data.length));
            wrapped.close();
            // why Tensors exists: the closed tensor's direct buffer is still allocated
            assertThat(directBytes() - before).isGreaterThan(size * 3 / 4);
            java.lang.ref.Reference.reachabilityFence(wrapped);
        }
    }

    /**
     * The engine-owned tensor's memory is handed back when it is closed. Measured with glibc's own account of malloc's
     * bytes in use ({@code mallinfo2}), which the Java heap does not move; with another C library, with the resident
     * set size (Linux {@code /proc}: a 128 MB block is mapped and unmapped whole).
     */
    @Test
    void engineMemoryIsFreedOnClose() throws InterruptedException {
        DjlRuntime.start(1);
        float[] data = new float[32 * MB]; // 128 MB
        long size = 128L * MB;
        settle();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            long before = nativeBytes();
            NDArray owned = Tensors.floats(manager, data, new Shape(data.length));
            assertThat(nativeBytes() - before).isGreaterThan(size * 3 / 4);
            owned.close();
            assertThat(nativeBytes() - before).isLessThan(size / 4);
        }
    }

    /** glibc's malloc bytes in use, or the resident set size where the C library is not glibc. */
    private static long nativeBytes() {
        if (Glibc.available()) {
            return Glibc.mallinfo2().inUseBytes();
        }
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /**
     * Earlier tests' direct buffers are freed by the cleaner thread after a collection: let that happen first, so that
     * it does not move the baseline during the test (margins of a quarter of the size cover the rest).
     */
    private static void settle() throws InterruptedException {
        System.gc();
        Thread.sleep(200);
    }

    private static long directBytes() {
        return java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)
                .stream().filter(b -> b.getName().equals("direct")).mapToLong(java.lang.management.BufferPoolMXBean::getMemoryUsed)
                .sum();
    }
}
