package io.github.qwenvl.qwenvl;

import io.github.qwenvl.nn.KvCache;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.checkpoint.TensorStore;
import io.github.qwenvl.image.ImageDecoder;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.image.RgbImage;
import io.github.qwenvl.nn.Trace;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import io.github.qwenvl.testing.MaxDiffLog;
import io.github.qwenvl.tokenizer.QwenTiktokenTokenizer;
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
 * Goldens (a)–(d) of every Qwen-VL model set, from its manifest: preprocessing, visual embeddings and trace, the
 * multi-head-resampler visual checkpoint, and per case the prompt ids, layer inputs, block-0 trace, final norm,
 * logits, top-5, argmax, logsumexp, greedy ids (KV cache) and the chat() result. Tests named {@code <set>/<kind>/<case>}.
 */
class QwenVlModelGoldenTest {

    static final double HIDDEN_ATOL = 1e-4;
    static final double LOGITS_ATOL = 2e-4;
    static final double LOGITS_RTOL = 1e-4;

    private static final Map<String, Double> SUMMARY = new java.util.concurrent.ConcurrentSkipListMap<>();

    @org.junit.jupiter.api.AfterAll
    static void printSummary() {
        StringBuilder sb = new StringBuilder("[qwen-vl goldens, max |Δ| per kind]\n");
        SUMMARY.forEach((k, v) -> sb.append(String.format("  %-50s %.3e%n", k, v)));
        System.out.print(sb);
    }

    static void record(String what, double diff) {
        MaxDiffLog.record(what, diff);
        SUMMARY.merge(what.split("[\\[:]", 2)[0].trim(), diff, Math::max);
    }

    static void close(String what, float[] expected, float[] actual, double atol) {
        Goldens.assertClose(what, expected, actual, atol);
        record(what, Goldens.maxAbsDiff(expected, actual));
    }

