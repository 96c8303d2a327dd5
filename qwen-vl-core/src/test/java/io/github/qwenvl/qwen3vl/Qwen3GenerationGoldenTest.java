package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.config.GenerationDefaults;
import io.github.qwenvl.generate.LogitsSampler;
import io.github.qwenvl.generate.SamplingParams;
import io.github.qwenvl.qwen2vl.ImageGrid;
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
 * Goldens (e) of every Qwen3-VL set, from the reference's image embeddings and DeepStack features: greedy ids token
 * for token with the raw logits of every step, with decode steps on the engine and on the Java BF16 decoder; and
 * the checkpoint's own generation_config (temperature, top-k, top-p), whose sampled ids come from torch's random
 * generator: teacher-forced along them, {@link LogitsSampler#warp} must give the stored processed scores.
 */
class Qwen3GenerationGoldenTest {

    /** The sets this suite runs: the Qwen3-VL sets (dense and MoE) with generation goldens. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return Qwen3Networks.withCase(sets, "generation");
    }

    @TestFactory
    Stream<DynamicTest> generations() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : goldenSets(io.github.qwenvl.testing.FixtureRoot.sets())) {
            JsonObject gen = set.cases().getAsJsonObject("generation");
            Path file = set.resolve(gen.get("file").getAsString());
            for (String name : gen.getAsJsonObject("prompts").keySet()) {
                JsonObject prompt = gen.getAsJsonObject("prompts").getAsJsonObject(name);
                for (QwenVlOptions.DecodeMode mode : Qwen3Networks.decodeModes(set)) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/generation/" + name + "/" + mode,
                            () -> greedy(set, file, name, prompt, mode)));
                }
                if (!Qwen3Networks.moe(set)) { // the Java (and int8) decoder has no MoE layers
                    tests.add(DynamicTest.dynamicTest(set.name() + "/generation/" + name + "/JAVA_INT8_teacher_forced",
                            () -> int8(set, file, name, prompt)));
                }
                if (prompt.has("with_checkpoint_generation_config")
                        && Goldens.file(file).contains(name + ".sampled_step_top20_scores")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/generation/" + name + "/sampling_warpers",
                            () -> warpers(set, file, name, prompt)));
                }
            }
        }
        return tests.stream();
    }

    /** A session over the prompt of a logits case, with its golden image embeddings and DeepStack features. */
    static Qwen3VlDecodingSession open(FixtureSet set, Qwen3VlNetwork net, NDManager scope, JsonObject prompt,
                                       int capacity, QwenVlOptions.DecodeMode mode) {
        JsonObject c = set.cases().getAsJsonObject(prompt.get("prompt_case").getAsString());
        Path file = set.resolve(c.get("file").getAsString());
        long[] ids = Goldens.longs(file, "input_ids");
        int[] promptIds = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            promptIds[i] = (int) ids[i];
        }
        List<ImageGrid> grids = Qwen3LogitsGoldenTest.grids(file, "image_grid_thw");
        int hidden = net.text().config().hiddenSize();
        NDArray embeds = null;
        List<NDArray> deepstack = List.of();
        if (Goldens.file(file).contains("image_embeds")) {
            float[] rows = Goldens.floats(file, "image_embeds");
            embeds = scope.create(rows, new Shape(rows.length / hidden, hidden));
            deepstack = Qwen3LogitsGoldenTest.deepstack(scope, file, hidden);
        }
        return new Qwen3VlDecodingSession(net, scope, promptIds, grids, embeds, deepstack, capacity, mode);
    }

    private void greedy(FixtureSet set, Path file, String name, JsonObject prompt, QwenVlOptions.DecodeMode mode) {
        Qwen3VlNetwork net = Qwen3Networks.of(set, mode);
        long[] expected = Goldens.longs(file, name + ".new_ids");
        long[] cols = Goldens.longs(file, "logits_cols_ids");
        float[] stepCols = Goldens.floats(file, name + ".step_logits_cols");
        String tag = set.name() + "/" + name + " " + mode;
        try (NDManager scope = Qwen3Networks.manager().newSubManager();
             Qwen3VlDecodingSession session = open(set, net, scope, prompt,
                     prompt.get("prompt_len").getAsInt() + expected.length, mode)) {
            assertThat(session.javaDecode()).isEqualTo(mode == QwenVlOptions.DecodeMode.JAVA);
            float[] logits = session.prefill();
            long[] ids = new long[expected.length];
            for (int step = 0; step < expected.length; step++) {
                float[] want = new float[cols.length];
                float[] got = new float[cols.length];
                for (int j = 0; j < cols.length; j++) {
                    want[j] = stepCols[step * cols.length + j];
                    got[j] = logits[(int) cols[j]];
                }
                Goldens.assertClose("qwen3 generation step_logits_cols " + mode.name().toLowerCase(), want, got, 2e-4);
                ids[step] = LogitsSampler.argmax(logits);
                assertThat(ids[step]).as("%s step %d", tag, step).isEqualTo(expected[step]);
                if (step + 1 < expected.length) {
                    logits = session.next((int) ids[step]);
                }
            }
            assertThat(ids).as(tag).containsExactly(expected);
        }
    }

    /**
     * The opt-in int8 decode, teacher-forced along the greedy ids: approximate logits, so the error is bounded (15 %
     * of the step's largest golden logit, as for the Qwen2 family) rather than required exact; printed per step kind.
     */
    private void int8(FixtureSet set, Path file, String name, JsonObject prompt) {
        Qwen3VlNetwork net = Qwen3Networks.of(set, QwenVlOptions.DecodeMode.JAVA_INT8);
        long[] expected = Goldens.longs(file, name + ".new_ids");
        long[] cols = Goldens.longs(file, "logits_cols_ids");
        float[] stepCols = Goldens.floats(file, name + ".step_logits_cols");
        try (NDManager scope = Qwen3Networks.manager().newSubManager();
             Qwen3VlDecodingSession session = open(set, net, scope, prompt,
                     prompt.get("prompt_len").getAsInt() + expected.length, QwenVlOptions.DecodeMode.JAVA_INT8)) {
            float[] logits = session.prefill();
            double worst = 0;
            for (int step = 0; step < expected.length; step++) {
                double max = 0;
                double diff = 0;
                for (int j = 0; j < cols.length; j++) {
                    float want = stepCols[step * cols.length + j];
                    max = Math.max(max, Math.abs(want));
                    diff = Math.max(diff, Math.abs(want - logits[(int) cols[j]]));
                }
                assertThat(diff / Math.max(1, max)).as("%s/%s int8 step %d", set.name(), name, step).isLessThan(0.15);
                worst = Math.max(worst, diff / Math.max(1, max));
                if (step + 1 < expected.length) {
                    logits = session.next((int) expected[step]);
                }
            }
            io.github.qwenvl.testing.MaxDiffLog.record("qwen3 int8 decode step logits (relative)", worst, worst);
        }
    }

    private void warpers(FixtureSet set, Path file, String name, JsonObject prompt) {
        Qwen3VlNetwork net = Qwen3Networks.of(set);
        GenerationDefaults d = net.config().generation();
        assertThat(d.doSample()).as("the checkpoint's generation_config samples").isTrue();
        SamplingParams params = new SamplingParams(true, d.temperature(), d.topK(), d.topP(),
                d.repetitionPenalty() == null ? 1.0 : d.repetitionPenalty(), 1234L, 1, 0, d.eosTokenIds(), List.of());
        JsonObject sampled = prompt.getAsJsonObject("with_checkpoint_generation_config");
        long[] ids = new long[sampled.getAsJsonArray("new_ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = sampled.getAsJsonArray("new_ids").get(i).getAsLong();
        }
        long[] topIds = Goldens.longs(file, name + ".sampled_step_top20_ids");
        float[] topScores = Goldens.floats(file, name + ".sampled_step_top20_scores");
        int width = (int) Goldens.shape(file, name + ".sampled_step_top20_ids")[1];
        String tag = set.name() + "/" + name + " sampling warpers";
        try (NDManager scope = Qwen3Networks.manager().newSubManager();
             Qwen3VlDecodingSession session = open(set, net, scope, prompt,
                     prompt.get("prompt_len").getAsInt() + ids.length, QwenVlOptions.DecodeMode.ENGINE)) {
            float[] logits = session.prefill();
            for (int step = 0; step < ids.length; step++) {
                float[] scores = LogitsSampler.warp(logits.clone(), params);
                int kept = 0;
                for (float s : scores) {
                    if (s != Float.NEGATIVE_INFINITY) {
                        kept++;
                    }
                }
                if (sampled.has("kept_candidates_per_step")) {
                    assertThat(kept).as("%s kept candidates at step %d", tag, step)
                            .isEqualTo(sampled.getAsJsonArray("kept_candidates_per_step").get(step).getAsInt());
                }
                float[] want = new float[width];
                float[] got = new float[width];
                int finite = 0;
                for (int k = 0; k < width; k++) {
                    int id = (int) topIds[step * width + k];
                    float golden = topScores[step * width + k];
                    if (golden == Float.NEGATIVE_INFINITY) {
                        assertThat(scores[id]).as("%s step %d id %d filtered", tag, step, id)
                                .isEqualTo(Float.NEGATIVE_INFINITY);
                    } else {
                        want[finite] = golden;
                        got[finite] = scores[id];
                        finite++;
                    }
                }
                assertThat(finite).as("%s finite scores at step %d", tag, step).isEqualTo(kept);
                Goldens.assertClose("qwen3 sampling processed scores", java.util.Arrays.copyOf(want, finite),
                        java.util.Arrays.copyOf(got, finite), 3e-4);
                assertThat(scores[(int) ids[step]]).as("%s sampled id %d kept at step %d", tag, ids[step], step)
                        .isNotEqualTo(Float.NEGATIVE_INFINITY);
                if (step + 1 < ids.length) {
                    logits = session.next((int) ids[step]);
                }
            }
        }
    }
}
