package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.nn.KvCache;
import io.github.qwenvl.qwen2vl.ImageGrid;
import io.github.qwenvl.qwen2vl.Qwen2TextModel;
import io.github.qwenvl.qwen2vl.RopeIndex;
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

/**
 * Goldens (d) of every Qwen3-VL set: the decoder from the reference's image embeddings and DeepStack features
 * (so the text side is checked on its own), and again from the stored pixel values through this vision tower: rope positions and deltas, inputs embeddings, each layer's raw output,
 * each hidden state after its DeepStack addition, final hidden, logits (all stored columns), argmax, top-10,
 * logsumexp; and the left-padded batch against the single prompts.
 */
class Qwen3LogitsGoldenTest {

    /** The sets this suite runs: the Qwen3-VL sets (dense and MoE) with a logits case. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return Qwen3Networks.sets(sets).stream().filter(set -> set.cases().entrySet().stream()
                .anyMatch(e -> e.getValue().isJsonObject() && e.getValue().getAsJsonObject().has("keys")
                        && e.getValue().getAsJsonObject().getAsJsonObject("keys").has("final_hidden"))).toList();
    }

    @TestFactory
    Stream<DynamicTest> logitsCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : goldenSets(io.github.qwenvl.testing.FixtureRoot.sets())) {
            for (Map.Entry<String, JsonElement> e : set.cases().entrySet()) {
                JsonObject c = e.getValue().getAsJsonObject();
                if (c.has("keys") && c.getAsJsonObject("keys").has("final_hidden")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey(), () -> check(set, c, false)));
                    if (c.has("pixel_values") && c.get("pixel_values").isJsonObject()) {
                        // the whole network: image embeddings and DeepStack features from this vision tower
                        tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/vision_tower",
                                () -> check(set, c, true)));
                    }
                }
            }
            if (set.cases().has("rope_index")
                    && set.cases().getAsJsonObject("rope_index").getAsJsonObject("cases").has("padded_batch")) {
                tests.add(DynamicTest.dynamicTest(set.name() + "/padded_batch", () -> checkPaddedBatch(set)));
            }
        }
        return tests.stream();
    }

    static List<ImageGrid> grids(Path file, String key) {
        List<ImageGrid> grids = new ArrayList<>();
        if (!Goldens.file(file).contains(key)) {
            return grids;
        }
        long[] rows = Goldens.longs(file, key);
        for (int i = 0; i < rows.length; i += 3) {
            grids.add(new ImageGrid((int) rows[i], (int) rows[i + 1], (int) rows[i + 2]));
        }
        return grids;
    }

    /** The reference's DeepStack features of a logits case, as (N, H) tensors of {@code scope}. */
    static List<NDArray> deepstack(NDManager scope, Path file, int hidden) {
        List<NDArray> levels = new ArrayList<>();
        for (int j = 0; Goldens.file(file).contains("deepstack_embeds_" + j); j++) {
            float[] level = Goldens.floats(file, "deepstack_embeds_" + j);
            levels.add(scope.create(level, new Shape(level.length / hidden, hidden)));
        }
        return levels;
    }

