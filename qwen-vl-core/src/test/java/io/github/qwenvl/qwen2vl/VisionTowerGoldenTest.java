package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.EngineTuning;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Goldens (b): every vision case of every Qwen2-family set — output and every recorded intermediate. */
class VisionTowerGoldenTest {

    /** The Qwen2-family sets with vision goldens. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return sets.stream().filter(s -> s.isQwen2Family() && s.cases().entrySet().stream().anyMatch(e -> isVisionCase(e.getValue())))
                .toList();
    }

    private static boolean isVisionCase(JsonElement e) {
        if (!e.isJsonObject()) {
            return false;
        }
        JsonObject c = e.getAsJsonObject();
        return c.has("inputs") && c.has("keys") && c.getAsJsonObject("keys").has("output");
    }

    @TestFactory
    Stream<DynamicTest> visionCases() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(FixtureRoot.sets());
        for (FixtureSet set : sets) {
            for (Map.Entry<String, JsonElement> e : set.cases().entrySet()) {
                if (!isVisionCase(e.getValue())) {
                    continue;
                }
                JsonObject c = e.getValue().getAsJsonObject();
                tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey(), () -> runCase(set, c, EngineTuning.DEFAULTS)));
                // the same case with attention in 64-query-row blocks and the MLPs in 16-row blocks (what large
                // images use)
                tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/row_blocks", () -> runCase(set, c,
                        EngineTuning.DEFAULTS.withVisionAttentionBlockElements(1).withMlpBlockElements(1))));
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("VisionTowerGoldenTest", sets, tests);
        return tests.stream();
    }

    private void runCase(FixtureSet set, JsonObject c, EngineTuning tuning) {
        Path golden = set.resolve(c.get("file").getAsString());
        float[] pixels = ConcatInputs.floats(set, c.getAsJsonObject("inputs").getAsJsonObject("pixel_values"));
        long[] gridRows = Goldens.longs(golden, "image_grid_thw");
        List<ImageGrid> grids = new ArrayList<>();
        for (int i = 0; i < gridRows.length; i += 3) {
            grids.add(new ImageGrid((int) gridRows[i], (int) gridRows[i + 1], (int) gridRows[i + 2]));
        }
        ModelConfig config = ModelConfig.load(set.modelDir());
        try (NDManager manager = NDManager.newBaseManager(io.github.qwenvl.testing.TestDevice.device());
             SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(set.modelDir())) {
            WeightLoader loader = new WeightLoader(checkpoint, manager, io.github.qwenvl.testing.TestDevice.matrixType());
            Qwen2VisionTower tower = new Qwen2VisionTower(config.vision(), loader,
                    io.github.qwenvl.nn.LayerMatrices.copies(loader, "visual.blocks."), tuning);
            Map<String, float[]> traced = new HashMap<>();
            try (NDManager scope = manager.newSubManager()) {
                NDArray input = scope.create(pixels, new Shape(pixels.length / config.vision().patchDim(), config.vision().patchDim()));
                NDArray out = tower.forward(scope, input, grids, (name, value) ->
                        traced.put(name, value.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray()));
                traced.put("output", out.toFloatArray());
            }
            String tag = set.name() + "/" + c.get("file").getAsString();
            for (String key : c.getAsJsonObject("keys").keySet()) {
                if (key.equals("image_grid_thw")) {
                    continue;
                }
                assertThat(traced).as("%s: intermediate %s is computed", tag, key).containsKey(key);
                String dtype = c.getAsJsonObject("keys").getAsJsonObject(key).get("dtype").getAsString();
                if (dtype.startsWith("int")) {
                    long[] expected = Goldens.longs(golden, key);
                    float[] actual = traced.get(key);
                    long[] actualLongs = new long[actual.length];
                    for (int i = 0; i < actual.length; i++) {
                        actualLongs[i] = (long) actual[i];
                    }
                    assertThat(actualLongs).as("%s %s", tag, key).containsExactly(expected);
                } else {
                    Goldens.assertClose("vision " + key.replaceAll("_\\d+$", "_i") + ": " + tag,
                            Goldens.floats(golden, key), traced.get(key), 1e-4);
                }
            }
        }
    }
}
