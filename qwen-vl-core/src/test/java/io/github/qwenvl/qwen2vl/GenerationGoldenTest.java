package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.nn.Trace;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.config.GenerationDefaults;
import io.github.qwenvl.generate.GenerationLoop;
import io.github.qwenvl.generate.SamplingParams;
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
 * Goldens (e): greedy generation with KV cache, token for token, with the raw logits of every step;
 * and the runs with the checkpoint's own generation_config.json.
 */
class GenerationGoldenTest {

    /** One greedy generation golden of a Qwen2-family set: its prompt (manifest entry) and the golden file. */
    record GenerationCase(FixtureSet set, String name, JsonObject prompt, Path file) {
        String label() {
            return set.name() + "/generation/" + name;
        }
    }

    /** The Qwen2-family sets with generation goldens. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return sets.stream().filter(s -> s.isQwen2Family() && s.cases().has("generation")).toList();
    }

    /** Every generation golden of every Qwen2-family set of the fixture root (none when the root has no such set). */
    static List<GenerationCase> cases() {
        List<GenerationCase> cases = new ArrayList<>();
        for (FixtureSet set : goldenSets(FixtureRoot.sets())) {
            JsonObject generation = set.cases().getAsJsonObject("generation");
            Path file = set.resolve(generation.get("file").getAsString());
            for (Map.Entry<String, JsonElement> e : generation.getAsJsonObject("prompts").entrySet()) {
                cases.add(new GenerationCase(set, e.getKey(), e.getValue().getAsJsonObject(), file));
            }
        }
        return cases;
    }

    /** Greedy sampling with the golden's max_new_tokens and repetition penalty, stopping on the checkpoint's eos ids. */
    static SamplingParams greedyParams(JsonObject prompt, Qwen2VlNetwork net) {
        JsonObject kwargs = prompt.getAsJsonObject("generate_kwargs");
        io.github.qwenvl.GoldenPrompts.checkGreedyKwargs("generation " + prompt.get("prompt_case"), kwargs);
        return new SamplingParams(false, 1.0, 0, 1.0,
                kwargs.has("repetition_penalty") && !kwargs.get("repetition_penalty").isJsonNull()
                        ? kwargs.get("repetition_penalty").getAsDouble() : 1.0,
                null, kwargs.get("max_new_tokens").getAsInt(), 0, net.config().generation().eosTokenIds(), List.of());
    }