    /** The Qwen-VL checkpoint sets. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return QwenVlSets.modelSets(sets);
    }

    @TestFactory
    Stream<DynamicTest> qwenVlGoldens() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(FixtureRoot.sets());
        for (FixtureSet set : sets) {
            JsonObject m = set.manifest();
            if (m.has("preprocess")) {
                for (String key : m.getAsJsonObject("preprocess").getAsJsonObject("tensors").keySet()) {
                    if (key.startsWith("resized_u8.")) {
                        tests.add(DynamicTest.dynamicTest(set.name() + "/preprocess/" + key, () -> resized(set, key)));
                    } else if (key.startsWith("pixel_values.")) {
                        tests.add(DynamicTest.dynamicTest(set.name() + "/preprocess/" + key, () -> pixelValues(set, key)));
                    } else if (key.startsWith("decoded_rgb_u8.")) {
                        tests.add(DynamicTest.dynamicTest(set.name() + "/preprocess/" + key, () -> jpegDecode(set, key)));
                    }
                }
            }
            if (m.has("visual")) {
                JsonObject v = m.getAsJsonObject("visual");
                Path file = set.dir().resolve(v.get("file").getAsString());
                for (String key : v.getAsJsonObject("embeds").keySet()) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/visual/" + key, () -> {
                        List<String> images = key.equals("embeds_batch2")
                                ? strings(v.getAsJsonArray("batch2_images")) : List.of(key.substring("embeds.".length()));
                        float[] pixels = concat(images.stream().map(i -> QwenVlSets.goldenPixels(set, i)).toList());
                        float[] out = runVision(QwenVlSets.network(set).vision(), pixels, images.size(), null);
                        close("qwen-vl visual embeds", Goldens.floats(file, key), out, HIDDEN_ATOL);
                    }));
                }
                if (v.has("trace")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/visual/trace", () -> {
                        Map<String, float[]> trace = new HashMap<>();
                        runVision(QwenVlSets.network(set).vision(),
                                QwenVlSets.goldenPixels(set, v.get("trace_image").getAsString()), 1, trace);
                        checkTrace(file, v.getAsJsonObject("trace").keySet(), trace, "qwen-vl visual trace");
                    }));
                }
            }
            if (m.has("visual_mh")) {
                tests.add(DynamicTest.dynamicTest(set.name() + "/visual_mh", () -> visualMultiHead(set, m.getAsJsonObject("visual_mh"))));
            }
            for (JsonElement e : QwenVlSets.cases(set)) {
                JsonObject c = e.getAsJsonObject();
                String name = c.get("name").getAsString();
                tests.add(DynamicTest.dynamicTest(set.name() + "/prompt_ids/" + name, () -> {
                    QwenTiktokenTokenizer t = QwenVlSets.tokenizer(QwenVlSets.modelDir(set).resolve(QwenTiktokenTokenizer.VOCAB_FILE));
                    QwenVlTokenizerGoldenTest.promptCase(t, c.getAsJsonObject("prompt"), QwenVlSets.ints(c.getAsJsonArray("input_ids")));
                }));
                tests.add(DynamicTest.dynamicTest(set.name() + "/forward/" + name, () -> forwardCase(set, c)));
                tests.add(DynamicTest.dynamicTest(set.name() + "/greedy/" + name, () -> greedyCase(set, c)));
                // prefill attention in 16-query-row blocks (what long prompts use; the long case is blocked anyway)
                tests.add(DynamicTest.dynamicTest(set.name() + "/greedy/" + name + "/query_row_blocks",
                        () -> io.github.qwenvl.testing.SmallBlocks.run(() -> greedyCase(set, c))));
                if (c.has("chat") && c.get("chat").isJsonObject()) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/chat/" + name, () -> chatCase(set, c)));
                }
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("QwenVlModelGoldenTest", sets, tests);
        return tests.stream();
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        a.forEach(e -> out.add(e.getAsString()));
        return out;
    }

    static float[] concat(List<float[]> parts) {
        int n = parts.stream().mapToInt(p -> p.length).sum();
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    // ---- preprocessing ----

    private static Path imagePath(FixtureSet set, String name) {
        JsonObject images = set.manifest().getAsJsonObject("images");
        return set.dir().resolve(images.getAsJsonObject(name).get("path").getAsString());
    }

    private static boolean isJpeg(FixtureSet set, String name) {
        JsonObject img = set.manifest().getAsJsonObject("images").getAsJsonObject(name);
        return img.has("format") && img.get("format").getAsString().equalsIgnoreCase("JPEG");
    }

    private static RgbImage goldenU8(Path file, String key) {
        long[] shape = Goldens.shape(file, key);
        float[] u8 = Goldens.floats(file, key);
        byte[] rgb = new byte[u8.length];
        for (int i = 0; i < u8.length; i++) {
            rgb[i] = (byte) Math.round(u8[i]);
        }
        return new RgbImage((int) shape[1], (int) shape[0], rgb);
    }

    private static double maxLevelDiff(RgbImage a, RgbImage b) {
        assertThat(a.width()).isEqualTo(b.width());
        assertThat(a.height()).isEqualTo(b.height());
        int max = 0;
        for (int i = 0; i < a.rgb().length; i++) {
            max = Math.max(max, Math.abs((a.rgb()[i] & 0xFF) - (b.rgb()[i] & 0xFF)));
        }
        return max;
    }

    private static void resized(FixtureSet set, String key) {
        String name = key.substring("resized_u8.".length());
        Path file = QwenVlSets.preprocessFile(set);
        RgbImage expected = goldenU8(file, key);
        int size = set.manifest().getAsJsonObject("preprocess").get("image_size").getAsInt();
        QwenVlImageProcessor processor = new QwenVlImageProcessor(new ImageDecoder(), size);
        if (isJpeg(set, name) && Goldens.file(file).contains("decoded_rgb_u8." + name)) {
            // Pillow's own decode (libjpeg-turbo) resized by our port: exact
            double exact = maxLevelDiff(expected, processor.resize(goldenU8(file, "decoded_rgb_u8." + name)));
            record("qwen-vl resized_u8 (from golden decode)", exact);
            assertThat(exact).isLessThanOrEqualTo(1);
            double viaImageIo = maxLevelDiff(expected, processor.resize(processor.decoder().decode(ImageSource.of(imagePath(set, name)))));
            record("qwen-vl resized_u8 jpeg (ImageIO decode)", viaImageIo);
            assertThat(viaImageIo).isLessThanOrEqualTo(8);
            return;
        }
        RgbImage actual = processor.resize(processor.decoder().decode(ImageSource.of(imagePath(set, name))));
        double diff = maxLevelDiff(expected, actual);
        record("qwen-vl resized_u8", diff);
        assertThat(diff).isLessThanOrEqualTo(1);
    }

    private static void jpegDecode(FixtureSet set, String key) {
        String name = key.substring("decoded_rgb_u8.".length());
        RgbImage expected = goldenU8(QwenVlSets.preprocessFile(set), key);
        RgbImage ours = new ImageDecoder().decode(ImageSource.of(imagePath(set, name)));
        double diff = maxLevelDiff(expected, ours);
        record("qwen-vl jpeg decode (ImageIO vs libjpeg-turbo) levels", diff);
        assertThat(diff).as("ImageIO vs libjpeg-turbo").isLessThanOrEqualTo(16);
    }

    private static void pixelValues(FixtureSet set, String key) {
        String name = key.substring("pixel_values.".length());
        Path file = QwenVlSets.preprocessFile(set);
        float[] fromGoldenU8 = QwenVlSets.goldenPixels(set, name);
        close("qwen-vl pixel_values", Goldens.floats(file, key), fromGoldenU8, 1e-6);
    }

    // ---- visual ----

    static float[] runVision(QwenVlVisionTower tower, float[] pixels, int batch, Map<String, float[]> trace) {
        try (NDManager scope = QwenVlSets.manager().newSubManager()) {
            Trace t = trace == null ? Trace.NONE : (name, value) -> trace.put(name, value.toType(DataType.FLOAT32, false).toFloatArray());
            return tower.forward(scope, pixels, batch, t).toFloatArray();
        }
    }

    private static void checkTrace(Path file, Iterable<String> keys, Map<String, float[]> trace, String kind) {
        int checked = 0;
        for (String key : keys) {
            String step = key.substring("trace.".length());
            assertThat(trace).as("trace step " + step).containsKey(step);
            close(kind + ": " + step, Goldens.floats(file, key), trace.get(step), HIDDEN_ATOL);
            checked++;
        }
        assertThat(checked).isPositive();
    }

    private static void visualMultiHead(FixtureSet set, JsonObject mh) {
        Path dir = set.dir().resolve(mh.get("dir").getAsString());
        Path configFile = set.dir().resolve(mh.get("config").getAsString());
        QwenVlConfig.Visual config = QwenVlConfig.Visual.from(FixtureRoot.readJson(configFile).getAsJsonObject("visual"),
                configFile.toString());
        assertThat(config.resamplerHeads()).isGreaterThan(1);
        Path goldens = set.dir().resolve(mh.get("goldens").getAsString());
        try (TensorStore store = SafetensorsCheckpoint.open(dir);
             NDManager weights = QwenVlSets.manager().newSubManager()) {
            QwenVlVisionTower tower = new QwenVlVisionTower(config, new QwenVlWeights(store, weights,
                    io.github.qwenvl.testing.TestDevice.matrixType()));
            List<String> images = strings(mh.getAsJsonArray("images"));
            QwenVlImageProcessor processor = new QwenVlImageProcessor(new ImageDecoder(), config.imageSize());
            Map<String, float[]> pixels = new HashMap<>();
            for (String image : images) {
                String key = "pixel_values." + QwenVlSets.baseName(image);
                float[] ours = processor.process(ImageSource.of(set.dir().resolve(image))).pixelValues();
                if (Goldens.file(goldens).contains(key)) {
                    close("qwen-vl visual_mh pixel_values", Goldens.floats(goldens, key), ours, 1e-6);
                    ours = Goldens.floats(goldens, key);
                }
                pixels.put(image, ours);
            }
            int checked = 0;
            for (String image : images) {
                String key = "embeds." + QwenVlSets.baseName(image);
                if (Goldens.file(goldens).contains(key)) {
                    close("qwen-vl visual_mh embeds", Goldens.floats(goldens, key),
                            runVision(tower, pixels.get(image), 1, null), HIDDEN_ATOL);
                    checked++;
                }
            }
            if (Goldens.file(goldens).contains("embeds_batch2")) {
                float[] batch = concat(images.stream().map(pixels::get).toList());
                close("qwen-vl visual_mh embeds", Goldens.floats(goldens, "embeds_batch2"),
                        runVision(tower, batch, images.size(), null), HIDDEN_ATOL);
                checked++;
            }
            Map<String, float[]> trace = new HashMap<>();
            runVision(tower, pixels.get(images.get(0)), 1, trace);
            checkTrace(goldens, Goldens.file(goldens).tensors().keySet().stream().filter(k -> k.startsWith("trace.")).toList(),
                    trace, "qwen-vl visual_mh trace");
            assertThat(checked).isPositive();
        }
    }

    // ---- decoder ----

    private static Path caseFile(FixtureSet set, JsonObject c) {
        return set.dir().resolve(c.get("file").getAsString());
    }

    /** Image embeddings (B, Q, E) of a case's spans, from the stored resized images, or null. */
    private static NDArray caseImages(FixtureSet set, JsonObject c, NDManager scope) {
        JsonArray spans = c.getAsJsonArray("image_spans");
        if (spans == null || spans.isEmpty()) {
            return null;
        }
        List<float[]> pixels = new ArrayList<>();
        for (JsonElement s : spans) {
            pixels.add(QwenVlSets.goldenPixels(set, s.getAsJsonObject().get("path").getAsString()));
        }
        return QwenVlSets.network(set).vision().forward(scope, concat(pixels), pixels.size(), Trace.NONE);
    }

