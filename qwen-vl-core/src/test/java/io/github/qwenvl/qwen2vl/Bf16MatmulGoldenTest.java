package io.github.qwenvl.qwen2vl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions;
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
 * WeightMode.BF16_MATMUL against the float32 goldens: every logits case of every Qwen2-family set runs on a network
 * whose decoder layers and vision blocks multiply the mapped BF16 matrices in bfloat16. The goldens are the
 * reference's float32 run, so the comparison is looser than the golden suites' 1e-4: within {@value #TOLERANCE} of the
 * largest golden value (at least 1), where the measured errors are 0.4–2.4 % (listed in docs/performance.md; a wrong
 * product, e.g. misread bits, is off by the values' own size), and the greedy token (argmax) the same at 90 % of the
 * positions or more (the tiny random models have many near ties).
 */
class Bf16MatmulGoldenTest {

    /** Largest error allowed, relative to the largest golden value (at least 1). */
    static final double TOLERANCE = 0.05;

    @TestFactory
    Stream<DynamicTest> bf16Matmul() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : LogitsGoldenTest.goldenSets(FixtureRoot.sets())) {
            for (Map.Entry<String, JsonElement> e : set.cases().entrySet()) {
                JsonObject c = e.getValue().getAsJsonObject();
                if (c.has("keys") && c.getAsJsonObject("keys").has("final_hidden")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey(), () -> check(set, c)));
                    // small blocks: MLP row blocks, query-row blocks, and vision attention in groups of heads whose
                    // q/k/v come from row views of the fused bfloat16 qkv weight
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/small_blocks",
                            () -> io.github.qwenvl.testing.SmallBlocks.run(io.github.qwenvl.EngineTuning.smallBlocks(),
                                    () -> check(set, c))));
                }
            }
        }
        return tests.stream();
    }

    private void check(FixtureSet set, JsonObject c) {
        Qwen2VlNetwork net = LoadedNetworks.withBf16Matmul(set);
        assertThat(net.weightMode()).isEqualTo(QwenVlOptions.WeightMode.BF16_MATMUL);
        Path file = set.resolve(c.get("file").getAsString());
        String tag = set.name() + "/" + file.getFileName();
        LogitsGoldenTest.Forward f = LogitsGoldenTest.forward(set, net, LoadedNetworks.cpuManager(), c, file);
        JsonObject keys = c.getAsJsonObject("keys");
        if (keys.has("image_embeds")) {
            report("image_embeds: " + tag, Goldens.floats(file, "image_embeds"), f.imageEmbeds());
        }
        report("final_hidden: " + tag, Goldens.floats(file, "final_hidden"), f.finalHidden());
        int vocab = f.vocab();
        float[] last = new float[vocab];
        System.arraycopy(f.logits(), (f.seq() - 1) * vocab, last, 0, vocab);
        report("logits_last: " + tag, Goldens.floats(file, "logits_last"), last);
        long[] cols = Goldens.longs(file, "logits_cols_ids");
        float[] selected = new float[f.seq() * cols.length];
        for (int s = 0; s < f.seq(); s++) {
            for (int j = 0; j < cols.length; j++) {
                selected[s * cols.length + j] = f.logits()[s * vocab + (int) cols[j]];
            }
        }
        report("logits_cols: " + tag, Goldens.floats(file, "logits_cols"), selected);
        long[] argmax = Goldens.longs(file, "argmax");
        int same = 0;
        for (int s = 0; s < f.seq(); s++) {
            float[] row = new float[vocab];
            System.arraycopy(f.logits(), s * vocab, row, 0, vocab);
            same += Sorting.topK(row, 1)[0] == argmax[s] ? 1 : 0;
        }
        System.out.printf("BF16_MATMUL %s argmax: %d of %d positions agree%n", tag, same, f.seq());
        assertThat(same).as("%s positions whose argmax agrees", tag).isGreaterThanOrEqualTo((int) Math.ceil(0.9 * f.seq()));
    }

    /** Prints the error of {@code actual} against the float32 golden and checks it within {@link #TOLERANCE}. */
    static void report(String what, float[] expected, float[] actual) {
        double diff = 0;
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
            max = Math.max(max, Math.abs(expected[i]));
        }
        System.out.printf("BF16_MATMUL %s: max |Δ| %.3e, max |golden| %.3e, relative %.3e%n", what, diff, max,
                diff / Math.max(1, max));
        Goldens.assertClose("BF16_MATMUL " + what, expected, actual, TOLERANCE);
    }
}