    /** The stored pixel values of a case ({@code concat_of} "file#key" parts), in order. */
    static float[] pixelValues(FixtureSet set, JsonObject spec) {
        List<float[]> parts = new ArrayList<>();
        for (JsonElement ref : spec.getAsJsonArray("concat_of")) {
            String[] fileAndKey = ref.getAsString().split("#", 2);
            parts.add(Goldens.floats(set.resolve(fileAndKey[0]), fileAndKey[1]));
        }
        int total = parts.stream().mapToInt(p -> p.length).sum();
        float[] out = new float[total];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private void check(FixtureSet set, JsonObject c, boolean visionTower) {
        Qwen3VlNetwork net = Qwen3Networks.of(set);
        Path file = set.resolve(c.get("file").getAsString());
        String tag = set.name() + "/" + file.getFileName() + (visionTower ? " (vision tower)" : "");
        long[] ids = Goldens.longs(file, "input_ids");
        int seq = ids.length;
        int[] idRow = new int[seq];
        for (int i = 0; i < seq; i++) {
            idRow[i] = (int) ids[i];
        }
        List<ImageGrid> grids = grids(file, "image_grid_thw");
        var config = net.text().config();
        int hiddenSize = config.hiddenSize();
        try (NDManager scope = Qwen3Networks.manager().newSubManager();
             KvCache cache = new KvCache(scope, config.numLayers(), 1, config.numKeyValueHeads(), config.headDim(),
                     seq, DataType.FLOAT32)) {
            NDArray imageEmbeds = null;
            List<NDArray> deepstack;
            if (visionTower) {
                float[] pixels = pixelValues(set, c.getAsJsonObject("pixel_values"));
                int patchDim = net.vision().config().patchDim();
                Qwen3VisionTower.Output out = net.vision().forward(scope,
                        scope.create(pixels, new Shape(pixels.length / patchDim, patchDim)), grids,
                        io.github.qwenvl.nn.Trace.NONE);
                imageEmbeds = out.embeddings();
                deepstack = out.deepstack();
                Goldens.assertClose("qwen3 image_embeds: " + tag, Goldens.floats(file, "image_embeds"),
                        imageEmbeds.toFloatArray(), 1e-4);
                for (int j = 0; j < deepstack.size(); j++) {
                    Goldens.assertClose("qwen3 deepstack_embeds: " + tag + " level " + j,
                            Goldens.floats(file, "deepstack_embeds_" + j), deepstack.get(j).toFloatArray(), 1e-4);
                }
            } else {
                if (Goldens.file(file).contains("image_embeds")) {
                    float[] rows = Goldens.floats(file, "image_embeds");
                    imageEmbeds = scope.create(rows, new Shape(rows.length / hiddenSize, hiddenSize));
                }
                deepstack = deepstack(scope, file, hiddenSize);
            }
            assertThat(deepstack.size()).as("%s deepstack levels", tag)
                    .isEqualTo(imageEmbeds == null ? 0 : net.qwen3().deepstackVisualIndexes().length);
            NDArray embeds = net.embedPrompt(scope, new long[][] {ids}, imageEmbeds);
            Goldens.assertClose("qwen3 inputs_embeds: " + tag, Goldens.floats(file, "inputs_embeds"),
                    embeds.toFloatArray(), 1e-4);
            RopeIndex rope = net.ropeIndex(idRow, null, grids);
            long[] positions = Goldens.longs(file, "position_ids");
            long[][][] pos = new long[3][1][];
            for (int a = 0; a < 3; a++) {
                long[] expected = new long[seq];
                System.arraycopy(positions, a * seq, expected, 0, seq);
                assertThat(rope.positions()[a]).as("%s position_ids axis %d", tag, a).containsExactly(expected);
                pos[a][0] = rope.positions()[a];
            }
            assertThat(rope.ropeDelta()).as("%s rope_deltas", tag).isEqualTo(Goldens.longs(file, "rope_deltas")[0]);
            float[][] layers = new float[config.numLayers()][];
            float[][] afterDeepstack = new float[deepstack.size()][];
            Qwen2TextModel.LayerHook hook = net.deepstackHook(new long[][] {ids}, deepstack);
            NDArray hidden = net.text().forward(embeds, pos, null, cache,
                    (name, value) -> layers[Integer.parseInt(name.substring("layer_".length()))] = value.toFloatArray(),
                    (layer, h) -> {
                        hook.afterLayer(layer, h);
                        if (layer < afterDeepstack.length) {
                            afterDeepstack[layer] = h.toFloatArray();
                        }
                    });
            float[] layerOutputs = Goldens.floats(file, "layer_outputs");
            int per = layerOutputs.length / layers.length;
            for (int l = 0; l < layers.length; l++) {
                float[] expected = new float[per];
                System.arraycopy(layerOutputs, l * per, expected, 0, per);
                Goldens.assertClose("qwen3 layer_outputs: " + tag + " layer " + l, expected, layers[l], 1e-4);
            }
            for (int j = 0; j < afterDeepstack.length; j++) {
                Goldens.assertClose("qwen3 hidden_after_deepstack: " + tag + " level " + j,
                        Goldens.floats(file, "hidden_after_deepstack_" + j), afterDeepstack[j], 1e-4);
            }
            Goldens.assertClose("qwen3 final_hidden: " + tag, Goldens.floats(file, "final_hidden"),
                    hidden.toFloatArray(), 1e-4);
            float[] logits = net.text().logits(hidden).toFloatArray();
            checkLogits(tag, file, logits, seq, config.vocabSize());
        }
    }

    static void checkLogits(String tag, Path file, float[] logits, int seq, int vocab) {
        float[] last = new float[vocab];
        System.arraycopy(logits, (seq - 1) * vocab, last, 0, vocab);
        Goldens.assertClose("qwen3 logits_last: " + tag, Goldens.floats(file, "logits_last"), last, 2e-4);
        long[] cols = Goldens.longs(file, "logits_cols_ids");
        float[] selected = new float[seq * cols.length];
        for (int s = 0; s < seq; s++) {
            for (int j = 0; j < cols.length; j++) {
                selected[s * cols.length + j] = logits[s * vocab + (int) cols[j]];
            }
        }
        Goldens.assertClose("qwen3 logits_cols: " + tag, Goldens.floats(file, "logits_cols"), selected, 2e-4);
        long[] argmax = Goldens.longs(file, "argmax");
        long[] top10 = Goldens.longs(file, "top10_ids");
        float[] logsumexp = Goldens.floats(file, "logsumexp");
        float[] ours = new float[seq];
        for (int s = 0; s < seq; s++) {
            float[] row = new float[vocab];
            System.arraycopy(logits, s * vocab, row, 0, vocab);
            Integer[] order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> Float.compare(row[b], row[a]));
            assertThat((long) order[0]).as("%s argmax at %d", tag, s).isEqualTo(argmax[s]);
            for (int k = 0; k < 10; k++) {
                assertThat((long) order[k]).as("%s top10[%d] at %d", tag, k, s).isEqualTo(top10[s * 10 + k]);
            }
            double max = row[order[0]];
            double sum = 0;
            for (float v : row) {
                sum += Math.exp(v - max);
            }
            ours[s] = (float) (max + Math.log(sum));
        }
        Goldens.assertClose("qwen3 logsumexp: " + tag, logsumexp, ours, 1e-4);
    }

