package io.github.qwenvl;

import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import io.github.qwenvl.prompt.ChatTemplateOptions;
import io.github.qwenvl.prompt.PromptEncoder;
import io.github.qwenvl.testing.CaseFields;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The golden case readers are strict: a field a suite neither uses nor lists as ignored fails with its name, and the
 * fields they accept are honoured — {@code add_vision_id} reaches the engine's prompt. Runs on the bundled Qwen2-VL set.
 */
class GoldenCaseReadersTest {

    private static FixtureSet set() {
        return FixtureRoot.bundledSets().stream().filter(FixtureSet::isQwen2Family).findFirst().orElseThrow();
    }

    private static JsonObject twoImageCase(FixtureSet set) {
        return set.cases().entrySet().stream().map(e -> e.getValue())
                .filter(v -> v.isJsonObject() && v.getAsJsonObject().has("messages")
                        && v.getAsJsonObject().getAsJsonArray("images").size() == 2)
                .findFirst().orElseThrow().getAsJsonObject().deepCopy();
    }

    @Test
    void anUnknownFieldFailsWithItsName() {
        JsonObject c = twoImageCase(set());
        c.addProperty("add_video_id", true);
        assertThatThrownBy(() -> CaseFields.check("case", c, EndToEndGoldenTest.PROMPT_USED, EndToEndGoldenTest.PROMPT_IGNORED))
                .hasMessageContaining("unknown field add_video_id");
        CaseFields.check("case", twoImageCase(set()), EndToEndGoldenTest.PROMPT_USED, EndToEndGoldenTest.PROMPT_IGNORED);
    }

    @Test
    void unknownMessagePartFieldsAndSamplingAreRejected() {
        FixtureSet set = set();
        JsonObject c = twoImageCase(set);
        c.getAsJsonArray("messages").get(0).getAsJsonObject().getAsJsonArray("content").get(0).getAsJsonObject()
                .addProperty("min_pixels", 1);
        assertThatThrownBy(() -> GoldenPrompts.messages(set, c)).hasMessageContaining("unknown field min_pixels");

        JsonObject kwargs = new JsonObject();
        kwargs.addProperty("max_new_tokens", 4);
        kwargs.addProperty("do_sample", true);
        assertThatThrownBy(() -> GoldenPrompts.checkGreedyKwargs("g", kwargs)).hasMessageContaining("do_sample = true");
        kwargs.addProperty("do_sample", false);
        kwargs.addProperty("length_penalty", 2.0);
        assertThatThrownBy(() -> GoldenPrompts.checkGreedyKwargs("g", kwargs)).hasMessageContaining("unknown field length_penalty");
    }

    /** A two-image case with {@code add_vision_id: true} is generated from "Picture 1: ... Picture 2: ..." prompts. */
    @Test
    void addVisionIdReachesTheEnginePrompt() {
        FixtureSet set = set();
        JsonObject c = twoImageCase(set);
        List<io.github.qwenvl.chat.ChatMessage> messages = GoldenPrompts.messages(set, c);
        try (QwenVlModel model = QwenVlModel.load(set.modelDir())) {
            int[] counts = new int[2];
            for (int i = 0; i < 2; i++) {
                counts[i] = model.describeImage(((io.github.qwenvl.chat.Content.Image) messages.get(0).content().stream()
                        .filter(p -> p instanceof io.github.qwenvl.chat.Content.Image).toList().get(i)).source(),
                        GoldenPrompts.options(set, c).build(), i).tokens();
            }
            PromptEncoder encoder = new PromptEncoder(model.tokenizer());
            int plain = encoder.encode(messages, counts, new ChatTemplateOptions(true, false)).inputIds().length;
            int withIds = encoder.encode(messages, counts, new ChatTemplateOptions(true, true)).inputIds().length;
            assertThat(withIds).isGreaterThan(plain);

            c.add("add_vision_id", new JsonPrimitive(true));
            GenerationResult r = model.generate(new GenerationRequest(messages, GoldenPrompts.options(set, c).maxNewTokens(1).build()));
            assertThat(r.usage().promptTokens()).isEqualTo(withIds);
            c.add("add_vision_id", new JsonPrimitive(false));
            r = model.generate(new GenerationRequest(messages, GoldenPrompts.options(set, c).maxNewTokens(1).build()));
            assertThat(r.usage().promptTokens()).isEqualTo(plain);
        }
    }

    @Test
    void theEndToEndSuiteListsEveryFieldOfTheBundledGoldens() {
        FixtureSet set = set();
        set.cases().getAsJsonObject("generation").getAsJsonObject("prompts").entrySet().forEach(e -> {
            CaseFields.check(e.getKey(), e.getValue().getAsJsonObject(), EndToEndGoldenTest.USED, EndToEndGoldenTest.IGNORED);
            assertThat(Set.copyOf(EndToEndGoldenTest.USED)).doesNotContainAnyElementsOf(EndToEndGoldenTest.IGNORED);
        });
    }
}
