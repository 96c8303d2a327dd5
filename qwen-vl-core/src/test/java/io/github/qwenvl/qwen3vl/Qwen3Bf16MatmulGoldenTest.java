package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.nn.KvCache;
import io.github.qwenvl.qwen2vl.ImageGrid;
import io.github.qwenvl.qwen2vl.RopeIndex;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * WeightMode.BF16_MATMUL on the Qwen3-VL sets against the float32 goldens, the whole network from the stored pixel
 * values (vision blocks and decoder layers multiplied in bfloat16): image embeddings, DeepStack features, final hidden
 * state and logits within 5 % of the largest golden value (at least 1), the argmax the same at 90 % of the positions or
 * more (as {@code qwen2vl.Bf16MatmulGoldenTest}; the measured errors are printed).
 */
class Qwen3Bf16MatmulGoldenTest {

    private static final double TOLERANCE = 0.05;
    /** BF16_MATMUL is a CPU mode: the networks live on the CPU whatever device the golden suites run on. */
    private static final NDManager MANAGER = NDManager.newBaseManager(ai.djl.Device.cpu());
    private static final Map<List<Object>, Qwen3VlNetwork> NETWORKS = new ConcurrentHashMap<>();

    @TestFactory
    Stream<DynamicTest> bf16Matmul() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : Qwen3LogitsGoldenTest.goldenSets(io.github.qwenvl.testing.FixtureRoot.sets())) {
            if (Qwen3Networks.moe(set)) {
                continue; // BF16_MATMUL needs the Java decoder, which has no MoE layers
            }
            for (Map.Entry<String, JsonElement> e : set.cases().entrySet()) {
                JsonObject c = e.getValue().getAsJsonObject();
                if (c.has("keys") && c.getAsJsonObject("keys").has("final_hidden")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey(), () -> check(set, c,
                            io.github.qwenvl.EngineTuning.DEFAULTS)));
                    // small blocks: row blocks, and vision attention in groups of heads whose q/k/v come from row
                    // views of the fused bfloat16 qkv weight
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/small_blocks", () -> check(set,
                            c, io.github.qwenvl.EngineTuning.smallBlocks())));
                }
            }
        }
        return tests.stream();
    }

    private static Qwen3VlNetwork network(FixtureSet set, io.github.qwenvl.EngineTuning tuning) {
        return NETWORKS.computeIfAbsent(List.of(set.modelDir(), tuning), key -> new Qwen3VlNetwork(
                ModelConfig.load(set.modelDir()), SafetensorsCheckpoint.open(set.modelDir()), null,
                MANAGER.newSubManager(), ai.djl.ndarray.types.DataType.FLOAT32, QwenVlOptions.DecodeMode.AUTO, null,
                QwenVlOptions.WeightMode.BF16_MATMUL, tuning));
    }

    private void check(FixtureSet set, JsonObject c, io.github.qwenvl.EngineTuning tuning) {
        Qwen3VlNetwork net = network(set, tuning);
        assertThat(net.weightMode()).isEqualTo(QwenVlOptions.WeightMode.BF16_MATMUL);
        Path file = set.resolve(c.get("file").getAsString());
        String tag = set.name() + "/" + file.getFileName();
        long[] ids = Goldens.longs(file, "input_ids");
        int seq = ids.length;
        int[] idRow = new int[seq];
        for (int i = 0; i < seq; i++) {
            idRow[i] = (int) ids[i];
        }
        List<ImageGrid> grids = Qwen3LogitsGoldenTest.grids(file, "image_grid_thw");
        var config = net.text().config();
        try (NDManager scope = MANAGER.newSubManager();
             KvCache cache = new KvCache(scope, config.numLayers(), 1, config.numKeyValueHeads(), config.headDim(),
                     seq, DataType.FLOAT32)) {
            NDArray imageEmbeds = null;
            List<NDArray> deepstack = List.of();
            if (c.has("pixel_values") && c.get("pixel_values").isJsonObject()) {
                float[] pixels = Qwen3LogitsGoldenTest.pixelValues(set, c.getAsJsonObject("pixel_values"));
                int patchDim = net.vision().config().patchDim();
                Qwen3VisionTower.Output out = net.vision().forward(scope,
                        scope.create(pixels, new Shape(pixels.length / patchDim, patchDim)), grids,
                        io.github.qwenvl.nn.Trace.NONE);
                imageEmbeds = out.embeddings();
                deepstack = out.deepstack();
                report("image_embeds: " + tag, Goldens.floats(file, "image_embeds"), imageEmbeds.toFloatArray());
                for (int j = 0; j < deepstack.size(); j++) {
                    report("deepstack_embeds " + j + ": " + tag, Goldens.floats(file, "deepstack_embeds_" + j),
                            deepstack.get(j).toFloatArray());
                }
            }
            NDArray embeds = net.embedPrompt(scope, new long[][] {ids}, imageEmbeds);
            RopeIndex rope = net.ropeIndex(idRow, null, grids);
            long[][][] pos = new long[3][1][];
            for (int a = 0; a < 3; a++) {
                pos[a][0] = rope.positions()[a];
            }
            var hook = net.deepstackHook(new long[][] {ids}, deepstack);
            NDArray hidden = net.text().forward(embeds, pos, null, cache, io.github.qwenvl.nn.Trace.NONE, hook);
            report("final_hidden: " + tag, Goldens.floats(file, "final_hidden"), hidden.toFloatArray());
            float[] logits = net.text().logits(hidden).toFloatArray();
            int vocab = config.vocabSize();
            float[] last = new float[vocab];
            System.arraycopy(logits, (seq - 1) * vocab, last, 0, vocab);
            report("logits_last: " + tag, Goldens.floats(file, "logits_last"), last);
            long[] argmax = Goldens.longs(file, "argmax");
            int same = 0;
            for (int s = 0; s < seq; s++) {
                int best = 0;
                for (int v = 1; v < vocab; v++) {
                    best = logits[s * vocab + v] > logits[s * vocab + best] ? v : best;
                }
                same += best == argmax[s] ? 1 : 0;
            }
            System.out.printf("BF16_MATMUL %s argmax: %d of %d positions agree%n", tag, same, seq);
            assertThat(same).as("%s positions whose argmax agrees", tag).isGreaterThanOrEqualTo((int) Math.ceil(0.9 * seq));
        }
    }

    private static void report(String what, float[] expected, float[] actual) {
        double diff = 0;
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
            max = Math.max(max, Math.abs(expected[i]));
        }
        System.out.printf("BF16_MATMUL %s: max |Δ| %.3e, max |golden| %.3e, relative %.3e%n", what, diff, max,
                diff / Math.max(1, max));
        Goldens.assertClose("BF16_MATMUL qwen3 " + what, expected, actual, TOLERANCE);
    }
}