    /** The left-padded batch of the rope-index goldens: positions (padding 0), and each row's logits as alone. */
    private void checkPaddedBatch(FixtureSet set) {
        Qwen3VlNetwork net = Qwen3Networks.of(set);
        JsonObject ropeCase = set.cases().getAsJsonObject("rope_index");
        Path ropeFile = set.resolve(ropeCase.get("file").getAsString());
        JsonObject padded = ropeCase.getAsJsonObject("cases").getAsJsonObject("padded_batch");
        long[] shape = Goldens.shape(ropeFile, "padded_batch.input_ids");
        int batch = (int) shape[0];
        int seq = (int) shape[1];
        long[] ids = Goldens.longs(ropeFile, "padded_batch.input_ids");
        long[] maskFlat = Goldens.longs(ropeFile, "padded_batch.attention_mask");
        List<String> prompts = new ArrayList<>();
        padded.getAsJsonArray("prompts").forEach(p -> prompts.add(p.getAsString()));
        var config = net.text().config();
        int hiddenSize = config.hiddenSize();
        long[][] idRows = new long[batch][seq];
        int[][] mask = new int[batch][seq];
        long[][][] positions = new long[3][batch][];
        try (NDManager scope = Qwen3Networks.manager().newSubManager();
             KvCache cache = new KvCache(scope, config.numLayers(), batch, config.numKeyValueHeads(), config.headDim(),
                     seq, DataType.FLOAT32)) {
            List<float[]> embedParts = new ArrayList<>();
            List<List<float[]>> levelParts = new ArrayList<>();
            for (int r = 0; r < batch; r++) {
                System.arraycopy(ids, r * seq, idRows[r], 0, seq);
                int[] row = new int[seq];
                for (int i = 0; i < seq; i++) {
                    row[i] = (int) idRows[r][i];
                    mask[r][i] = (int) maskFlat[r * seq + i];
                }
                JsonObject single = set.cases().getAsJsonObject("logits_" + prompts.get(r));
                Path singleFile = set.resolve(single.get("file").getAsString());
                RopeIndex rope = net.ropeIndex(row, mask[r], grids(singleFile, "image_grid_thw"));
                for (int a = 0; a < 3; a++) {
                    positions[a][r] = rope.positions()[a];
                }
                if (Goldens.file(singleFile).contains("image_embeds")) {
                    embedParts.add(Goldens.floats(singleFile, "image_embeds"));
                    for (int j = 0; Goldens.file(singleFile).contains("deepstack_embeds_" + j); j++) {
                        if (levelParts.size() <= j) {
                            levelParts.add(new ArrayList<>());
                        }
                        levelParts.get(j).add(Goldens.floats(singleFile, "deepstack_embeds_" + j));
                    }
                }
            }
            long[] goldenPositions = Goldens.longs(ropeFile, "padded_batch.position_ids");
            for (int a = 0; a < 3; a++) {
                for (int r = 0; r < batch; r++) {
                    long[] expected = new long[seq];
                    System.arraycopy(goldenPositions, (a * batch + r) * seq, expected, 0, seq);
                    assertThat(positions[a][r]).as("padded_batch position_ids axis %d row %d", a, r)
                            .containsExactly(expected);
                }
            }
            NDArray imageEmbeds = embedParts.isEmpty() ? null : rows(scope, embedParts, hiddenSize);
            List<NDArray> deepstack = new ArrayList<>();
            for (List<float[]> level : levelParts) {
                deepstack.add(rows(scope, level, hiddenSize));
            }
            NDArray hidden = net.text().forward(net.embedPrompt(scope, idRows, imageEmbeds), positions, mask, cache,
                    io.github.qwenvl.nn.Trace.NONE, net.deepstackHook(idRows, deepstack));
            float[] logits = net.text().logits(hidden).toFloatArray();
            int vocab = config.vocabSize();
            for (int r = 0; r < batch; r++) {
                JsonObject single = set.cases().getAsJsonObject("logits_" + prompts.get(r));
                Path singleFile = set.resolve(single.get("file").getAsString());
                long[] cols = Goldens.longs(singleFile, "logits_cols_ids");
                int singleSeq = single.get("seq_len").getAsInt();
                int offset = seq - singleSeq;
                float[] actual = new float[singleSeq * cols.length];
                for (int s = 0; s < singleSeq; s++) {
                    for (int j = 0; j < cols.length; j++) {
                        actual[s * cols.length + j] = logits[(r * seq + offset + s) * vocab + (int) cols[j]];
                    }
                }
                Goldens.assertClose("qwen3 padded_batch logits: " + set.name() + "/" + prompts.get(r),
                        Goldens.floats(singleFile, "logits_cols"), actual, 2e-4);
            }
        }
    }

    private static NDArray rows(NDManager scope, List<float[]> parts, int width) {
        int total = parts.stream().mapToInt(p -> p.length).sum();
        float[] all = new float[total];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return scope.create(all, new Shape(total / width, width));
    }
}
