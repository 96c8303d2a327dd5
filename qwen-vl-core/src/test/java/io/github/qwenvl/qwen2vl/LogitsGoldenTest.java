package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.nn.Trace;
import io.github.qwenvl.nn.KvCache;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
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

/**
 * Goldens (d): full forward passes of every logits case of every Qwen2-family set — image embeddings,
 * inputs embeddings, position ids, each layer, final hidden, logits (all stored columns), argmax,
 * top-10 and logsumexp — plus the left-padded batch against the single-prompt goldens.
 */
class LogitsGoldenTest {

    /** The Qwen2-family sets with a logits case. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return sets.stream().filter(s -> s.isQwen2Family() && s.cases().entrySet().stream().anyMatch(e -> isLogitsCase(e.getValue())))
                .toList();
    }

    private static boolean isLogitsCase(JsonElement c) {
        return c.isJsonObject() && c.getAsJsonObject().has("keys")
                && c.getAsJsonObject().getAsJsonObject("keys").has("final_hidden");
    }

    @TestFactory
    Stream<DynamicTest> logitsCases() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(FixtureRoot.sets());
        for (FixtureSet set : sets) {
            for (Map.Entry<String, JsonElement> e : set.cases().entrySet()) {
                JsonObject c = e.getValue().getAsJsonObject();
                if (isLogitsCase(c)) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey(), () -> check(set, c)));
                    // the same prompt with prefill attention in 16-query-row blocks (what long prompts use)
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/query_row_blocks",
                            () -> io.github.qwenvl.testing.SmallBlocks.run(() -> check(set, c))));
                }
            }
            if (set.cases().has("rope_index")
                    && set.cases().getAsJsonObject("rope_index").getAsJsonObject("cases").has("padded_batch")) {
                tests.add(DynamicTest.dynamicTest(set.name() + "/padded_batch", () -> checkPaddedBatch(set)));
                tests.add(DynamicTest.dynamicTest(set.name() + "/padded_batch/query_row_blocks",
                        () -> io.github.qwenvl.testing.SmallBlocks.run(() -> checkPaddedBatch(set))));
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("LogitsGoldenTest", sets, tests);
        return tests.stream();
    }

    /** The prompt of a logits case, run through the network. */
    record Forward(float[] imageEmbeds, float[] inputsEmbeds, RopeIndex rope, float[][] layers, float[] finalHidden,
                   float[] logits, int seq, int vocab) {
    }

    static Forward forward(FixtureSet set, JsonObject c, Path file) {
        return forward(set, LoadedNetworks.of(set), c, file);
    }

    /** As above on {@code net}. */
    static Forward forward(FixtureSet set, Qwen2VlNetwork net, JsonObject c, Path file) {
        return forward(set, net, LoadedNetworks.manager(), c, file);
    }

    /** As above, the inputs made under {@code parent} (a manager on {@code net}'s device). */
    static Forward forward(FixtureSet set, Qwen2VlNetwork net, NDManager parent, JsonObject c, Path file) {
        long[] ids = Goldens.longs(file, "input_ids");
        List<ImageGrid> grids = GoldenGrids.parse(Goldens.file(file).contains("image_grid_thw")
                ? Goldens.longs(file, "image_grid_thw") : null);
        int seq = ids.length;
        int[] idRow = GoldenGrids.row(ids, 0, seq);
        try (NDManager scope = parent.newSubManager();
             KvCache cache = new KvCache(scope, net.text().config().numLayers(), 1,
                     net.text().config().numKeyValueHeads(), net.text().config().headDim(), seq, DataType.FLOAT32)) {
            NDArray imageEmbeds = null;
            if (c.has("pixel_values") && c.get("pixel_values").isJsonObject()) {
                float[] pixels = ConcatInputs.floats(set, c.getAsJsonObject("pixel_values"));
                int patchDim = net.vision().config().patchDim();
                imageEmbeds = net.vision().forward(scope, scope.create(pixels, new Shape(pixels.length / patchDim, patchDim)),
                        grids, Trace.NONE);
            }
            NDArray embeds = net.embedPrompt(scope, new long[][] {ids}, imageEmbeds);
            RopeIndex rope = net.ropeIndex(idRow, null, grids);
            long[][][] positions = new long[3][1][];
            for (int a = 0; a < 3; a++) {
                positions[a][0] = rope.positions()[a];
            }
            float[][] layers = new float[net.text().config().numLayers()][];
            NDArray hidden = net.text().forward(embeds, positions, null, cache, (name, value) ->
                    layers[Integer.parseInt(name.substring("layer_".length()))] = value.toFloatArray());
            NDArray logits = net.text().logits(hidden);
            return new Forward(imageEmbeds == null ? null : imageEmbeds.toFloatArray(), embeds.toFloatArray(), rope,
                    layers, hidden.toFloatArray(), logits.toFloatArray(), seq, (int) logits.getShape().get(2));
        }
    }

