package io.github.qwenvl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole engine from messages and image files to text, against the generation goldens: image
 * decoding and preprocessing, chat template, tokenizer, vision tower, decoder, sampling, streaming.
 */
class EndToEndGoldenTest {

    private static final Map<String, QwenVlModel> MODELS = new ConcurrentHashMap<>();

    static QwenVlModel model(FixtureSet set) {
        return MODELS.computeIfAbsent(set.name(), n -> QwenVlModel.load(set.modelDir()));
    }

    @AfterAll
    static void closeModels() {
        MODELS.values().forEach(QwenVlModel::close);
        MODELS.clear();
    }

    /** The Qwen2-family sets with generation goldens. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return sets.stream().filter(s -> s.isQwen2Family() && s.cases().has("generation")).toList();
    }

    @TestFactory
    Stream<DynamicTest> generations() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(FixtureRoot.sets());
        for (FixtureSet set : sets) {
            for (Map.Entry<String, JsonElement> e : set.cases().getAsJsonObject("generation").getAsJsonObject("prompts").entrySet()) {
                JsonObject golden = e.getValue().getAsJsonObject();
                tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/greedy", () -> greedy(set, golden)));
                if (golden.has("with_checkpoint_generation_config")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/checkpoint_generation_config",
                            () -> checkpointDefaults(set, golden)));
                }
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("EndToEndGoldenTest", sets, tests);
        return tests.stream();
    }

    /** The fields of a generation golden this suite checks or applies. */
    static final Set<String> USED = Set.of("prompt_case", "prompt_len", "generate_kwargs", "new_ids", "stopped_on_eos",
            "num_new", "text_skip_special", "with_checkpoint_generation_config");
    /**
     * Fields deliberately not used: {@code text} is the decode with special tokens kept (the answer keeps only grounding
     * tokens, checked against the ids); the top-1/top-2 margins and {@code no_cache_identical} describe the reference
     * run (GenerationGoldenTest checks every step's logits).
     */
    static final Set<String> IGNORED = Set.of("text", "min_top1_top2_margin", "step_top1_top2_margin", "no_cache_identical");
    /** The fields of a prompt case this suite applies. */
    static final Set<String> PROMPT_USED = Set.of("messages", "images", "add_vision_id", "add_generation_prompt");
    /**
     * Prompt-case fields checked by other suites: the rendered and expanded prompt and the input ids
     * (PromptGoldenTest; the prompt length here), the forward-pass goldens (LogitsGoldenTest, RopeIndexGoldenTest).
     */
    static final Set<String> PROMPT_IGNORED = Set.of("description", "rendered_prompt", "expanded_prompt", "input_ids",
            "pixel_values", "seq_len", "rope_deltas", "file", "keys");

    /** A generation golden and its prompt case, read strictly (unknown fields fail with their names). */
    private static JsonObject promptCase(FixtureSet set, JsonObject golden) {
        String where = set.name() + " generation " + golden.get("prompt_case");
        io.github.qwenvl.testing.CaseFields.check(where, golden, USED, IGNORED);
        GoldenPrompts.checkGreedyKwargs(where, golden.getAsJsonObject("generate_kwargs"));
        if (golden.has("with_checkpoint_generation_config")) {
            // "call" and "text" describe the reference call and its decode; the ids are checked
            io.github.qwenvl.testing.CaseFields.check(where + " with_checkpoint_generation_config",
                    golden.getAsJsonObject("with_checkpoint_generation_config"), Set.of("new_ids"), Set.of("call", "text"));
        }
        JsonObject promptCase = set.cases().getAsJsonObject(golden.get("prompt_case").getAsString());
        io.github.qwenvl.testing.CaseFields.check(set.name() + " " + golden.get("prompt_case").getAsString(), promptCase,
                PROMPT_USED, PROMPT_IGNORED);
        return promptCase;
    }

    private void greedy(FixtureSet set, JsonObject golden) {
        JsonObject promptCase = promptCase(set, golden);
        JsonObject kwargs = golden.getAsJsonObject("generate_kwargs");
        GenerationOptions options = GoldenPrompts.options(set, promptCase)
                .maxNewTokens(kwargs.get("max_new_tokens").getAsInt())
                .temperature(0.0).repetitionPenalty(kwargs.has("repetition_penalty") && !kwargs.get("repetition_penalty").isJsonNull()
                        ? kwargs.get("repetition_penalty").getAsDouble() : 1.0).build();
        StringBuilder streamed = new StringBuilder();
        GenerationResult result = model(set).stream(
                new GenerationRequest(GoldenPrompts.messages(set, promptCase), options), streamed::append);
        assertThat(result.tokenIds()).as("new ids").containsExactly(ints(golden.getAsJsonArray("new_ids")));
        // answers keep grounding tokens and drop other special tokens; without grounding tokens in the ids
        // that is exactly the reference's skip_special_tokens=True decode
        boolean groundingTokens = java.util.Arrays.stream(result.tokenIds())
                .anyMatch(id -> model(set).tokenizer().isSpecial(id) && !java.util.Set.of(
                        model(set).tokenizer().specialTokens().endOfText(), model(set).tokenizer().specialTokens().imEnd(),
                        model(set).tokenizer().specialTokens().imStart()).contains(id));
        if (!groundingTokens) {
            assertThat(result.text()).as("text").isEqualTo(golden.get("text_skip_special").getAsString());
        } else {
            assertThat(result.text()).as("text").isEqualTo(model(set).tokenizer().decode(java.util.Arrays.stream(result.tokenIds())
                    .filter(id -> !model(set).tokenizer().isSpecial(id) || id == model(set).tokenizer().specialTokens().boxStart()
                            || id == model(set).tokenizer().specialTokens().boxEnd()
                            || id == model(set).tokenizer().specialTokens().objectRefStart()
                            || id == model(set).tokenizer().specialTokens().objectRefEnd()
                            || id == model(set).tokenizer().specialTokens().quadStart()
                            || id == model(set).tokenizer().specialTokens().quadEnd()).toArray(), false));
        }
        assertThat(streamed.toString()).as("streamed deltas").isEqualTo(result.text());
        assertThat(result.usage().promptTokens()).isEqualTo(golden.get("prompt_len").getAsInt());
        assertThat(result.usage().completionTokens()).isEqualTo(golden.get("num_new").getAsInt());
        assertThat(result.finishReason().name()).isEqualTo(golden.get("stopped_on_eos").getAsBoolean() ? "EOS" : "LENGTH");
    }

    private void checkpointDefaults(FixtureSet set, JsonObject golden) {
        JsonObject promptCase = promptCase(set, golden);
        GenerationOptions options = GoldenPrompts.options(set, promptCase)
                .maxNewTokens(golden.getAsJsonObject("generate_kwargs").get("max_new_tokens").getAsInt()).build();
        GenerationResult result = model(set).generate(new GenerationRequest(GoldenPrompts.messages(set, promptCase), options));
        JsonObject expected = golden.getAsJsonObject("with_checkpoint_generation_config");
        assertThat(result.tokenIds()).containsExactly(ints(expected.getAsJsonArray("new_ids")));
    }

    static int[] ints(com.google.gson.JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
