package io.github.qwenvl.image;

import io.github.qwenvl.image.ImageInputException.Reason;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SmartResizeTest {

    private static final long MIN = 3136;
    private static final long MAX = 12845056;
    private static final long SMALL = 128 * 28 * 28;

    /** The table of the fixture README (h, w, max_pixels → resized h, w). */
    @ParameterizedTest
    @CsvSource({
            "56, 56, 12845056, 56, 56",
            "30, 90, 12845056, 56, 112",
            "517, 333, 12845056, 504, 336",
            "517, 333, 100352, 392, 252",
            "480, 640, 12845056, 476, 644",
            "480, 640, 100352, 252, 364",
            "200, 1000, 12845056, 196, 1008",
            "200, 1000, 100352, 140, 700",
            "100, 150, 12845056, 112, 140",
            "300, 200, 100352, 308, 196",
    })
    void matchesTheReferenceTable(int h, int w, long max, int expectedH, int expectedW) {
        assertThat(SmartResize.compute(h, w, 28, MIN, max)).isEqualTo(new SmartResize.Size(expectedH, expectedW));
    }

    @Test
    void roundsHalfToEvenLikePython() {
        // 42 / 28 = 1.5 → 2; 70 / 28 = 2.5 → 2; 98 / 28 = 3.5 → 4
        assertThat(SmartResize.compute(42, 280, 28, 0, MAX).height()).isEqualTo(56);
        assertThat(SmartResize.compute(70, 280, 28, 0, MAX).height()).isEqualTo(56);
        assertThat(SmartResize.compute(98, 280, 28, 0, MAX).height()).isEqualTo(112);
    }

    @Test
    void tinyImagesGrowToMinPixels() {
        SmartResize.Size s = SmartResize.compute(10, 10, 28, MIN, MAX);
        assertThat(s).isEqualTo(new SmartResize.Size(56, 56));
        assertThat(SmartResize.compute(1, 1, 28, MIN, SMALL)).isEqualTo(new SmartResize.Size(56, 56));
    }

    @Test
    void aspectRatioAbove200IsRefused() {
        assertThatThrownBy(() -> SmartResize.compute(1, 201, 28, MIN, MAX))
                .isInstanceOfSatisfying(ImageInputException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.EXTREME_ASPECT_RATIO));
        assertThatThrownBy(() -> SmartResize.compute(20001, 100, 28, MIN, MAX))
                .isInstanceOfSatisfying(ImageInputException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.EXTREME_ASPECT_RATIO));
        assertThat(SmartResize.compute(100, 20000, 28, MIN, MAX).width()).isPositive();
    }

    @Test
    void boundsThatGiveNoPatchAreRefused() {
        assertThatThrownBy(() -> SmartResize.compute(10, 10, 28, 0, MAX))
                .isInstanceOfSatisfying(ImageInputException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.INVALID_SIZE));
        assertThatThrownBy(() -> SmartResize.compute(0, 10, 28, MIN, MAX))
                .isInstanceOfSatisfying(ImageInputException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.ZERO_SIZE));
    }
}
