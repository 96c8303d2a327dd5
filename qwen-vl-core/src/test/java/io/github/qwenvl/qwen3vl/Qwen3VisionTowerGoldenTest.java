package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.image.ImageDecoder;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.image.ProcessedImage;
import io.github.qwenvl.image.Qwen2VlImageProcessor;
import io.github.qwenvl.config.ImageProcessorConfig;
import io.github.qwenvl.nn.LayerMatrices;
import io.github.qwenvl.nn.cpu.DecodeThreads;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.MappedMatrices;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.qwen2vl.ImageGrid;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import io.github.qwenvl.testing.TestDevice;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Goldens (b) of every Qwen3-VL set: every vision case (a case with {@code inputs} and an {@code output} key) —
 * the merger output, every DeepStack level and every stored intermediate (patch embedding, interpolated position
 * embedding, rotary positions and angles, each block, cu_seqlens). Each case also runs with the blocks' matrices
 * widened per block from the mapped checkpoint, in small row blocks (what large images use), and from the image files
 * through the processor and the engine-tensor input path.
 */
class Qwen3VisionTowerGoldenTest {

    /** The sets of {@code sets} this suite runs: the Qwen3-VL ones with a vision case. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return Qwen3Sets.of(sets).stream().filter(set -> set.cases().entrySet().stream()
                .anyMatch(e -> isVisionCase(e.getValue()))).toList();
    }

    private static boolean isVisionCase(JsonElement c) {
        return c.isJsonObject() && c.getAsJsonObject().has("inputs") && c.getAsJsonObject().has("keys")
                && c.getAsJsonObject().getAsJsonObject("keys").has("output");
    }

    @TestFactory
    Stream<DynamicTest> visionCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : goldenSets(io.github.qwenvl.testing.FixtureRoot.sets())) {
            for (Map.Entry<String, JsonElement> e : set.cases().entrySet()) {
                if (!isVisionCase(e.getValue())) {
                    continue;
                }
                JsonObject c = e.getValue().getAsJsonObject();
                String name = set.name() + "/" + e.getKey();
                tests.add(DynamicTest.dynamicTest(name, () -> runCase(set, c, false, io.github.qwenvl.EngineTuning.DEFAULTS)));
                tests.add(DynamicTest.dynamicTest(name + "/widened_per_layer",
                        () -> runCase(set, c, true, io.github.qwenvl.EngineTuning.DEFAULTS)));
                // attention in 64-query-row blocks, heads one at a time, MLPs in 16-row blocks
                tests.add(DynamicTest.dynamicTest(name + "/row_blocks", () -> runCase(set, c, false,
                        io.github.qwenvl.EngineTuning.DEFAULTS.withVisionAttentionBlockElements(1).withMlpBlockElements(1))));
                if (c.getAsJsonObject("inputs").has("images")) {
                    tests.add(DynamicTest.dynamicTest(name + "/from_images", () -> fromImages(set, c)));
                }
            }
        }
        return tests.stream();
    }

    static Qwen3VisionConfig visionConfig(FixtureSet set) {
        JsonObject config = io.github.qwenvl.testing.FixtureRoot.readJson(set.modelDir().resolve("config.json"));
        return Qwen3VisionConfig.from(config.getAsJsonObject("vision_config"));
    }

    private static List<ImageGrid> grids(Path golden) {
        long[] rows = Goldens.longs(golden, "image_grid_thw");
        List<ImageGrid> grids = new ArrayList<>();
        for (int i = 0; i < rows.length; i += 3) {
            grids.add(new ImageGrid((int) rows[i], (int) rows[i + 1], (int) rows[i + 2]));
        }
        return grids;
    }

    /** @param widened the blocks' matrices widened per block from the mapped BF16 checkpoint (the CPU default) */
    private void runCase(FixtureSet set, JsonObject c, boolean widened, io.github.qwenvl.EngineTuning tuning) {
        Path golden = set.resolve(c.get("file").getAsString());
        float[] pixels = Qwen3Sets.concat(set, c.getAsJsonObject("inputs").getAsJsonObject("pixel_values"));
        List<ImageGrid> grids = grids(golden);
        Qwen3VisionConfig config = visionConfig(set);
        try (NDManager manager = NDManager.newBaseManager(TestDevice.device());
             SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(set.modelDir());
             DecodeThreads threads = new DecodeThreads(2)) {
            WeightLoader weights = new WeightLoader(checkpoint, manager, TestDevice.matrixType());
            LayerMatrices matrices = widened
                    ? LayerMatrices.widenedPerLayer(weights, "visual.blocks.", new MappedMatrices(checkpoint),
                            Kernels.get(), threads)
                    : LayerMatrices.copies(weights, "visual.blocks.");
            Qwen3VisionTower tower = new Qwen3VisionTower(config, weights, matrices, tuning);
            assertThat(matrices.widenedPerLayer()).isEqualTo(widened);
            Map<String, float[]> traced = new HashMap<>();
            try (NDManager scope = manager.newSubManager()) {
                NDArray input = scope.create(pixels, new Shape(pixels.length / config.patchDim(), config.patchDim()));
                Qwen3VisionTower.Output out = tower.forward(scope, input, grids, (name, value) ->
                        traced.put(name, value.toType(DataType.FLOAT32, false).toFloatArray()));
                assertThat(out.deepstack()).hasSize(config.deepstackVisualIndexes().length);
                traced.put("output", out.embeddings().toFloatArray());
                for (int j = 0; j < out.deepstack().size(); j++) {
                    assertThat(traced.get("deepstack_" + j)).containsExactly(out.deepstack().get(j).toFloatArray());
                }
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
                    Goldens.assertClose("qwen3 vision " + key.replaceAll("_\\d+$", "_i") + ": " + tag,
                            Goldens.floats(golden, key), traced.get(key), 1e-4);
                }
            }
        }
    }

    /** From the case's image files through the default processor, pixel rows written into the engine tensor. */
    private void fromImages(FixtureSet set, JsonObject c) {
        Path golden = set.resolve(c.get("file").getAsString());
        Qwen3VisionConfig config = visionConfig(set);
        ImageProcessorConfig processorConfig = ImageProcessorConfig.read(set.modelDir().resolve("preprocessor_config.json"));
        JsonObject settings = set.cases().getAsJsonObject("preprocess").getAsJsonObject("settings");
        List<ProcessedImage> images = new ArrayList<>();
        Qwen2VlImageProcessor processor = new Qwen2VlImageProcessor(processorConfig, new ImageDecoder());
        for (JsonElement e : c.getAsJsonObject("inputs").getAsJsonArray("images")) {
            JsonObject image = e.getAsJsonObject();
            Path file = set.resolve(imagePath(set, image.get("image").getAsString()));
            long max = processorConfig.maxPixels();
            JsonElement setting = settings.get(image.get("setting").getAsString());
            if (setting != null && setting.isJsonObject() && setting.getAsJsonObject().has("longest_edge")) {
                max = setting.getAsJsonObject().get("longest_edge").getAsLong();
            }
            images.add(processor.process(ImageSource.of(file), processorConfig.minPixels(), max));
        }
        List<ImageGrid> grids = images.stream().map(i -> new ImageGrid(i.gridT(), i.gridH(), i.gridW())).toList();
        assertThat(grids).isEqualTo(grids(golden));
        try (NDManager manager = NDManager.newBaseManager(TestDevice.device());
             SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(set.modelDir())) {
            Qwen3VisionTower tower = new Qwen3VisionTower(config,
                    new WeightLoader(checkpoint, manager, TestDevice.matrixType()));
            try (NDManager scope = manager.newSubManager()) {
                int[] blocksRun = {0};
                Qwen3VisionTower.Output out = tower.forward(scope, images, () -> blocksRun[0]++);
                assertThat(blocksRun[0]).isEqualTo(config.depth());
                String tag = set.name() + "/" + c.get("file").getAsString() + " from images";
                Goldens.assertClose("qwen3 vision output from images: " + tag, Goldens.floats(golden, "output"),
                        out.embeddings().toFloatArray(), 1e-4);
                for (int j = 0; j < out.deepstack().size(); j++) {
                    Goldens.assertClose("qwen3 vision deepstack_i from images: " + tag,
                            Goldens.floats(golden, "deepstack_" + j), out.deepstack().get(j).toFloatArray(), 1e-4);
                }
            }
        }
    }

    /** The case names an image file of the common folder by its file name. */
    private static String imagePath(FixtureSet set, String name) {
        for (JsonElement e : set.cases().getAsJsonObject("preprocess").getAsJsonArray("entries")) {
            String image = e.getAsJsonObject().get("image").getAsString();
            if (image.endsWith("/" + name) || image.equals(name)) {
                return image;
            }
        }
        throw new AssertionError("no preprocess entry names image " + name);
    }
}
