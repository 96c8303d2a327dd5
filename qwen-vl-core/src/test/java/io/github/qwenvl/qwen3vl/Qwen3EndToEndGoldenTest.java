package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.GoldenPrompts;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
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
 * Goldens (e) of every Qwen3-VL set end to end: the manifest's messages and image files through {@link QwenVlModel}
 * (preprocessing, chat template, tokenizer, vision tower with DeepStack, decoder, sampler, detokenizer): greedy ids
 * token for token, text, streamed text and usage, with decode steps on the engine and on the Java decoder.
 */
class Qwen3EndToEndGoldenTest {

    private static final Map<String, QwenVlModel> MODELS = new ConcurrentHashMap<>();

    @AfterAll
    static void closeModels() {
        MODELS.values().forEach(QwenVlModel::close);
        MODELS.clear();
    }

    private static QwenVlModel model(FixtureSet set, QwenVlOptions.DecodeMode mode) {
        return MODELS.computeIfAbsent(set.name() + "#" + mode, k -> QwenVlModel.load(set.modelDir(),
                QwenVlOptions.defaults().withDecodeMode(mode)));
    }

    /** The sets this suite runs: the Qwen3-VL sets (dense and MoE) with generation goldens. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return Qwen3Networks.withCase(sets, "generation");
    }

    @TestFactory
    Stream<DynamicTest> generations() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : goldenSets(io.github.qwenvl.testing.FixtureRoot.sets())) {
            JsonObject prompts = set.cases().getAsJsonObject("generation").getAsJsonObject("prompts");
            for (String name : prompts.keySet()) {
                for (QwenVlOptions.DecodeMode mode : Qwen3Networks.decodeModes(set)) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + name + "/greedy/" + mode,
                            () -> greedy(set, prompts.getAsJsonObject(name), mode)));
                }
            }
        }
        return tests.stream();
    }

    private void greedy(FixtureSet set, JsonObject golden, QwenVlOptions.DecodeMode mode) {
        JsonObject promptCase = set.cases().getAsJsonObject(golden.get("prompt_case").getAsString());
        GenerationOptions options = GoldenPrompts.pixelBounds(set, promptCase)
                .maxNewTokens(golden.getAsJsonObject("generate_kwargs").get("max_new_tokens").getAsInt())
                .temperature(0.0).repetitionPenalty(1.0).build();
        QwenVlModel model = model(set, mode);
        assertThat(model.architecture())
                .isEqualTo(Qwen3Networks.moe(set) ? Qwen3VlSupport.QWEN3_VL_MOE : Qwen3VlSupport.QWEN3_VL);
        StringBuilder streamed = new StringBuilder();
        GenerationResult result = model.stream(
                new GenerationRequest(GoldenPrompts.messages(set, promptCase), options), streamed::append);
        assertThat(result.tokenIds()).as("new ids").containsExactly(ints(golden.getAsJsonArray("new_ids")));
        assertThat(result.text()).as("text").isEqualTo(golden.get("text_skip_special").getAsString());
        assertThat(streamed.toString()).as("streamed deltas").isEqualTo(result.text());
        assertThat(result.usage().promptTokens()).isEqualTo(golden.get("prompt_len").getAsInt());
        assertThat(result.usage().completionTokens()).isEqualTo(golden.get("num_new").getAsInt());
        assertThat(result.finishReason().name()).isEqualTo(golden.get("stopped_on_eos").getAsBoolean() ? "EOS" : "LENGTH");
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
