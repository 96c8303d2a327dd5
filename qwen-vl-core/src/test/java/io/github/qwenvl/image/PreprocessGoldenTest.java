package io.github.qwenvl.image;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.config.ImageProcessorConfig;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import io.github.qwenvl.testing.MaxDiffLog;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/**
 * Goldens (a) of every fixture set whose manifest has {@code cases.preprocess}: one test per entry,
 * named {@code <set>/<entry>}. Sets and images come from the manifests only. {@code entries} are the checkpoint's
 * default processor, run as its {@code preprocessor_config.json} selects ({@link ImageProcessorConfig#resize()});
 * {@code entries_pil} (named {@code <set>/pil/<entry>}) the Pillow-backed processor with the same settings. An entry's
 * {@code processor_class}, where present, must name the implementation the configuration selected.
 *
 * <p>Bounds: PNG inputs (and a JPEG's companion {@code <stem>.decoded.png}, holding libjpeg-turbo's pixels)
 * must match to {@value #EXACT} — the resize is an exact port, so they are bit-equal in practice. A JPEG
 * decoded by ImageIO (IJG libjpeg 6b) may differ from libjpeg-turbo by a few levels per pixel; it gets
 * {@value #JPEG_LEVELS} uint8 levels on the resized image and {@value #JPEG_PIXEL_VALUES} on pixel values
 * (one level ≈ 0.015 after normalisation).
 */
class PreprocessGoldenTest {

    static final double EXACT = 1e-6;
    static final int JPEG_LEVELS = 8;
    static final double JPEG_PIXEL_VALUES = 0.125;

    /** Max |Δ| per check kind over the whole run, printed after the factory's tests. */
    private static final java.util.Map<String, Double> SUMMARY = new java.util.concurrent.ConcurrentSkipListMap<>();

    private final ImageDecoder decoder = new ImageDecoder();

    @org.junit.jupiter.api.AfterAll
    static void printSummary() {
        StringBuilder sb = new StringBuilder("[preprocess goldens, max |Δ| per kind]\n");
        SUMMARY.forEach((k, v) -> sb.append(String.format("  %-45s %.3e%n", k, v)));
        System.out.print(sb);
    }

    private static void record(String kind, double diff) {
        MaxDiffLog.record(kind, diff);
        SUMMARY.merge(kind, diff, Math::max);
    }

    /** The checkpoint sets (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) with preprocess entries. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return sets.stream().filter(s -> s.manifest().has("model_dir") && preprocessCases(s) != null).toList();
    }

    @TestFactory
    List<DynamicTest> preprocessGoldens() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(FixtureRoot.sets());
        for (FixtureSet set : sets) {
            JsonObject pre = preprocessCases(set);
            if (pre == null) {
                continue;
            }
            ImageProcessorConfig config = configOf(set);
            Qwen2VlImageProcessor processor = new Qwen2VlImageProcessor(config, decoder);
            for (JsonElement e : pre.getAsJsonArray("entries")) {
                JsonObject entry = e.getAsJsonObject();
                String name = set.name() + "/" + entry.get("name").getAsString();
                tests.add(dynamicTest(name, () -> checkStored(set, processor, entry)));
            }
            if (pre.has("entries_pil")) {
                Qwen2VlImageProcessor pil = new Qwen2VlImageProcessor(
                        config.withResize(ImageProcessorConfig.Resize.PILLOW), decoder);
                for (JsonElement e : pre.getAsJsonArray("entries_pil")) {
                    JsonObject entry = e.getAsJsonObject();
                    String name = set.name() + "/pil/" + entry.get("name").getAsString();
                    tests.add(dynamicTest(name, () -> checkStored(set, pil, entry)));
                }
            }
            if (pre.has("omitted")) {
                for (JsonElement e : pre.getAsJsonArray("omitted")) {
                    JsonObject entry = e.getAsJsonObject();
                    String name = set.name() + "/" + entry.get("name").getAsString() + " (omitted: size and grid)";
                    tests.add(dynamicTest(name, () -> checkOmitted(set, processor, entry)));
                }
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("PreprocessGoldenTest", sets, tests);
        return tests;
    }

    /** {@code cases.preprocess} when it has entries; other sets' {@code cases} may be a list (Qwen-VL family). */
    private static JsonObject preprocessCases(FixtureSet set) {
        JsonElement cases = set.manifest().get("cases");
        if (cases == null || !cases.isJsonObject()) {
            return null;
        }
        JsonElement pre = cases.getAsJsonObject().get("preprocess");
        return pre != null && pre.isJsonObject() && pre.getAsJsonObject().has("entries") ? pre.getAsJsonObject() : null;
    }

    private static ImageProcessorConfig configOf(FixtureSet set) {
        return set.manifest().has("model_dir")
                ? ImageProcessorConfig.read(set.modelDir().resolve("preprocessor_config.json"))
                : ImageProcessorConfig.defaults();
    }

    /** transformers 5.x class names: {@code Qwen2VLImageProcessorPil} is the Pillow one, the plain name torchvision. */
    static ImageProcessorConfig.Resize resizeOf(String processorClass) {
        return processorClass.endsWith("Pil")
                ? ImageProcessorConfig.Resize.PILLOW : ImageProcessorConfig.Resize.TORCHVISION;
    }

