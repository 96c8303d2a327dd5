package io.github.qwenvl.prompt;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.tokenizer.QwenTokenizer;
import io.github.qwenvl.tokenizer.TokenizerFixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map.Entry;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every case of a Qwen2-family checkpoint set that has {@code messages} and {@code rendered_prompt}: rendered
 * prompt, expanded prompt and input ids exact. Image token counts come from the {@code image_grid_thw} of the
 * preprocess entry each image names.
 */
class PromptGoldenTest {

    /** The Qwen2-family sets with a case holding messages and their rendered prompt. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return TokenizerFixtures.modelSets(sets).stream().filter(s -> s.cases().entrySet().stream()
                .anyMatch(e -> e.getValue().isJsonObject() && e.getValue().getAsJsonObject().has("messages")
                        && e.getValue().getAsJsonObject().has("rendered_prompt"))).toList();
    }

    @TestFactory
    Stream<DynamicTest> goldenPrompts() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(io.github.qwenvl.testing.FixtureRoot.sets());
        for (FixtureSet set : sets) {
            TokenizerFixtures.Source source = new TokenizerFixtures.Source(set.name(), set, null, null, set.modelDir());
            for (Entry<String, JsonElement> e : set.cases().entrySet()) {
                if (!e.getValue().isJsonObject()) {
                    continue;
                }
                JsonObject c = e.getValue().getAsJsonObject();
                if (c.has("messages") && c.has("rendered_prompt")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/prompt/" + e.getKey(),
                            () -> checkCase(set, source.tokenizer(), c)));
                }
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("PromptGoldenTest", sets, tests);
        return tests.stream();
    }

    /** The prompt-case fields this suite checks or applies. */
    static final java.util.Set<String> USED = java.util.Set.of("messages", "images", "add_generation_prompt",
            "add_vision_id", "rendered_prompt", "expanded_prompt", "input_ids");
    /** Forward-pass fields, checked by LogitsGoldenTest and RopeIndexGoldenTest. */
    static final java.util.Set<String> IGNORED = java.util.Set.of("description", "pixel_values", "seq_len", "rope_deltas",
            "file", "keys");

    private static void checkCase(FixtureSet set, QwenTokenizer tokenizer, JsonObject c) {
        io.github.qwenvl.testing.CaseFields.check(set.name() + " prompt case", c, USED, IGNORED);
        List<ChatMessage> messages = messages(set, c.getAsJsonArray("messages"));
        ChatTemplateOptions options = new ChatTemplateOptions(
                !c.has("add_generation_prompt") || c.get("add_generation_prompt").getAsBoolean(),
                c.has("add_vision_id") && c.get("add_vision_id").getAsBoolean());
        int mergeSize = ModelConfig.load(set.modelDir()).imageProcessor().mergeSize();
        int[] counts = imageTokenCounts(set, c, mergeSize);

        EncodedPrompt prompt = new PromptEncoder(tokenizer).encode(messages, counts, options);

        assertThat(prompt.renderedPrompt()).isEqualTo(c.get("rendered_prompt").getAsString());
        if (c.has("expanded_prompt")) {
            assertThat(prompt.expandedPrompt()).isEqualTo(c.get("expanded_prompt").getAsString());
        }
        if (c.has("input_ids")) {
            assertThat(prompt.inputIds()).containsExactly(TokenizerFixtures.ints(c.getAsJsonArray("input_ids")));
        }
        assertThat(tokenizer.encode(prompt.expandedPrompt())).containsExactly(prompt.inputIds());
        int visionStart = tokenizer.specialTokens().visionStart();
        int imagePad = tokenizer.specialTokens().imagePad();
        for (int i = 0; i < counts.length; i++) {
            int offset = prompt.imageTokenOffsets()[i];
            assertThat(prompt.inputIds()[offset - 1]).isEqualTo(visionStart);
            assertThat(Arrays.copyOfRange(prompt.inputIds(), offset, offset + counts[i])).containsOnly(imagePad);
        }
    }

    private static List<ChatMessage> messages(FixtureSet set, JsonArray json) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonElement m : json) {
            JsonObject message = m.getAsJsonObject();
            Role role = Arrays.stream(Role.values())
                    .filter(r -> r.templateName().equals(message.get("role").getAsString())).findFirst()
                    .orElseThrow();
            JsonElement content = message.get("content");
            List<Content> parts = new ArrayList<>();
            if (content.isJsonPrimitive()) {
                parts.add(Content.text(content.getAsString()));
            } else {
                for (JsonElement p : content.getAsJsonArray()) {
                    JsonObject part = p.getAsJsonObject();
                    String type = part.has("type") ? part.get("type").getAsString() : "";
                    if (type.equals("image") || part.has("image") || part.has("image_url")) {
                        // The template only counts images; the pixels are not needed here.
                        parts.add(Content.image(ImageSource.of(new byte[0])));
                    } else if (part.has("text")) {
                        parts.add(Content.text(part.get("text").getAsString()));
                    } else {
                        throw new IllegalArgumentException("Unsupported content part in " + set + ": " + part);
                    }
                }
            }
            out.add(new ChatMessage(role, parts));
        }
        return out;
    }

    private static int[] imageTokenCounts(FixtureSet set, JsonObject c, int mergeSize) {
        JsonArray images = c.has("images") && c.get("images").isJsonArray() ? c.getAsJsonArray("images")
                : new JsonArray();
        int[] counts = new int[images.size()];
        for (int i = 0; i < counts.length; i++) {
            String name = images.get(i).getAsJsonObject().get("preprocess").getAsString();
            int[] grid = TokenizerFixtures.ints(preprocessEntry(set, name).getAsJsonArray("image_grid_thw"));
            counts[i] = PromptEncoder.imageTokenCount(grid[0], grid[1], grid[2], mergeSize);
        }
        return counts;
    }

    /** The named entry of {@code cases.preprocess.entries} (or of {@code omitted}, which also gives the grid). */
    private static JsonObject preprocessEntry(FixtureSet set, String name) {
        JsonObject preprocess = set.cases().getAsJsonObject("preprocess");
        for (String list : new String[] {"entries", "omitted"}) {
            if (preprocess.has(list)) {
                for (JsonElement e : preprocess.getAsJsonArray(list)) {
                    if (e.getAsJsonObject().get("name").getAsString().equals(name)) {
                        return e.getAsJsonObject();
                    }
                }
            }
        }
        throw new IllegalStateException(set + " has no preprocess entry " + name);
    }
}
