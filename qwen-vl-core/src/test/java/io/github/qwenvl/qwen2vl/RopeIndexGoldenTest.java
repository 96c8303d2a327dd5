package io.github.qwenvl.qwen2vl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Goldens (c): get_rope_index for every prompt of every Qwen2-family set, padded batch included. */
class RopeIndexGoldenTest {

    /** The Qwen2-family sets with rope_index goldens. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return sets.stream().filter(s -> s.isQwen2Family() && s.cases().has("rope_index")).toList();
    }

    @TestFactory
    Stream<DynamicTest> ropeIndexCases() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(FixtureRoot.sets());
        for (FixtureSet set : sets) {
            JsonObject ropeCase = set.cases().getAsJsonObject("rope_index");
            Path file = set.resolve(ropeCase.get("file").getAsString());
            for (Map.Entry<String, JsonElement> e : ropeCase.getAsJsonObject("cases").entrySet()) {
                String name = e.getKey();
                tests.add(DynamicTest.dynamicTest(set.name() + "/rope_index/" + name, () -> check(set, file, name)));
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("RopeIndexGoldenTest", sets, tests);
        return tests.stream();
    }

    private void check(FixtureSet set, Path file, String name) {
        ModelConfig config = ModelConfig.load(set.modelDir());
        int imageToken = config.text().imageTokenId();
        long[] idsShape = Goldens.shape(file, name + ".input_ids");
        int batch = (int) idsShape[0];
        int seq = (int) idsShape[1];
        long[] ids = Goldens.longs(file, name + ".input_ids");
        long[] mask = Goldens.longs(file, name + ".attention_mask");
        List<ImageGrid> grids = GoldenGrids.parse(Goldens.file(file).contains(name + ".image_grid_thw")
                ? Goldens.longs(file, name + ".image_grid_thw") : null);
        long[] expectedPositions = Goldens.longs(file, name + ".position_ids"); // (3, B, S)
        long[] expectedDeltas = Goldens.longs(file, name + ".rope_deltas");    // (B, 1)
        int nextGrid = 0;
        for (int r = 0; r < batch; r++) {
            int[] rowIds = GoldenGrids.row(ids, r, seq);
            int images = GoldenGrids.imagesIn(rowIds, imageToken);
            List<ImageGrid> rowGrids = grids.subList(nextGrid, nextGrid + images);
            nextGrid += images;
            // The goldens record the literal call get_rope_index(input_ids, image_grid_thw, None, attention_mask).
            // Qwen2.5-VL's signature is (input_ids, image_grid_thw, video_grid_thw, second_per_grid_ts,
            // attention_mask): there the mask lands in second_per_grid_ts and the reference treats every
            // token as real. Reproduce that call; the masked behaviour of Qwen2.5-VL (what forward() uses)
            // is proven by the padded-batch logits test.
            boolean maskPassed = config.architecture() != io.github.qwenvl.config.ModelArchitecture.QWEN2_5_VL;
            RopeIndex index = RopeIndex.compute(rowIds, maskPassed ? GoldenGrids.row(mask, r, seq) : null, rowGrids,
                    imageToken, config.vision().spatialMergeSize());
            for (int a = 0; a < 3; a++) {
                long[] expected = new long[seq];
                System.arraycopy(expectedPositions, (a * batch + r) * seq, expected, 0, seq);
                assertThat(index.positions()[a]).as("%s row %d axis %d", name, r, a).containsExactly(expected);
            }
            assertThat(index.ropeDelta()).as("%s row %d rope delta", name, r).isEqualTo(expectedDeltas[r]);
        }
    }
}
