package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonObject;
import io.github.qwenvl.qwen2vl.ImageGrid;
import io.github.qwenvl.qwen2vl.RopeIndex;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Goldens (c) of every Qwen3-VL set: interleaved M-RoPE position ids (image tokens at (t, row, column) offsets of the
 * 2×2-merged grid, padding positions 0) and rope deltas, of every prompt and of the left-padded batch, row by row.
 */
class Qwen3RopeIndexGoldenTest {

    /** The sets this suite runs: the Qwen3-VL sets (dense and MoE) with rope-index goldens. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return Qwen3Networks.withCase(sets, "rope_index");
    }

    @TestFactory
    Stream<DynamicTest> ropeIndexCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : goldenSets(io.github.qwenvl.testing.FixtureRoot.sets())) {
            JsonObject rope = set.cases().getAsJsonObject("rope_index");
            Path file = set.resolve(rope.get("file").getAsString());
            for (String name : rope.getAsJsonObject("cases").keySet()) {
                tests.add(DynamicTest.dynamicTest(set.name() + "/rope_index/" + name, () -> check(set, file, name)));
            }
        }
        return tests.stream();
    }

    private void check(FixtureSet set, Path file, String name) {
        Qwen3VlNetwork net = Qwen3Networks.of(set);
        long[] shape = Goldens.shape(file, name + ".input_ids");
        int batch = (int) shape[0];
        int seq = (int) shape[1];
        long[] ids = Goldens.longs(file, name + ".input_ids");
        long[] mask = Goldens.longs(file, name + ".attention_mask");
        long[] types = Goldens.longs(file, name + ".mm_token_type_ids");
        long[] positions = Goldens.longs(file, name + ".position_ids");
        long[] deltas = Goldens.longs(file, name + ".rope_deltas");
        List<ImageGrid> grids = Qwen3LogitsGoldenTest.grids(file, name + ".image_grid_thw");
        int imageToken = net.qwen3().text().imageTokenId();
        int nextGrid = 0;
        for (int r = 0; r < batch; r++) {
            int[] row = new int[seq];
            int[] maskRow = new int[seq];
            int images = 0;
            for (int i = 0; i < seq; i++) {
                row[i] = (int) ids[r * seq + i];
                maskRow[i] = (int) mask[r * seq + i];
                // the image tokens are what mm_token_type_ids marks as images
                assertThat(types[r * seq + i] == 1).as("%s mm_token_type_ids at %d", name, i)
                        .isEqualTo(row[i] == imageToken);
                if (row[i] == imageToken && (i == 0 || row[i - 1] != imageToken)) {
                    images++;
                }
            }
            RopeIndex rope = net.ropeIndex(row, maskRow, grids.subList(nextGrid, nextGrid + images));
            nextGrid += images;
            for (int a = 0; a < 3; a++) {
                long[] expected = new long[seq];
                System.arraycopy(positions, (a * batch + r) * seq, expected, 0, seq);
                assertThat(rope.positions()[a]).as("%s/%s axis %d row %d", set.name(), name, a, r)
                        .containsExactly(expected);
            }
            assertThat(rope.ropeDelta()).as("%s/%s rope_deltas row %d", set.name(), name, r).isEqualTo(deltas[r]);
        }
    }
}
