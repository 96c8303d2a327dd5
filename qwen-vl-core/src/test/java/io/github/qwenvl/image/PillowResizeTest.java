package io.github.qwenvl.image;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Properties of the port; exactness against Pillow is checked by {@link PreprocessGoldenTest}. */
class PillowResizeTest {

    private static RgbImage noise(int width, int height) {
        return TestImages.rgbNoise(width, height, 3);
    }

    @Test
    void sameSizeIsACopy() {
        RgbImage in = noise(13, 7);
        RgbImage out = PillowResize.bicubic(in, 13, 7);
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
        RgbImage in = new RgbImage(37, 23, rgb);
        for (int[] size : new int[][] {{11, 5}, {80, 60}, {37, 50}, {20, 23}, {1, 1}}) {
            RgbImage out = PillowResize.bicubic(in, size[0], size[1]);
            for (int i = 0; i < out.rgb().length; i += 3) {
                assertThat(Arrays.copyOfRange(out.rgb(), i, i + 3)).containsExactly(10, (byte) 128, (byte) 250);
            }
        }
    }

    @Test
    void onlyTheChangedAxisIsResampled() {
        // width unchanged: each column is resampled independently (Pillow skips the horizontal pass)
        RgbImage in = noise(5, 40);
        RgbImage out = PillowResize.bicubic(in, 5, 17);
        RgbImage column = PillowResize.bicubic(new RgbImage(1, 40, columnOf(in, 2)), 1, 17);
        assertThat(columnOf(out, 2)).isEqualTo(column.rgb());
    }

    @Test
    void otherFiltersPlugIn() {
        RgbImage in = noise(8, 8);
        RgbImage box = PillowResize.resize(in, 4, 4, ResampleFilter.BOX);
        // BOX at exactly 2× reduction averages 2×2 blocks (rounded half up on each pass)
        int h = ((in.sample(0, 0, 0) + in.sample(1, 0, 0) + 1) / 2);
        int l = ((in.sample(0, 1, 0) + in.sample(1, 1, 0) + 1) / 2);
        assertThat(box.sample(0, 0, 0)).isEqualTo((h + l + 1) / 2);
        assertThat(PillowResize.resize(in, 3, 11, ResampleFilter.BILINEAR).rgb()).hasSize(3 * 11 * 3);
    }

    private static byte[] columnOf(RgbImage img, int x) {
        byte[] out = new byte[img.height() * 3];
        for (int y = 0; y < img.height(); y++) {
            System.arraycopy(img.rgb(), (y * img.width() + x) * 3, out, y * 3, 3);
        }
        return out;
    }
}
