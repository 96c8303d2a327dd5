package io.github.qwenvl.grounding;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BoxRendererTest {

    static final ImageInfo IMAGE = new ImageInfo(0, 400, 300, 392, 308, 154);
    static final int GREY = 0x808080;

    @BeforeAll
    static void headless() {
        // servers have no display; the renderer must not need one
        System.setProperty("java.awt.headless", "true");
    }

    private static BufferedImage grey() {
        BufferedImage image = new BufferedImage(IMAGE.originalWidth(), IMAGE.originalHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.setRGB(x, y, GREY);
            }
        }
        return image;
    }

    private static int rgb(BufferedImage image, int x, int y) {
        return image.getRGB(x, y) & 0xFFFFFF;
    }

    @Test
    void drawsBoxBorderLabelAndLeavesTheRestAlone() throws IOException {
        // box 250..500 × 500..750 of 1000 → pixels x 100..200, y 150..225
        List<GroundingBox> boxes = new GroundingParser().parse(
                "<ref>狗 dog</ref><box>(250,500),(500,750)</box>", io.github.qwenvl.qwenvl.QwenVlSupport.QWEN_VL, List.of(IMAGE)).boxes();
        BufferedImage source = grey();

        byte[] png = new BoxRenderer().renderPng(source, boxes);

        assertThat(png).startsWith(0x89, 'P', 'N', 'G');
        BufferedImage out = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(out.getWidth()).isEqualTo(400);
        assertThat(out.getHeight()).isEqualTo(300);
        assertThat(rgb(out, 150, 151)).as("top edge").isNotEqualTo(GREY);
        assertThat(rgb(out, 101, 190)).as("left edge").isNotEqualTo(GREY);
        assertThat(rgb(out, 199, 190)).as("right edge").isNotEqualTo(GREY);
        assertThat(rgb(out, 150, 224)).as("bottom edge").isNotEqualTo(GREY);
        assertThat(rgb(out, 150, 190)).as("inside").isEqualTo(GREY);
        assertThat(rgb(out, 350, 50)).as("far corner").isEqualTo(GREY);
        assertThat(rgb(out, 20, 280)).as("far corner").isEqualTo(GREY);
        assertThat(rgb(source, 150, 151)).as("source untouched").isEqualTo(GREY);
    }

    @Test
    void drawsQuadsPointsAndEdgeBoxesWithDistinctColours() {
        List<GroundingBox> boxes = new GroundingParser().parse(
                "<ref>a</ref><box>(0,0),(1000,1000)</box><ref>b</ref><quad>(500,100),(900,100),(900,200),(500,200)</quad>"
                        + "{\"point_2d\": [196, 154], \"label\": \"c\"}", io.github.qwenvl.qwen2vl.Qwen2VlSupport.QWEN2_5_VL, List.of(IMAGE))
                .boxes();
        assertThat(boxes).hasSize(3);

        BufferedImage out = new BoxRenderer().render(grey(), boxes);

        int frame = rgb(out, 200, 299); // bottom edge of the full-image box: drawn inside the image
        int quad = rgb(out, 300, 60);   // bottom edge of the quad (y = 0.2 × 300)
        int point = rgb(out, 200, 150); // the point at the image centre
        assertThat(frame).isNotEqualTo(GREY);
        assertThat(quad).isNotEqualTo(GREY).isNotEqualTo(frame);
        assertThat(point).isNotEqualTo(GREY).isNotEqualTo(frame).isNotEqualTo(quad);
        assertThat(rgb(out, 100, 250)).isEqualTo(GREY);
    }

    @Test
    void keepsAlphaAndSkipsBoxesWithoutCoordinates() {
        BufferedImage transparent = new BufferedImage(10, 10, BufferedImage.TYPE_INT_ARGB);
        List<GroundingBox> unknownImage = new GroundingParser().parse("[{\"bbox_2d\": [1, 2, 3, 4]}]",
                io.github.qwenvl.qwen2vl.Qwen2VlSupport.QWEN2_5_VL, List.of()).boxes();

        BufferedImage out = new BoxRenderer().render(transparent, unknownImage);

        assertThat(out.getColorModel().hasAlpha()).isTrue();
        assertThat(out.getRGB(5, 5) >>> 24).isZero();
    }
}
