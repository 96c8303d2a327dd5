package io.github.qwenvl.image;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Properties of the port; exactness against torchvision is checked by {@link PreprocessGoldenTest}. */
class TorchvisionResizeTest {

    @Test
    void sameSizeIsACopy() {
        RgbImage in = TestImages.rgbNoise(13, 7, 3);
        RgbImage out = TorchvisionResize.bicubic(in, 13, 7);
        assertThat(out.rgb()).isEqualTo(in.rgb()).isNotSameAs(in.rgb());
    }

    @Test
    void constantImageStaysConstant() {
        byte[] rgb = new byte[37 * 23 * 3];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = 10;
            rgb[i + 1] = (byte) 128;
            rgb[i + 2] = (byte) 250;
        }
        RgbImage out = TorchvisionResize.bicubic(new RgbImage(37, 23, rgb), 64, 32);
        for (int i = 0; i < out.rgb().length; i += 3) {
            assertThat(new int[] {out.rgb()[i] & 0xFF, out.rgb()[i + 1] & 0xFF, out.rgb()[i + 2] & 0xFF})
                    .containsExactly(10, 128, 250);
        }
    }

    /** Same kernel and windows as Pillow, coarser fixed point: a few levels apart on noise, never more. */
    @Test
    void closeToPillowButNotIdentical() {
        RgbImage in = TestImages.rgbNoise(333, 517, 5);
        RgbImage torch = TorchvisionResize.bicubic(in, 320, 512);
        RgbImage pil = PillowResize.bicubic(in, 320, 512);
        int max = PreprocessGoldenTest.maxLevelDiff(pil, torch);
        assertThat(max).isBetween(1, 3);
    }
}
