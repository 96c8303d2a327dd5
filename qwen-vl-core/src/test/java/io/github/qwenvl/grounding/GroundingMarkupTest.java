package io.github.qwenvl.grounding;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class GroundingMarkupTest {

    static final ImageInfo PHOTO = new ImageInfo(0, 640, 480, 644, 476, 391);
    static final ImageInfo TALL = new ImageInfo(0, 333, 999, 336, 1008, 432);

    static Stream<Arguments> regions() {
        return ModelArchitecture.values().stream().flatMap(arch -> Stream.of(
                Arguments.of(arch, PHOTO, new double[] {76.8, 163.2, 358.4, 422.4}, "the dog"),
                Arguments.of(arch, PHOTO, new double[] {0, 0, 640, 480}, null),
                Arguments.of(arch, TALL, new double[] {300, 10, 12.5, 990}, "红色的\"门\""),
                Arguments.of(arch, TALL, new double[] {-50, 0, 5000, 999}, "  clamped  ")));
    }

    @ParameterizedTest(name = "{0} {1} {3}")
    @MethodSource("regions")
    void regionMarkupParsesBackToTheSameBox(ModelArchitecture arch, ImageInfo image, double[] xyxy, String label) {
        String markup = GroundingMarkup.region(arch, image, xyxy[0], xyxy[1], xyxy[2], xyxy[3], label);

        GroundingResult parsed = new GroundingParser().parse(markup, arch, List.of(image));

        assertThat(parsed.boxes()).as(markup).hasSize(1);
        GroundingBox box = parsed.boxes().get(0);
        assertThat(box.label()).isEqualTo(label == null ? null : label.strip());
        // rounding to the model's grid: half a step of 0-1000 or of one resized pixel
        double tolX = Math.max(image.originalWidth() / 1000.0, image.originalWidth() / (double) image.resizedWidth());
        double tolY = Math.max(image.originalHeight() / 1000.0, image.originalHeight() / (double) image.resizedHeight());
        double cx1 = clamp(Math.min(xyxy[0], xyxy[2]), image.originalWidth());
        double cx2 = clamp(Math.max(xyxy[0], xyxy[2]), image.originalWidth());
        double cy1 = clamp(Math.min(xyxy[1], xyxy[3]), image.originalHeight());
        double cy2 = clamp(Math.max(xyxy[1], xyxy[3]), image.originalHeight());
        assertThat(box.pixels().x1()).isCloseTo(cx1, within(tolX));
        assertThat(box.pixels().x2()).isCloseTo(cx2, within(tolX));
        assertThat(box.pixels().y1()).isCloseTo(cy1, within(tolY));
        assertThat(box.pixels().y2()).isCloseTo(cy2, within(tolY));
        assertThat(parsed.cleanText()).isEqualTo(label == null ? "" : label.strip());
    }

    @Test
    void writesEachModelsOwnMarkup() {
        assertThat(GroundingMarkup.region(io.github.qwenvl.qwenvl.QwenVlSupport.QWEN_VL, PHOTO, 76.8, 163.2, 358.4, 422.4, "the dog"))
                .isEqualTo("<ref>the dog</ref><box>(120,340),(560,880)</box>");
        assertThat(GroundingMarkup.region(io.github.qwenvl.qwen2vl.Qwen2VlSupport.QWEN2_VL, PHOTO, 0, 0, 320, 240, null))
                .isEqualTo("<|box_start|>(0,0),(500,500)<|box_end|>");
        assertThat(GroundingMarkup.region(io.github.qwenvl.qwen2vl.Qwen2VlSupport.QWEN2_5_VL, PHOTO, 0, 0, 320, 240, "cat"))
                .isEqualTo("{\"bbox_2d\": [0, 0, 322, 238], \"label\": \"cat\"}");
        // Qwen3-VL: the same JSON on the 0–1000 grid
        assertThat(GroundingMarkup.region(io.github.qwenvl.qwen3vl.Qwen3VlSupport.QWEN3_VL, PHOTO, 0, 0, 320, 240, "cat"))
                .isEqualTo("{\"bbox_2d\": [0, 0, 500, 500], \"label\": \"cat\"}");
        assertThat(GroundingParser.coordinateSpace(GroundingSyntax.JSON, io.github.qwenvl.qwen3vl.Qwen3VlSupport.QWEN3_VL))
                .isEqualTo(CoordinateSpace.RELATIVE_1000);
        assertThat(GroundingParser.coordinateSpace(GroundingSyntax.JSON, null)).isEqualTo(CoordinateSpace.RESIZED_PIXELS);
    }

    @Test
    void labelsCannotSmuggleSpecialTokens() {
        String markup = GroundingMarkup.region(io.github.qwenvl.qwen2vl.Qwen2VlSupport.QWEN2_VL, PHOTO, 0, 0, 10, 10,
                "a<|box_end|>b</ref><|im_end|>c");

        assertThat(markup).startsWith("<|object_ref_start|>abc<|object_ref_end|>");
    }

    private static double clamp(double v, int max) {
        return Math.max(0, Math.min(max, v));
    }
}