    /** The golden's columns of every step's logits, step-major: (steps, cols) flattened. */
    static float[] stepLogitsCols(List<float[]> steps, long[] cols) {
        float[] out = new float[steps.size() * cols.length];
        for (int s = 0; s < steps.size(); s++) {
            for (int j = 0; j < cols.length; j++) {
                out[s * cols.length + j] = steps.get(s)[(int) cols[j]];
            }
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> generationCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (GenerationCase c : cases()) {
            tests.add(DynamicTest.dynamicTest(c.label(), () -> greedy(c)));
            // prefill attention in 16-query-row blocks (what long prompts use): the same ids and step logits
            tests.add(DynamicTest.dynamicTest(c.label() + "/query_row_blocks",
                    () -> io.github.qwenvl.testing.SmallBlocks.run(() -> greedy(c))));
            if (c.prompt().has("with_checkpoint_generation_config")) {
                tests.add(DynamicTest.dynamicTest(c.label() + "/with_checkpoint_generation_config",
                        () -> withCheckpointConfig(c.set(), c.prompt())));
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("GenerationGoldenTest", goldenSets(FixtureRoot.sets()), tests);
        return tests.stream();
    }

    private void greedy(GenerationCase c) {
        FixtureSet set = c.set();
        String name = c.name();
        JsonObject prompt = c.prompt();
        Qwen2VlNetwork net = LoadedNetworks.of(set);
        List<float[]> stepLogits = new ArrayList<>();
        GenerationLoop.Outcome outcome = run(set, prompt, greedyParams(prompt, net), (step, logits) -> stepLogits.add(logits));
        long[] expected = toLongs(prompt.getAsJsonArray("new_ids"));
        assertThat(toLongs(outcome.tokens())).as("%s/%s new ids", set.name(), name).containsExactly(expected);
        assertThat(outcome.finishReason().name().equals("EOS")).as("stopped on eos")
                .isEqualTo(prompt.get("stopped_on_eos").getAsBoolean());

        long[] cols = Goldens.longs(c.file(), "logits_cols_ids");
        float[] expectedCols = Goldens.floats(c.file(), name + ".step_logits_cols");
        Goldens.assertClose("generation step_logits_cols: " + set.name() + "/" + name, expectedCols,
                stepLogitsCols(stepLogits, cols), 1e-4);
        long[] top5 = Goldens.longs(c.file(), name + ".step_top5_ids");
        for (int s = 0; s < stepLogits.size(); s++) {
            int[] ours = Sorting.topK(stepLogits.get(s), 5);
            for (int k = 0; k < 5; k++) {
                assertThat((long) ours[k]).as("%s step %d top5[%d]", name, s, k).isEqualTo(top5[s * 5 + k]);
            }
        }
    }

    private void withCheckpointConfig(FixtureSet set, JsonObject prompt) {
        Qwen2VlNetwork net = LoadedNetworks.of(set);
        GenerationDefaults d = net.config().generation();
        SamplingParams params = new SamplingParams(d.doSample(),
                d.temperature() == null ? 1.0 : d.temperature(), d.topK() == null ? 50 : d.topK(),
                d.topP() == null ? 1.0 : d.topP(), d.repetitionPenalty() == null ? 1.0 : d.repetitionPenalty(),
                42L, prompt.getAsJsonObject("generate_kwargs").get("max_new_tokens").getAsInt(), 0, d.eosTokenIds(), List.of());
        GenerationLoop.Outcome outcome = run(set, prompt, params, null);
        long[] expected = toLongs(prompt.getAsJsonObject("with_checkpoint_generation_config").getAsJsonArray("new_ids"));
        assertThat(toLongs(outcome.tokens())).as("%s with checkpoint generation config", set.name()).containsExactly(expected);
    }

    static GenerationLoop.Outcome run(FixtureSet set, JsonObject prompt, SamplingParams params,
                                      GenerationLoop.LogitsObserver observer) {
        return run(set, prompt, params, null, observer);
    }

    /**
     * Greedy run of a generation golden's prompt (its logits case's ids and pixel values).
     *
     * @param mode the decode mode to force (and check it is the one used), or null for the network's default
     */
    static GenerationLoop.Outcome run(FixtureSet set, JsonObject prompt, SamplingParams params,
                                      io.github.qwenvl.QwenVlOptions.DecodeMode mode, GenerationLoop.LogitsObserver observer) {
        return run(set, LoadedNetworks.of(set), LoadedNetworks.manager(), prompt, params, mode, observer);
    }

    /** As above on the given network, with request tensors under {@code manager}. */
    static GenerationLoop.Outcome run(FixtureSet set, Qwen2VlNetwork net, NDManager manager, JsonObject prompt,
                                      SamplingParams params, io.github.qwenvl.QwenVlOptions.DecodeMode mode,
                                      GenerationLoop.LogitsObserver observer) {
        try (NDManager scope = manager.newSubManager();
             Qwen2VlDecodingSession session = openSession(set, net, scope, prompt, params.maxNewTokens(), mode)) {
            if (mode != null) {
                assertThat(session.javaDecode()).isEqualTo(mode == io.github.qwenvl.QwenVlOptions.DecodeMode.JAVA);
            }
            return GenerationLoop.run(session, params, null, observer);
        }
    }

    /**
     * A decoding session on a generation golden's prompt (its logits case's ids, and image embeddings from its pixel
     * values computed under {@code scope}), with room for {@code newTokens}.
     *
     * @param mode the decode mode, or null for the network's default
     */
    static Qwen2VlDecodingSession openSession(FixtureSet set, Qwen2VlNetwork net, NDManager scope, JsonObject prompt,
                                              int newTokens, io.github.qwenvl.QwenVlOptions.DecodeMode mode) {
        JsonObject logitsCase = set.cases().getAsJsonObject(prompt.get("prompt_case").getAsString());
        Path logitsFile = set.resolve(logitsCase.get("file").getAsString());
        long[] ids = Goldens.longs(logitsFile, "input_ids");
        List<ImageGrid> grids = GoldenGrids.parse(Goldens.file(logitsFile).contains("image_grid_thw")
                ? Goldens.longs(logitsFile, "image_grid_thw") : null);
        NDArray imageEmbeds = null;
        if (logitsCase.has("pixel_values") && logitsCase.get("pixel_values").isJsonObject()) {
            float[] pixels = ConcatInputs.floats(set, logitsCase.getAsJsonObject("pixel_values"));
            int patchDim = net.vision().config().patchDim();
            imageEmbeds = net.vision().forward(scope, scope.create(pixels, new Shape(pixels.length / patchDim, patchDim)),
                    grids, Trace.NONE);
        }
        int[] promptIds = GoldenGrids.row(ids, 0, ids.length);
        int capacity = ids.length + newTokens;
        return mode == null
                ? new Qwen2VlDecodingSession(net, scope, promptIds, grids, imageEmbeds, capacity)
                : new Qwen2VlDecodingSession(net, scope, promptIds, grids, imageEmbeds, capacity, mode);
    }

    static long[] toLongs(com.google.gson.JsonArray a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }

    static long[] toLongs(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }
}
