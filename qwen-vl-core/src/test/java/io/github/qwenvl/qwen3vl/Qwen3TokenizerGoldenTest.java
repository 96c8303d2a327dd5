package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.prompt.ChatTemplateOptions;
import io.github.qwenvl.prompt.EncodedPrompt;
import io.github.qwenvl.prompt.PromptEncoder;
import io.github.qwenvl.prompt.Qwen3ChatTemplate;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.tokenizer.Qwen2Tokenizer;
import io.github.qwenvl.tokenizer.SpecialTokens;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Goldens (f) of every Qwen3-VL set: the tokenizer of the checkpoint's own files on every string case (ids, tokens,
 * both decodes), its added tokens against the manifest and {@code config.json}, and every chat case rendered by
 * {@link Qwen3ChatTemplate} (text exact) and tokenized (ids exact) — also through {@link PromptEncoder}, one image
 * token per image.
 */
class Qwen3TokenizerGoldenTest {

    /** The sets of {@code sets} this suite runs: the Qwen3-VL ones with tokenizer cases. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return Qwen3Sets.of(sets).stream().filter(set -> casesFile(set) != null).toList();
    }

    @TestFactory
    Stream<DynamicTest> tokenizerCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : goldenSets(FixtureRoot.sets())) {
            JsonObject golden = casesFile(set);
            JsonArray cases = golden.getAsJsonArray("cases");
            for (int i = 0; i < cases.size(); i++) {
                JsonObject c = cases.get(i).getAsJsonObject();
                tests.add(DynamicTest.dynamicTest(set.name() + "/tokenizer/" + i, () -> checkString(set, c)));
            }
            if (golden.has("chat_cases")) {
                JsonArray chats = golden.getAsJsonArray("chat_cases");
                for (int i = 0; i < chats.size(); i++) {
                    JsonObject c = chats.get(i).getAsJsonObject();
                    String name = set.name() + "/chat/" + c.get("name").getAsString()
                            + (c.get("add_generation_prompt").getAsBoolean() ? "" : "/no_generation_prompt");
                    tests.add(DynamicTest.dynamicTest(name, () -> checkChat(set, c)));
                }
            }
            tests.add(DynamicTest.dynamicTest(set.name() + "/special_tokens", () -> checkSpecialTokens(set)));
        }
        return tests.stream();
    }

    private static JsonObject casesFile(FixtureSet set) {
        JsonElement entry = set.cases().get("tokenizer");
        Path file = null;
        if (entry != null && entry.isJsonObject() && entry.getAsJsonObject().has("file")) {
            file = set.resolve(entry.getAsJsonObject().get("file").getAsString());
        } else {
            Path guess = set.manifestFile().resolveSibling("tokenizer_cases.json");
            if (java.nio.file.Files.isRegularFile(guess)) {
                file = guess;
            }
        }
        return file == null ? null : FixtureRoot.readJson(file);
    }

    private static void checkString(FixtureSet set, JsonObject c) {
        try (Qwen2Tokenizer tokenizer = Qwen2Tokenizer.load(set.modelDir())) {
            String text = c.get("text").getAsString();
            int[] expected = ints(c.getAsJsonArray("ids"));
            assertThat(tokenizer.encode(text)).as("ids of %s", text).containsExactly(expected);
            if (c.has("tokens")) {
                JsonArray tokens = c.getAsJsonArray("tokens");
                for (int j = 0; j < tokens.size(); j++) {
                    assertThat(tokenizer.idOf(tokens.get(j).getAsString())).as("id of token %s", tokens.get(j))
                            .isEqualTo(OptionalInt.of(expected[j]));
                }
            }
            assertThat(tokenizer.decode(expected, false)).isEqualTo(c.get("decoded").getAsString());
            assertThat(tokenizer.decode(expected, true)).isEqualTo(c.get("decoded_skip_special").getAsString());
        }
    }

    private static void checkChat(FixtureSet set, JsonObject c) {
        List<ChatMessage> messages = messages(c.getAsJsonArray("messages"));
        ChatTemplateOptions options = new ChatTemplateOptions(c.get("add_generation_prompt").getAsBoolean(),
                c.has("add_vision_id") && c.get("add_vision_id").getAsBoolean());
        String rendered = new Qwen3ChatTemplate().render(messages, options);
        assertThat(rendered).isEqualTo(c.get("rendered").getAsString());
        try (Qwen2Tokenizer tokenizer = Qwen2Tokenizer.load(set.modelDir())) {
            int[] expected = ints(c.getAsJsonArray("ids"));
            assertThat(tokenizer.encode(rendered)).containsExactly(expected);
            int images = (int) messages.stream().mapToLong(ChatMessage::imageCount).sum();
            int[] oneTokenEach = new int[images];
            java.util.Arrays.fill(oneTokenEach, 1);
            EncodedPrompt encoded = new PromptEncoder(tokenizer, new Qwen3ChatTemplate())
                    .encode(messages, oneTokenEach, options);
            assertThat(encoded.inputIds()).containsExactly(expected);
        }
    }

    private static void checkSpecialTokens(FixtureSet set) {
        JsonObject config = FixtureRoot.readJson(set.modelDir().resolve("config.json"));
        try (Qwen2Tokenizer tokenizer = Qwen2Tokenizer.load(set.modelDir())) {
            JsonObject summary = set.manifest().getAsJsonObject("config_summary");
            if (summary.has("added_tokens")) {
                for (Map.Entry<String, JsonElement> e : summary.getAsJsonObject("added_tokens").entrySet()) {
                    assertThat(tokenizer.idOf(e.getKey())).as(e.getKey())
                            .isEqualTo(OptionalInt.of(e.getValue().getAsInt()));
                }
            }
            SpecialTokens s = tokenizer.specialTokens();
            assertThat(s.imagePad()).isEqualTo(config.get("image_token_id").getAsInt());
            assertThat(s.videoPad()).isEqualTo(config.get("video_token_id").getAsInt());
            assertThat(s.visionStart()).isEqualTo(config.get("vision_start_token_id").getAsInt());
            assertThat(s.visionEnd()).isEqualTo(config.get("vision_end_token_id").getAsInt());
            assertThat(tokenizer.isSpecial(s.imStart())).isTrue();
        }
    }

    /** The manifest's messages: string content, or a list of {@code {"type": "image"}} / text parts. */
    static List<ChatMessage> messages(JsonArray array) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonElement e : array) {
            JsonObject m = e.getAsJsonObject();
            Role role = Role.valueOf(m.get("role").getAsString().toUpperCase(java.util.Locale.ROOT));
            List<Content> parts = new ArrayList<>();
            JsonElement content = m.get("content");
            if (content.isJsonPrimitive()) {
                parts.add(Content.text(content.getAsString()));
            } else {
                for (JsonElement p : content.getAsJsonArray()) {
                    JsonObject part = p.getAsJsonObject();
                    String type = part.has("type") ? part.get("type").getAsString() : "";
                    if (type.equals("image") || part.has("image")) {
                        parts.add(Content.image(ImageSource.of(Path.of("unused.png"))));
                    } else if (part.has("text")) {
                        parts.add(Content.text(part.get("text").getAsString()));
                    }
                }
            }
            out.add(new ChatMessage(role, parts));
        }
        return out;
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
