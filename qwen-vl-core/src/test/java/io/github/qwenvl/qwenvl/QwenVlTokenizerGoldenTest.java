package io.github.qwenvl.qwenvl;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.tokenizer.QwenTiktokenTokenizer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tokenizer goldens (e) of every set with a tiktoken vocabulary (the reduced one of the model sets, the real
 * full vocabulary of tokenizer sets): special table, encode / decode / token bytes, make_context's restricted
 * specials, from_list_format texts, box strings, every case prompt (ids built from messages) — tests named
 * {@code <set>/<case>}.
 */
class QwenVlTokenizerGoldenTest {

    /** The sets with a tiktoken vocabulary and tokenizer goldens. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return sets.stream().filter(s -> QwenVlSets.tokenizerGoldens(s) != null).toList();
    }

    @TestFactory
    Stream<DynamicTest> tokenizerGoldens() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(FixtureRoot.sets());
        for (FixtureSet set : sets) {
            Path goldensFile = QwenVlSets.tokenizerGoldens(set);
            Path vocab = QwenVlSets.vocabFile(set);
            JsonObject g = FixtureRoot.readJson(goldensFile);
            tests.add(DynamicTest.dynamicTest(set.name() + "/special_tokens", () -> {
                QwenTiktokenTokenizer t = QwenVlSets.tokenizer(vocab);
                if (g.has("num_mergeable_ranks")) {
                    assertThat(t.mergeableRanks()).isEqualTo(g.get("num_mergeable_ranks").getAsInt());
                }
                if (g.has("n_vocab_tokenizer")) {
                    assertThat(t.vocabularySize()).isEqualTo(g.get("n_vocab_tokenizer").getAsInt());
                }
                for (Map.Entry<String, JsonElement> e : g.getAsJsonObject("special_tokens").entrySet()) {
                    assertThat(t.specialId(e.getKey())).as(e.getKey()).isEqualTo(e.getValue().getAsInt());
                    assertThat(t.idOf(e.getKey()).orElse(-1)).isEqualTo(e.getValue().getAsInt());
                }
                assertThat(t.specialTokenTable()).hasSize(g.getAsJsonObject("special_tokens").size());
            }));
            for (String section : List.of("encode", "box_strings")) {
                if (!g.has(section)) {
                    continue;
                }
                JsonArray list = g.getAsJsonArray(section);
                for (int i = 0; i < list.size(); i++) {
                    JsonObject c = list.get(i).getAsJsonObject();
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + section + "[" + i + "]", () -> encodeCase(vocab, c)));
                }
            }
            if (g.has("encode_with_restricted_specials")) {
                tests.add(DynamicTest.dynamicTest(set.name() + "/encode_with_restricted_specials", () -> {
                    QwenTiktokenTokenizer t = QwenVlSets.tokenizer(vocab);
                    for (JsonElement e : g.getAsJsonArray("encode_with_restricted_specials")) {
                        JsonObject c = e.getAsJsonObject();
                        assertThat(t.encode(c.get("text").getAsString(), QwenTiktokenTokenizer.IMAGE_ST))
                                .as(c.get("text").getAsString()).containsExactly(QwenVlSets.ints(c.getAsJsonArray("ids")));
                    }
                }));
            }
            if (g.has("from_list_format")) {
                tests.add(DynamicTest.dynamicTest(set.name() + "/from_list_format", () -> {
                    QwenVlChatFormat raw = new QwenVlChatFormat(QwenVlSets.tokenizer(vocab), false, 6144);
                    int checked = 0;
                    for (JsonElement e : g.getAsJsonArray("from_list_format")) {
                        JsonObject c = e.getAsJsonObject();
                        var parts = QwenVlSets.listFormat(c.getAsJsonArray("list_format"));
                        if (parts == null) {
                            continue; // ref/box elements: the engine's messages carry no such parts
                        }
                        var encoded = raw.encode(List.of(new io.github.qwenvl.chat.ChatMessage(io.github.qwenvl.chat.Role.USER, parts)));
                        assertThat(encoded.text()).isEqualTo(c.get("text").getAsString());
                        checked++;
                    }
                    assertThat(checked).isPositive();
                }));
            }
            if (g.has("prompts")) {
                for (JsonElement e : g.getAsJsonArray("prompts")) {
                    JsonObject p = e.getAsJsonObject();
                    tests.add(DynamicTest.dynamicTest(set.name() + "/prompt/" + p.get("name").getAsString(),
                            () -> promptCase(QwenVlSets.tokenizer(vocab), p.getAsJsonObject("prompt"),
                                    QwenVlSets.ints(p.getAsJsonArray("input_ids")))));
                }
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("QwenVlTokenizerGoldenTest", sets, tests);
        return tests.stream();
    }

    private static void encodeCase(Path vocab, JsonObject c) {
        QwenTiktokenTokenizer t = QwenVlSets.tokenizer(vocab);
        String text = c.get("text").getAsString();
        int[] expected = QwenVlSets.ints(c.getAsJsonArray("ids"));
        int[] ids = t.encode(text);
        assertThat(ids).as(text).containsExactly(expected);
        if (c.has("decoded")) {
            assertThat(t.decode(ids, false)).isEqualTo(c.get("decoded").getAsString());
        }
        if (c.has("tokens_hex")) {
            JsonArray hex = c.getAsJsonArray("tokens_hex");
            int imgStart = t.specialTokens().visionStart();
            boolean inSpan = false;
            for (int i = 0; i < ids.length; i++) {
                String h = hex.get(i).getAsString();
                if (h.startsWith("SPECIAL:")) {
                    assertThat(t.isSpecial(ids[i])).isTrue();
                    assertThat(new String(t.tokenBytes(ids[i]), java.nio.charset.StandardCharsets.UTF_8))
                            .isEqualTo(h.substring("SPECIAL:".length()));
                } else if (!inSpan) {
                    assertThat(HexFormat.of().formatHex(t.tokenBytes(ids[i]))).as("token %d of %s", i, text).isEqualTo(h);
                }
                if (ids[i] == imgStart) {
                    inSpan = true;
                } else if (ids[i] == t.specialTokens().visionEnd()) {
                    inSpan = false;
                }
            }
        }
    }

    /** Builds a manifest prompt from messages through the engine's chat format and compares the ids. */
    static void promptCase(QwenTiktokenTokenizer t, JsonObject prompt, int[] expected) {
        boolean chat = prompt.get("kind").getAsString().equals("chat");
        QwenVlChatFormat format = new QwenVlChatFormat(t, chat, 6144);
        var encoded = format.encode(QwenVlSets.messages(prompt));
        if (prompt.has("text")) {
            assertThat(encoded.text()).isEqualTo(prompt.get("text").getAsString());
        }
        assertThat(encoded.inputIds()).containsExactly(expected);
    }
}