    private static int[] caseIds(FixtureSet set, JsonObject c) {
        long[] ids = Goldens.longs(caseFile(set, c), "input_ids");
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    private static void forwardCase(FixtureSet set, JsonObject c) {
        QwenVlNetwork net = QwenVlSets.network(set);
        Path file = caseFile(set, c);
        int[] ids = caseIds(set, c);
        int t = ids.length;
        int h = net.config().hiddenSize();
        Map<String, float[]> trace = new HashMap<>();
        float[] logits;
        try (NDManager scope = QwenVlSets.manager().newSubManager();
             KvCache cache = new KvCache(scope, net.config().numLayers(), 1, net.config().numHeads(),
                     net.config().headDim(), t, DataType.FLOAT32)) {
            NDArray embeds = net.embedPrompt(scope, ids, caseImages(set, c, scope));
            double alpha = net.text().ntkAlpha(t);
            if (c.has("ntk_alpha_used_in_prefill")) {
                assertThat(alpha).isEqualTo(c.get("ntk_alpha_used_in_prefill").getAsDouble());
            }
            NDArray hidden = net.text().forward(embeds, cache, alpha,
                    (name, value) -> trace.put(name, value.toType(DataType.FLOAT32, false).toFloatArray()));
            logits = net.text().logits(hidden).toFloatArray();
        }
        var golden = Goldens.file(file);
        for (String key : golden.tensors().keySet()) {
            if (key.startsWith("layer_input.") || key.equals("final_norm")) {
                close("qwen-vl " + key.replaceAll("\\.\\d+$", "") + ": " + key, Goldens.floats(file, key),
                        trace.get(key), HIDDEN_ATOL);
            }
        }
        long[] positions = Goldens.longs(file, "layer0_trace_positions");
        for (String key : golden.tensors().keySet()) {
            if (key.startsWith("layer0.")) {
                float[] all = trace.get(key);
                int width = all.length / t;
                float[] rows = new float[positions.length * width];
                for (int r = 0; r < positions.length; r++) {
                    System.arraycopy(all, (int) positions[r] * width, rows, r * width, width);
                }
                close("qwen-vl layer0 trace: " + key, Goldens.floats(file, key), rows, HIDDEN_ATOL);
            }
        }
        int v = net.config().vocabSize();
        assertThat(logits.length).isEqualTo((long) t * v);
        long[] logitPositions = Goldens.longs(file, "logits_positions");
        float[] goldenLogits = Goldens.floats(file, "logits");
        for (int r = 0; r < logitPositions.length; r++) {
            float[] row = java.util.Arrays.copyOfRange(logits, (int) logitPositions[r] * v, ((int) logitPositions[r] + 1) * v);
            float[] g = java.util.Arrays.copyOfRange(goldenLogits, r * v, (r + 1) * v);
            assertLogits("qwen-vl logits", g, row);
        }
        long[] top5 = Goldens.longs(file, "top5_ids");
        float[] top5Values = Goldens.floats(file, "top5_values");
        long[] argmax = Goldens.longs(file, "argmax");
        float[] lse = Goldens.floats(file, "logsumexp");
        float[] ourTop5Values = new float[t * 5];
        float[] ourLse = new float[t];
        for (int p = 0; p < t; p++) {
            float[] row = java.util.Arrays.copyOfRange(logits, p * v, (p + 1) * v);
            int[] top = topK(row, 5);
            for (int k = 0; k < 5; k++) {
                assertThat(top[k]).as("top5 id %d at position %d", k, p).isEqualTo((int) top5[p * 5 + k]);
                ourTop5Values[p * 5 + k] = row[top[k]];
            }
            assertThat(top[0]).as("argmax at %d", p).isEqualTo((int) argmax[p]);
            ourLse[p] = logSumExp(row);
        }
        assertLogits("qwen-vl top5 values", top5Values, ourTop5Values);
        close("qwen-vl logsumexp", lse, ourLse, HIDDEN_ATOL);
    }

    static void assertLogits(String what, float[] expected, float[] actual) {
        assertThat(actual.length).isEqualTo(expected.length);
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            assertThat(d).as("%s[%d]", what, i).isLessThanOrEqualTo(LOGITS_ATOL + LOGITS_RTOL * Math.abs(expected[i]));
            max = Math.max(max, d);
        }
        record(what, max);
    }

