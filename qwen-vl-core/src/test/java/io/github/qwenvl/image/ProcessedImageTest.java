package io.github.qwenvl.image;

import io.github.qwenvl.config.ImageProcessorConfig;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link ProcessedImage} keeps the resized RGB image and writes the float32 patch rows only when asked (the values
 * themselves are checked against transformers by {@code PreprocessGoldenTest}).
 */
class ProcessedImageTest {

    private static final int MB = 1 << 20;

    private static RgbImage noise(int width, int height) {
        return TestImages.rgbNoise(width, height, 7);
    }

    @Test
    void patchRowsWrittenIntoAnyBufferAreThePixelValues() {
        ProcessedImage image = new Qwen2VlImageProcessor(ImageProcessorConfig.defaults()).process(noise(90, 61));
        float[] values = image.pixelValues();
        assertThat(values).hasSize(image.numPatches() * image.patchDim());
        assertThat(image.patchDim()).isEqualTo(3 * 2 * 14 * 14);
        assertThat(image.numLlmTokens() * 4).isEqualTo(image.numPatches());

        // the engine's input tensor: direct, native byte order, written after values already there
        FloatBuffer direct = ByteBuffer.allocateDirect((values.length + 3) * Float.BYTES)
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        direct.put(new float[] {1f, 2f, 3f});
        image.writePixelValues(direct);
        assertThat(direct.position()).isEqualTo(values.length + 3);
        float[] written = new float[values.length];
        direct.position(3);
        direct.get(written);
        assertThat(written).containsExactly(values);
    }

    @Test
    void aLargeImageWaitsAsItsRgbBytes() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        // the published Qwen2-VL preprocessor_config.json's bounds
        Qwen2VlImageProcessor processor = new Qwen2VlImageProcessor(
                ImageProcessorConfig.defaults().withPixelBounds(3136, 12845056));
        RgbImage source = noise(1344, 1008); // smart_resize keeps it: 6912 patches, 32.5 MB of float32 patch rows
        processor.process(source); // class loading and the JIT out of the measurement
        long before = threads.getCurrentThreadAllocatedBytes();
        ProcessedImage image = processor.process(source);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(image.numPatches()).isEqualTo(6912);
        assertThat(image.resized().rgb()).hasSize(1344 * 1008 * 3);
        // the resized bytes (4 MB), but neither the 32.5 MB of patch rows nor a 16 MB planar float32 copy of the
        // image
        assertThat(allocated).isLessThan(12L * MB);
    }

    @Test
    void refusesSizesThatAreNotWholeMergeBlocks() {
        float[][] table = new float[3][256];
        assertThatThrownBy(() -> new ProcessedImage(noise(56, 42), table, 14, 2, 2, 42, 56))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of patch x merge 28");
        assertThatThrownBy(() -> new ProcessedImage(noise(56, 56), new float[3][255], 14, 2, 2, 56, 56))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