    private void check(FixtureSet set, JsonObject c) {
        Path file = set.resolve(c.get("file").getAsString());
        String tag = set.name() + "/" + file.getFileName();
        Forward f = forward(set, c, file);
        JsonObject keys = c.getAsJsonObject("keys");
        if (keys.has("image_embeds")) {
            Goldens.assertClose("image_embeds: " + tag, Goldens.floats(file, "image_embeds"), f.imageEmbeds(), 1e-4);
        }
        Goldens.assertClose("inputs_embeds: " + tag, Goldens.floats(file, "inputs_embeds"), f.inputsEmbeds(), 1e-4);
        long[] positions = Goldens.longs(file, "position_ids");
        for (int a = 0; a < 3; a++) {
            long[] expected = new long[f.seq()];
            System.arraycopy(positions, a * f.seq(), expected, 0, f.seq());
            assertThat(f.rope().positions()[a]).as("%s position_ids axis %d", tag, a).containsExactly(expected);
        }
        assertThat(f.rope().ropeDelta()).as("%s rope_deltas", tag).isEqualTo(Goldens.longs(file, "rope_deltas")[0]);
        float[] layerOutputs = Goldens.floats(file, "layer_outputs");
        int per = layerOutputs.length / f.layers().length;
        for (int l = 0; l < f.layers().length; l++) {
            float[] expected = new float[per];
            System.arraycopy(layerOutputs, l * per, expected, 0, per);
            Goldens.assertClose("layer_outputs: " + tag + " layer " + l, expected, f.layers()[l], 1e-4);
        }
        Goldens.assertClose("final_hidden: " + tag, Goldens.floats(file, "final_hidden"), f.finalHidden(), 1e-4);

        int vocab = f.vocab();
        float[] last = new float[vocab];
        System.arraycopy(f.logits(), (f.seq() - 1) * vocab, last, 0, vocab);
        Goldens.assertClose("logits_last: " + tag, Goldens.floats(file, "logits_last"), last, 1e-4);

        long[] cols = Goldens.longs(file, "logits_cols_ids");
        float[] selected = new float[f.seq() * cols.length];
        for (int s = 0; s < f.seq(); s++) {
            for (int j = 0; j < cols.length; j++) {
                selected[s * cols.length + j] = f.logits()[s * vocab + (int) cols[j]];
            }
        }
        Goldens.assertClose("logits_cols: " + tag, Goldens.floats(file, "logits_cols"), selected, 1e-4);

        long[] argmax = Goldens.longs(file, "argmax");
        long[] top10 = Goldens.longs(file, "top10_ids");
        float[] logsumexp = Goldens.floats(file, "logsumexp");
        float[] ourLse = new float[f.seq()];
        for (int s = 0; s < f.seq(); s++) {
            float[] row = new float[vocab];
            System.arraycopy(f.logits(), s * vocab, row, 0, vocab);
            int[] order = Sorting.topK(row, 10);
            assertThat((long) order[0]).as("%s argmax at %d", tag, s).isEqualTo(argmax[s]);
            for (int k = 0; k < 10; k++) {
                assertThat((long) order[k]).as("%s top10[%d] at %d", tag, k, s).isEqualTo(top10[s * 10 + k]);
            }
            ourLse[s] = Sorting.logSumExp(row);
        }
        Goldens.assertClose("logsumexp: " + tag, logsumexp, ourLse, 1e-4);
    }