    /** Indices of the k largest values, ties to the lower index (torch.topk / argmax on these goldens). */
    static int[] topK(float[] row, int k) {
        Integer[] idx = new Integer[row.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        java.util.Arrays.sort(idx, (a, b) -> row[a] != row[b] ? Float.compare(row[b], row[a]) : Integer.compare(a, b));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    static float logSumExp(float[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : row) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : row) {
            sum += Math.exp(x - max);
        }
        return (float) (max + Math.log(sum));
    }

    private static void greedyCase(FixtureSet set, JsonObject c) {
        QwenVlNetwork net = QwenVlSets.network(set);
        Path file = caseFile(set, c);
        int[] ids = caseIds(set, c);
        long[] expected = Goldens.longs(file, "gen_ids");
        long[] stepTop5 = Goldens.longs(file, "gen_step_top5_ids");
        float[] stepLse = Goldens.floats(file, "gen_step_logsumexp");
        float[] ourLse = new float[expected.length];
        int n = expected.length;
        try (NDManager scope = QwenVlSets.manager().newSubManager()) {
            NDArray images = caseImages(set, c, scope);
            try (QwenVlDecodingSession session = new QwenVlDecodingSession(net, scope, ids, images, ids.length + n)) {
                float[] logits = session.prefill();
                for (int step = 0; step < n; step++) {
                    int[] top = topK(logits, 5);
                    for (int k = 0; k < 5; k++) {
                        assertThat(top[k]).as("step %d top5[%d]", step, k).isEqualTo((int) stepTop5[step * 5 + k]);
                    }
                    ourLse[step] = logSumExp(logits);
                    int token = io.github.qwenvl.generate.LogitsSampler.argmax(logits);
                    assertThat(token).as("greedy token %d", step).isEqualTo((int) expected[step]);
                    if (step == n - 1) {
                        assertLogits("qwen-vl gen_step_logits_last", Goldens.floats(file, "gen_step_logits_last"), logits);
                    } else {
                        logits = session.next(token);
                    }
                }
                if (c.has("ntk_alpha_used_in_prefill")) {
                    assertThat(session.ntkAlpha()).isEqualTo(c.get("ntk_alpha_used_in_prefill").getAsDouble());
                }
            }
        }
        close("qwen-vl gen_step_logsumexp", stepLse, ourLse, HIDDEN_ATOL);
    }

    /**
     * Qwen-VL-Chat's {@code chat()}: greedy with StopWordsLogitsProcessor (after {@code <|im_end|>} or
     * {@code <|im_start|>} force {@code <|endoftext|>}), stop on {@code <|endoftext|>}, then {@code decode_tokens}:
     * decode up to the first im_start/im_end (or, when there is none, up to the LAST token exclusive — the remote
     * loop leaves its index there), cut the prompt text, strip.
     */
    private static void chatCase(FixtureSet set, JsonObject c) {
        QwenVlNetwork net = QwenVlSets.network(set);
        QwenTiktokenTokenizer tok = QwenVlSets.tokenizer(QwenVlSets.modelDir(set).resolve(QwenTiktokenTokenizer.VOCAB_FILE));
        JsonObject chat = c.getAsJsonObject("chat");
        int[] expected = QwenVlSets.ints(chat.getAsJsonArray("generated_ids"));
        int max = c.has("greedy") ? c.getAsJsonObject("greedy").get("new_tokens").getAsInt() : expected.length;
        int[] ids = caseIds(set, c);
        var s = tok.specialTokens();
        List<Integer> gen = new ArrayList<>();
        try (NDManager scope = QwenVlSets.manager().newSubManager()) {
            NDArray images = caseImages(set, c, scope);
            try (QwenVlDecodingSession session = new QwenVlDecodingSession(net, scope, ids, images, ids.length + max)) {
                float[] logits = session.prefill();
                while (gen.size() < max) {
                    int last = gen.isEmpty() ? -1 : gen.get(gen.size() - 1);
                    int token = last == s.imEnd() || last == s.imStart() ? s.endOfText() : io.github.qwenvl.generate.LogitsSampler.argmax(logits);
                    gen.add(token);
                    if (token == s.endOfText() || gen.size() == max) {
                        break;
                    }
                    logits = session.next(token);
                }
            }
        }
        assertThat(gen.stream().mapToInt(Integer::intValue).toArray()).containsExactly(expected);
        int[] all = new int[ids.length + gen.size()];
        System.arraycopy(ids, 0, all, 0, ids.length);
        for (int i = 0; i < gen.size(); i++) {
            all[ids.length + i] = gen.get(i);
        }
        int eod = ids.length;
        for (eod = ids.length; eod < all.length; eod++) {
            if (all[eod] == s.imStart() || all[eod] == s.imEnd()) {
                break;
            }
        }
        if (eod == all.length && all.length > ids.length) {
            eod = all.length - 1;
        }
        String rawText = c.getAsJsonObject("prompt").get("text").getAsString();
        String response = tok.decode(java.util.Arrays.copyOf(all, eod), false).substring(rawText.length()).strip();
        assertThat(response).isEqualTo(chat.get("response").getAsString());
    }
}