    private void checkStored(FixtureSet set, Qwen2VlImageProcessor processor, JsonObject entry) {
        if (entry.has("processor_class")) {
            assertThat(processor.config().resize()).as(entry.get("name") + " processor_class")
                    .isEqualTo(resizeOf(entry.get("processor_class").getAsString()));
        }
        Path image = set.resolve(entry.get("image").getAsString());
        long min = pixels(entry, "min_pixels", processor.config().minPixels());
        long max = pixels(entry, "max_pixels", processor.config().maxPixels());
        Path golden = set.resolve(entry.get("file").getAsString());
        float[] expected = Goldens.floats(golden, "pixel_values");
        long[] expectedShape = Goldens.shape(golden, "pixel_values");
        assertThat(Goldens.longs(golden, "image_grid_thw")).containsExactly(ints(entry, "image_grid_thw"));
        assertThat(Goldens.longs(golden, "resized_hw")).containsExactly(ints(entry, "resized_hw"));
        RgbImage expectedResized = entry.has("resized_png")
                ? decoder.decode(ImageSource.of(set.resolve(entry.get("resized_png").getAsString()))) : null;

        boolean jpeg = isJpeg(image);
        RgbImage decoded = decoder.decode(ImageSource.of(image));
        if (entry.has("original_hw")) {
            assertThat(new long[] {decoded.height(), decoded.width()}).containsExactly(ints(entry, "original_hw"));
        }
        String kind = (jpeg ? "jpeg (ImageIO decode)" : "png") + " " + processor.config().resize();
        check(kind, entry, processor, decoded, min, max, expected, expectedShape, expectedResized,
                jpeg ? JPEG_PIXEL_VALUES : EXACT, jpeg ? JPEG_LEVELS : 0);

        Path companion = companionPng(image);
        if (jpeg && Files.isRegularFile(companion)) {
            RgbImage libjpegTurbo = decoder.decode(ImageSource.of(companion));
            check("jpeg via decoded.png " + processor.config().resize(), entry, processor, libjpegTurbo, min, max, expected, expectedShape,
                    expectedResized, EXACT, 0);
        }
    }

    private static void check(String kind, JsonObject entry, Qwen2VlImageProcessor processor, RgbImage decoded,
                              long min, long max, float[] expected, long[] expectedShape, RgbImage expectedResized,
                              double valueBound, int levelBound) {
        String what = entry.get("name").getAsString() + " " + kind;
        ProcessedImage out = processor.process(decoded, min, max);
        assertThat(new long[] {out.resizedHeight(), out.resizedWidth()}).as(what + " resized_hw")
                .containsExactly(ints(entry, "resized_hw"));
        assertThat(out.gridThw()).as(what + " image_grid_thw").containsExactly(ints(entry, "image_grid_thw"));
        assertThat(new long[] {out.numPatches(), out.patchDim()}).as(what + " pixel_values shape")
                .containsExactly(expectedShape);
        if (entry.has("num_llm_tokens")) {
            assertThat(out.numLlmTokens()).isEqualTo(entry.get("num_llm_tokens").getAsInt());
        }

        if (expectedResized != null) {
            RgbImage resized = processor.resize(decoded, min, max);
            int levels = maxLevelDiff(expectedResized, resized);
            record("resized uint8 levels " + kind, levels);
            assertThat(levels).as(what + " resized uint8 max level difference").isLessThanOrEqualTo(levelBound);
        }
        double diff = Goldens.maxAbsDiff(expected, out.pixelValues());
        record("pixel_values " + kind, diff);
        assertThat(diff).as(what + " pixel_values max |Δ|").isLessThanOrEqualTo(valueBound);
    }

    private void checkOmitted(FixtureSet set, Qwen2VlImageProcessor processor, JsonObject entry) {
        Path image = set.resolve(entry.get("image").getAsString());
        RgbImage decoded = decoder.decode(ImageSource.of(image));
        long min = pixels(entry, "min_pixels", processor.config().minPixels());
        long max = pixels(entry, "max_pixels", processor.config().maxPixels());
        SmartResize.Size size = processor.targetSize(decoded.height(), decoded.width(), min, max);
        assertThat(new long[] {size.height(), size.width()}).containsExactly(ints(entry, "resized_hw"));
        ProcessedImage out = processor.process(decoded, min, max);
        assertThat(out.gridThw()).containsExactly(ints(entry, "image_grid_thw"));
        if (entry.has("num_patches")) {
            assertThat(out.numPatches()).isEqualTo(entry.get("num_patches").getAsInt());
        }
    }

    static int maxLevelDiff(RgbImage expected, RgbImage actual) {
        assertThat(new int[] {actual.height(), actual.width()}).containsExactly(expected.height(), expected.width());
        int max = 0;
        for (int i = 0; i < expected.rgb().length; i++) {
            max = Math.max(max, Math.abs((expected.rgb()[i] & 0xFF) - (actual.rgb()[i] & 0xFF)));
        }
        return max;
    }

    private static long pixels(JsonObject entry, String key, long fallback) {
        return entry.has(key) ? entry.get(key).getAsLong() : fallback;
    }

    private static long[] ints(JsonObject entry, String key) {
        JsonArray a = entry.getAsJsonArray(key);
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }

    /** By content (JPEG SOI marker), not by file name. */
    private static boolean isJpeg(Path file) {
        try (var in = Files.newInputStream(file)) {
            return in.read() == 0xFF && in.read() == 0xD8;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Path companionPng(Path image) {
        String name = image.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return image.resolveSibling((dot < 0 ? name : name.substring(0, dot)) + ".decoded.png");
    }
}