    /** The left-padded batch (rope_index goldens) must give each prompt's single-prompt logits. */
    private void checkPaddedBatch(FixtureSet set) {
        JsonObject ropeCase = set.cases().getAsJsonObject("rope_index");
        Path ropeFile = set.resolve(ropeCase.get("file").getAsString());
        JsonObject padded = ropeCase.getAsJsonObject("cases").getAsJsonObject("padded_batch");
        Qwen2VlNetwork net = LoadedNetworks.of(set);
        long[] shape = Goldens.shape(ropeFile, "padded_batch.input_ids");
        int batch = (int) shape[0];
        int seq = (int) shape[1];
        long[] ids = Goldens.longs(ropeFile, "padded_batch.input_ids");
        long[] maskFlat = Goldens.longs(ropeFile, "padded_batch.attention_mask");
        List<ImageGrid> grids = GoldenGrids.parse(Goldens.file(ropeFile).contains("padded_batch.image_grid_thw")
                ? Goldens.longs(ropeFile, "padded_batch.image_grid_thw") : null);
        List<String> prompts = new ArrayList<>();
        padded.getAsJsonArray("prompts").forEach(p -> prompts.add(p.getAsString()));
        int imageToken = net.text().config().imageTokenId();

        long[][] idRows = new long[batch][seq];
        int[][] mask = new int[batch][];
        long[][][] positions = new long[3][batch][];
        List<float[]> pixelParts = new ArrayList<>();
        int nextGrid = 0;
        for (int r = 0; r < batch; r++) {
            System.arraycopy(ids, r * seq, idRows[r], 0, seq);
            mask[r] = GoldenGrids.row(maskFlat, r, seq);
            int[] row = GoldenGrids.row(ids, r, seq);
            int images = GoldenGrids.imagesIn(row, imageToken);
            RopeIndex rope = net.ropeIndex(row, mask[r], grids.subList(nextGrid, nextGrid + images));
            nextGrid += images;
            for (int a = 0; a < 3; a++) {
                positions[a][r] = rope.positions()[a];
            }
            JsonObject single = set.cases().getAsJsonObject("logits_" + prompts.get(r));
            if (single.has("pixel_values") && single.get("pixel_values").isJsonObject()) {
                pixelParts.add(ConcatInputs.floats(set, single.getAsJsonObject("pixel_values")));
            }
        }
        try (NDManager scope = LoadedNetworks.manager().newSubManager();
             KvCache cache = new KvCache(scope, net.text().config().numLayers(), batch,
                     net.text().config().numKeyValueHeads(), net.text().config().headDim(), seq, DataType.FLOAT32)) {
            NDArray imageEmbeds = null;
            if (!pixelParts.isEmpty()) {
                int total = pixelParts.stream().mapToInt(p -> p.length).sum();
                float[] pixels = new float[total];
                int at = 0;
                for (float[] p : pixelParts) {
                    System.arraycopy(p, 0, pixels, at, p.length);
                    at += p.length;
                }
                int patchDim = net.vision().config().patchDim();
                imageEmbeds = net.vision().forward(scope, scope.create(pixels, new Shape(total / patchDim, patchDim)), grids, Trace.NONE);
            }
            NDArray hidden = net.text().forward(net.embedPrompt(scope, idRows, imageEmbeds), positions, mask, cache, Trace.NONE);
            float[] logits = net.text().logits(hidden).toFloatArray();
            int vocab = net.text().config().vocabSize();
            for (int r = 0; r < batch; r++) {
                JsonObject single = set.cases().getAsJsonObject("logits_" + prompts.get(r));
                Path singleFile = set.resolve(single.get("file").getAsString());
                long[] cols = Goldens.longs(singleFile, "logits_cols_ids");
                float[] expected = Goldens.floats(singleFile, "logits_cols");
                int singleSeq = single.get("seq_len").getAsInt();
                int offset = seq - singleSeq; // left padding
                float[] actual = new float[singleSeq * cols.length];
                for (int s = 0; s < singleSeq; s++) {
                    for (int j = 0; j < cols.length; j++) {
                        actual[s * cols.length + j] = logits[(r * seq + offset + s) * vocab + (int) cols[j]];
                    }
                }
                Goldens.assertClose("padded_batch logits: " + set.name() + "/" + prompts.get(r), expected, actual, 1e-4);
            }
        }
    }
}
