package io.github.qwenvl.grounding;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs the original Qwen-VL's box goldens ({@code goldens/boxes.json} of a Qwen-VL fixture set, e.g.
 * {@code qwen-vl-tiny}): what the remote {@code _fetch_all_box_with_ref} returned and which calls
 * {@code draw_bbox_on_latest_picture} made. Tests are generated only for sets of the fixture root that have that
 * file, so the suite is empty until such a set is bundled.
 *
 * <p>Labels as the remote code pairs them: a box has the golden's ref, or no label where the golden has none.
 */
class QwenVlBoxGoldenTest {

    /** The sets with {@code goldens/boxes.json}. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return sets.stream().filter(set -> Files.isRegularFile(boxesFile(set))).toList();
    }

    @TestFactory
    Stream<DynamicNode> boxGoldens() {
        return goldenSets(FixtureRoot.sets()).stream()
                .map(set -> DynamicContainer.dynamicContainer(set.name(), cases(set)));
    }

    private static Path boxesFile(FixtureSet set) {
        return set.dir().resolve("goldens").resolve("boxes.json");
    }

    private static Stream<DynamicTest> cases(FixtureSet set) {
        JsonObject goldens = FixtureRoot.readJson(boxesFile(set));
        List<DynamicTest> tests = new ArrayList<>();
        JsonArray cases = goldens.getAsJsonArray("cases");
        for (int c = 0; c < cases.size(); c++) {
            JsonObject golden = cases.get(c).getAsJsonObject();
            String response = golden.get("response").getAsString();
            JsonArray hw = golden.getAsJsonArray("image_hw");
            // Qwen-VL resizes every image to 448×448 (256 resampler tokens); boxes are 0-1000 so that does not matter
            ImageInfo image = new ImageInfo(0, hw.get(1).getAsInt(), hw.get(0).getAsInt(), 448, 448, 256);
            tests.add(DynamicTest.dynamicTest("case " + c + ": " + response, () -> check(golden, response, image)));
            tests.add(DynamicTest.dynamicTest("case " + c + " prefixes", () -> checkPrefixes(response, image)));
        }
        return tests.stream();
    }

    private static void check(JsonObject golden, String response, ImageInfo image) {
        List<GroundingBox> boxes = new GroundingParser().parse(response, ModelArchitecture.QWEN_VL, List.of(image))
                .boxes();
        JsonArray expected = golden.getAsJsonArray("fetch_all_box_with_ref");
        assertThat(boxes).hasSize(expected.size());

        for (int k = 0; k < expected.size(); k++) {
            JsonObject want = expected.get(k).getAsJsonObject();
            GroundingBox got = boxes.get(k);
            double[] model = new double[4];
            for (int j = 0; j < 4; j++) {
                model[j] = want.getAsJsonArray("box").get(j).getAsDouble();
            }
            assertThat(got.modelCoordinates()).containsExactly(model);
            assertThat(got.label()).as("label of box %d", k).isEqualTo(want.has("ref") ? want.get("ref").getAsString() : null);
        }

        // draw_bbox_on_latest_picture: int(x / 1000 * w) per box, text at (x1, y1) only for boxes with a ref
        int box = -1;
        for (JsonElement e : golden.getAsJsonArray("draw_calls")) {
            JsonObject call = e.getAsJsonObject();
            if (call.has("draw_box")) {
                box++;
                JsonArray xyxy = call.getAsJsonArray("draw_box");
                int[] want = {xyxy.get(0).getAsInt(), xyxy.get(1).getAsInt(), xyxy.get(2).getAsInt(), xyxy.get(3).getAsInt()};
                assertThat(boxes.get(box).pixels().truncated()).as("draw_box %d", box).containsExactly(want);
            } else if (call.has("draw_text")) {
                assertThat(boxes.get(box).label()).isEqualTo(call.get("draw_text").getAsString());
                JsonArray at = call.getAsJsonArray("at");
                int[] corner = boxes.get(box).pixels().truncated();
                assertThat(new int[] {corner[0], corner[1]}).containsExactly(at.get(0).getAsInt(), at.get(1).getAsInt());
            }
        }
    }

    private static void checkPrefixes(String response, ImageInfo image) {
        GroundingParser parser = new GroundingParser();
        List<GroundingBox> all = parser.parse(response, ModelArchitecture.QWEN_VL, List.of(image)).boxes();
        for (int end = 0; end <= response.length(); end++) {
            List<GroundingBox> found = parser.parse(response.substring(0, end), ModelArchitecture.QWEN_VL,
                    List.of(image)).boxes();
            assertThat(found).isEqualTo(all.subList(0, found.size()));
        }
    }
}
