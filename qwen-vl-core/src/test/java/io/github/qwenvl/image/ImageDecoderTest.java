package io.github.qwenvl.image;

import io.github.qwenvl.config.ImageProcessorConfig;
import io.github.qwenvl.image.ImageInputException.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class ImageDecoderTest {

    private final ImageDecoder decoder = new ImageDecoder();

    private static void assertRefused(Runnable action, Reason reason) {
        assertThatThrownBy(action::run)
                .isInstanceOf(ImageInputException.class)
                .satisfies(e -> assertThat(((ImageInputException) e).reason()).isEqualTo(reason));
    }

    @Test
    void decodesPngAndJpeg() {
        RgbImage png = decoder.decode(ImageSource.of(TestImages.noise(31, 17, "png")));
        assertThat(png.width()).isEqualTo(31);
        assertThat(png.height()).isEqualTo(17);
        RgbImage jpeg = decoder.decode(ImageSource.of(TestImages.noise(20, 10, "jpeg")));
        assertThat(jpeg.rgb()).hasSize(20 * 10 * 3);
    }

    @Test
    void garbageBytesAreUnsupported() {
        byte[] garbage = new byte[4096];
        new Random(7).nextBytes(garbage);
        garbage[0] = 0x42; // not a PNG/JPEG/GIF/BMP/TIFF magic
        assertRefused(() -> decoder.decode(ImageSource.of(garbage)), Reason.UNSUPPORTED_FORMAT);
        assertRefused(() -> decoder.decode(ImageSource.of("hello, not an image".getBytes())), Reason.UNSUPPORTED_FORMAT);
    }

    @Test
    void zeroBytesThatWbmpWouldAcceptAreRefused() {
        // ImageIO's WBMP reader has no magic number and claims these bytes; WBMP is not an accepted format
        assertRefused(() -> decoder.decode(ImageSource.of(new byte[] {0, 0, 4, 4, 0, 0, 0, 0})), Reason.UNSUPPORTED_FORMAT);
    }

    @Test
    void emptyInputIsEmpty(@TempDir Path dir) throws Exception {
        assertRefused(() -> decoder.decode(ImageSource.of(new byte[0])), Reason.EMPTY);
        Path empty = Files.createFile(dir.resolve("empty.png"));
        assertRefused(() -> decoder.decode(ImageSource.of(empty)), Reason.EMPTY);
        assertRefused(() -> decoder.decode(ImageSource.of((BufferedImage) null)), Reason.EMPTY);
    }

    @Test
    void missingFileIsUnreadable(@TempDir Path dir) {
        assertRefused(() -> decoder.decode(ImageSource.of(dir.resolve("nope.png"))), Reason.UNREADABLE);
    }

    @Test
    void zeroSizeHeaderIsRefused() {
        byte[] png = TestImages.withPngSize(TestImages.noise(4, 4, "png"), 0, 4);
        assertRefused(() -> decoder.decode(ImageSource.of(png)), Reason.ZERO_SIZE);
        assertRefused(() -> new RgbImage(0, 3, new byte[0]), Reason.ZERO_SIZE);
    }

    @Test
    void truncatedPngIsUnreadable() {
        byte[] png = TestImages.noise(64, 64, "png");
        for (int keep : new int[] {png.length / 2, 40, 12}) {
            byte[] cut = Arrays.copyOf(png, keep);
            assertThatThrownBy(() -> decoder.decode(ImageSource.of(cut)))
                    .isInstanceOf(ImageInputException.class)
                    .satisfies(e -> assertThat(((ImageInputException) e).reason())
                            .isIn(Reason.UNREADABLE, Reason.UNSUPPORTED_FORMAT));
        }
        assertRefused(() -> decoder.decode(ImageSource.of(Arrays.copyOf(png, png.length / 2))), Reason.UNREADABLE);
    }

    @Test
    void decompressionBombIsRefusedFromTheHeader() {
        byte[] bomb = TestImages.withPngSize(TestImages.noise(2, 2, "png"), 100_000, 100_000);
        assertThat(bomb.length).isLessThan(200);
        // refused before any raster exists: fast and without a 30 GB allocation
        assertTimeoutPreemptively(Duration.ofSeconds(5), () ->
                assertRefused(() -> decoder.decode(ImageSource.of(bomb)), Reason.TOO_MANY_PIXELS));
    }

    @Test
    void decodeLimitIsConfigurable() {
        byte[] png = TestImages.noise(20, 20, "png");
        ImageDecoder strict = decoder.withMaxDecodePixels(399);
        assertRefused(() -> strict.decode(ImageSource.of(png)), Reason.TOO_MANY_PIXELS);
        assertThat(decoder.withMaxDecodePixels(400).decode(ImageSource.of(png)).width()).isEqualTo(20);
        BufferedImage big = new BufferedImage(30, 30, BufferedImage.TYPE_INT_RGB);
        assertRefused(() -> strict.decode(ImageSource.of(big)), Reason.TOO_MANY_PIXELS);
    }

    @Test
    void extremeAspectRatioIsRefused() {
        Qwen2VlImageProcessor processor = new Qwen2VlImageProcessor(ImageProcessorConfig.defaults());
        RgbImage strip = new RgbImage(201, 1, new byte[201 * 3]);
        assertRefused(() -> processor.process(strip), Reason.EXTREME_ASPECT_RATIO);
        byte[] png = TestImages.noise(1, 450, "png");
        assertRefused(() -> processor.process(ImageSource.of(png)), Reason.EXTREME_ASPECT_RATIO);
        // exactly 200 is allowed, as in transformers (the check is "> 200")
        ProcessedImage ok = processor.process(new RgbImage(200, 1, new byte[200 * 3]));
        assertThat(ok.resizedWidth()).isEqualTo(812);
        assertThat(ok.resizedHeight()).isEqualTo(28);
    }

    @Test
    void grayIsReplicatedWithoutGammaConversion() {
        BufferedImage gray = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSamples(0, 0, 3, 1, 0, new int[] {0, 100, 255});
        RgbImage rgb = decoder.decode(ImageSource.of(TestImages.encode(gray, "png")));
        assertThat(rgb.rgb()).containsExactly(0, 0, 0, 100, 100, 100, -1, -1, -1);
        assertThat(decoder.decode(ImageSource.of(gray)).rgb()).containsExactly(rgb.rgb());
    }

    @Test
    void alphaIsDroppedOrCompositedOnWhite() {
        BufferedImage rgba = new BufferedImage(4, 1, BufferedImage.TYPE_INT_ARGB);
        rgba.setRGB(0, 0, 0x00102030);   // fully transparent
        rgba.setRGB(1, 0, 0x80000000);   // half transparent black
        rgba.setRGB(2, 0, 0xFF405060);   // opaque
        rgba.setRGB(3, 0, 0x40FF0000);   // quarter red
        byte[] png = TestImages.encode(rgba, "png");

        RgbImage dropped = decoder.decode(ImageSource.of(png));
        assertThat(dropped.rgb()).containsExactly(0x10, 0x20, 0x30, 0, 0, 0, 0x40, 0x50, 0x60, -1, 0, 0);

        RgbImage composited = decoder.withAlphaMode(AlphaMode.COMPOSITE_ON_WHITE).decode(ImageSource.of(png));
        // Pillow: alpha_composite(white, (0,0,0,128)) = 127; (255,0,0,64) over white = (255,191,191)
        assertThat(toInts(composited.rgb())).containsExactly(255, 255, 255, 127, 127, 127, 0x40, 0x50, 0x60, 255, 191, 191);
    }

    @Test
    void paletteTransparencyFollowsTheAlphaMode() {
        IndexColorModel palette = new IndexColorModel(8, 2,
                new byte[] {(byte) 200, 10}, new byte[] {0, 20}, new byte[] {0, 30}, 0);
        BufferedImage indexed = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, palette);
        indexed.getRaster().setSamples(0, 0, 2, 1, 0, new int[] {0, 1});
        byte[] png = TestImages.encode(indexed, "png");
        assertThat(toInts(decoder.decode(ImageSource.of(png)).rgb())).containsExactly(200, 0, 0, 10, 20, 30);
        assertThat(toInts(decoder.withAlphaMode(AlphaMode.COMPOSITE_ON_WHITE).decode(ImageSource.of(png)).rgb()))
                .containsExactly(255, 255, 255, 10, 20, 30);
    }

    @Test
    void compositeMatchesPillowArithmeticOnOpaquePixels() {
        for (int c = 0; c < 256; c++) {
            assertThat(PillowAlphaComposite.overWhite(c, 255)).isEqualTo(c);
            assertThat(PillowAlphaComposite.overWhite(c, 0)).isEqualTo(255);
        }
    }

    private static int[] toInts(byte[] b) {
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xFF;
        }
        return out;
    }
}
