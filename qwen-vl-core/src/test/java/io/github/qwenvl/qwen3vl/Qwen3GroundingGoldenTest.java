package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.grounding.BoxRenderer;
import io.github.qwenvl.grounding.CoordinateSpace;
import io.github.qwenvl.grounding.GroundingBox;
import io.github.qwenvl.grounding.GroundingMarkup;
import io.github.qwenvl.grounding.GroundingParser;
import io.github.qwenvl.grounding.GroundingResult;
import io.github.qwenvl.grounding.GroundingSyntax;
import io.github.qwenvl.image.SmartResize;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Goldens (g) of every Qwen3-VL set: the model-style answer (JSON in a fence, {@code bbox_2d} boxes and
 * {@code point_2d} points on the 0–1000 grid) parsed with the checkpoint's own architecture into boxes and points in
 * original-image pixels, labels kept, the fence gone from the clean text; each box written back as a region question
 * gives the model's numbers again, and {@link BoxRenderer} draws the point.
 */
class Qwen3GroundingGoldenTest {

    /** The sets of {@code sets} this suite runs: the Qwen3-VL ones with a grounding case. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return Qwen3Sets.of(sets).stream().filter(set -> set.cases().has("grounding")
                && set.cases().get("grounding").isJsonObject()).toList();
    }

    @TestFactory
    Stream<DynamicTest> groundingCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : goldenSets(FixtureRoot.sets())) {
            JsonElement entry = set.cases().get("grounding");
            JsonObject golden = FixtureRoot.readJson(set.resolve(entry.getAsJsonObject().get("file").getAsString()));
            tests.add(DynamicTest.dynamicTest(set.name() + "/grounding", () -> check(set, golden)));
        }
        return tests.stream();
    }

    private static void check(FixtureSet set, JsonObject golden) {
        ModelConfig config = ModelConfig.load(set.modelDir());
        ModelArchitecture arch = config.architecture();
        JsonArray wh = golden.getAsJsonArray("image_wh");
        int width = wh.get(0).getAsInt();
        int height = wh.get(1).getAsInt();
        SmartResize.Size resized = SmartResize.compute(height, width, config.imageProcessor().factor(),
                config.imageProcessor().minPixels(), config.imageProcessor().maxPixels());
        ImageInfo image = new ImageInfo(0, width, height, resized.width(), resized.height(), 1);
        GroundingResult result = new GroundingParser().parse(golden.get("answer").getAsString(), arch, List.of(image));
        JsonArray expected = golden.getAsJsonArray("expected");
        assertThat(result.boxes()).hasSize(expected.size());
        for (int i = 0; i < expected.size(); i++) {
            JsonObject e = expected.get(i).getAsJsonObject();
            GroundingBox box = result.boxes().get(i);
            assertThat(box.label()).isEqualTo(e.get("label").getAsString());
            assertThat(box.syntax()).isEqualTo(GroundingSyntax.JSON);
            assertThat(box.space()).isEqualTo(CoordinateSpace.RELATIVE_1000);
            assertThat(box.imageIndex()).isZero();
            if (e.has("bbox_2d_pixels")) {
                assertThat(box.kind()).isEqualTo(GroundingBox.Kind.BOX);
                assertThat(box.modelCoordinates()).containsExactly(doubles(e.getAsJsonArray("bbox_2d_rel1000")));
                double[] px = doubles(e.getAsJsonArray("bbox_2d_pixels"));
                assertThat(new double[] {box.pixels().x1(), box.pixels().y1(), box.pixels().x2(), box.pixels().y2()})
                        .containsExactly(px, within(1e-9));
                // a region question writes the same box back in the model's own form
                String region = GroundingMarkup.region(arch, image, px[0], px[1], px[2], px[3], box.label());
                GroundingBox reparsed = new GroundingParser().parse(region, arch, List.of(image)).boxes().get(0);
                assertThat(reparsed.modelCoordinates()).containsExactly(box.modelCoordinates());
                assertThat(region).contains("\"bbox_2d\"").contains(box.label());
            } else {
                assertThat(box.kind()).isEqualTo(GroundingBox.Kind.POINT);
                assertThat(box.modelCoordinates()).containsExactly(doubles(e.getAsJsonArray("point_2d_rel1000")));
                double[] px = doubles(e.getAsJsonArray("point_2d_pixels"));
                assertThat(new double[] {box.pixels().x1(), box.pixels().y1(), box.pixels().x2(), box.pixels().y2()})
                        .containsExactly(new double[] {px[0], px[1], px[0], px[1]}, within(1e-9));
            }
        }
        assertThat(result.cleanText()).doesNotContain("bbox_2d").doesNotContain("point_2d");
        // every box and point is drawn over the image: the pixel under the point is no longer the background
        java.awt.image.BufferedImage canvas = new java.awt.image.BufferedImage(width, height,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.awt.image.BufferedImage drawn = new BoxRenderer().render(canvas, result.boxes());
        GroundingBox point = result.boxes().stream().filter(b -> b.kind() == GroundingBox.Kind.POINT).findFirst()
                .orElseThrow();
        assertThat(drawn.getRGB((int) point.pixels().x1(), (int) point.pixels().y1()) & 0xFFFFFF).isNotZero();
    }

    private static double[] doubles(JsonArray a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsDouble();
        }
        return out;
    }
}
