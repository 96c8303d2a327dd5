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

    @TestFactory
    Stream<DynamicTest> generations() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : FixtureRoot.sets()) {
            if (!set.isQwen2Family() || !set.cases().has("generation")) {
                continue;
            }
            for (Map.Entry<String, JsonElement> e : set.cases().getAsJsonObject("generation").getAsJsonObject("prompts").entrySet()) {
                JsonObject golden = e.getValue().getAsJsonObject();
                tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/greedy", () -> greedy(set, golden)));
                if (golden.has("with_checkpoint_generation_config")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey() + "/checkpoint_generation_config",
                            () -> checkpointDefaults(set, golden)));
                }
            }
        }
        assertThat(tests).isNotEmpty();
        return tests.stream();
    }

    private void greedy(FixtureSet set, JsonObject golden) {
        JsonObject promptCase = set.cases().getAsJsonObject(golden.get("prompt_case").getAsString());
        GenerationOptions options = GoldenPrompts.pixelBounds(set, promptCase)
                .maxNewTokens(golden.getAsJsonObject("generate_kwargs").get("max_new_tokens").getAsInt())
                .temperature(0.0).repetitionPenalty(1.0).build();
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
        JsonObject promptCase = set.cases().getAsJsonObject(golden.get("prompt_case").getAsString());
        GenerationOptions options = GoldenPrompts.pixelBounds(set, promptCase)
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
