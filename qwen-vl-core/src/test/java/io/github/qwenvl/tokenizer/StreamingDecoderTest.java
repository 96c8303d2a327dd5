package io.github.qwenvl.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map.Entry;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Concatenated streaming deltas equal {@code decode(allIds)}; no delta splits a character. */
class StreamingDecoderTest {

    private static final List<String> MULTILINGUAL = List.of(
            "你好，世界！今天天气很好。",
            "emoji 😀👍🏽 and flags 🇫🇷🇯🇵, family 👨‍👩‍👧‍👦 done",
            "Ünïcödé àccents: café, naïve, Straße — „quotes“ … ½",
            "日本語のテキストと한국어 텍스트, Ελληνικά, русский, العربية, हिन्दी",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟙𝟚𝟛 and CJK ext-B 𠀀𠀁");

    /** Every golden tokenizer case, both skip modes, against the golden decodes. */
    @TestFactory
    Stream<DynamicTest> goldenTokenizerCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (TokenizerFixtures.Source source : TokenizerFixtures.sources()) {
            for (TokenizerFixtures.CaseFile caseFile : TokenizerFixtures.caseFiles(source)) {
                JsonArray cases = TokenizerFixtures.cases(caseFile.file());
                for (int i = 0; i < cases.size(); i++) {
                    JsonObject c = cases.get(i).getAsJsonObject();
                    int[] ids = TokenizerFixtures.ints(c.getAsJsonArray("ids"));
                    tests.add(DynamicTest.dynamicTest(
                            source.set().name() + "/" + caseFile.caseKey() + "/" + i + "/streamed", () -> {
                                QwenTokenizer t = source.tokenizer();
                                assertThat(stream(t, ids, false)).isEqualTo(c.get("decoded").getAsString());
                                assertThat(stream(t, ids, true))
                                        .isEqualTo(c.get("decoded_skip_special").getAsString());
                            }));
                }
            }
        }
        return tests.stream();
    }

    /** Generated ids of the checkpoint sets (one of them decodes to a U+FFFD). */
    @TestFactory
    Stream<DynamicTest> goldenGenerations() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : TokenizerFixtures.modelSets()) {
            JsonObject generation = set.cases().has("generation") ? set.cases().getAsJsonObject("generation") : null;
            if (generation == null || !generation.has("prompts")) {
                continue;
            }
            for (Entry<String, JsonElement> prompt : generation.getAsJsonObject("prompts").entrySet()) {
                JsonObject p = prompt.getValue().getAsJsonObject();
                int[] ids = TokenizerFixtures.ints(p.getAsJsonArray("new_ids"));
                tests.add(DynamicTest.dynamicTest(set.name() + "/generation/" + prompt.getKey() + "/streamed", () -> {
                    QwenTokenizer t = new TokenizerFixtures.Source(set.name(), set, null, null, set.modelDir())
                            .tokenizer();
                    assertThat(stream(t, ids, false)).isEqualTo(p.get("text").getAsString());
                    assertThat(stream(t, ids, true)).isEqualTo(p.get("text_skip_special").getAsString());
                    assertThat(t.decode(ids, false)).isEqualTo(p.get("text").getAsString());
                }));
            }
        }
        return tests.stream();
    }

    /**
     * Random id sequences, half of the ids drawn from tokens holding non-ASCII bytes (so incomplete and invalid
     * UTF-8 is frequent), plus some ids without a token; checked against the native decode.
     */
    @TestFactory
    Stream<DynamicTest> randomSequences() {
        return TokenizerFixtures.sources().stream().map(source -> DynamicTest.dynamicTest(
                source.label() + "/random_sequences", () -> {
                    QwenTokenizer t = source.tokenizer();
                    int[] nonAscii = IntStream.range(0, t.vocabularySize())
                            .filter(id -> hasHighByte(t.tokenBytes(id))).toArray();
                    int[] specials = IntStream.range(0, t.vocabularySize()).filter(t::isSpecial).toArray();
                    Random random = new Random(20240321L);
                    for (int n = 0; n < 300; n++) {
                        int[] ids = new int[1 + random.nextInt(40)];
                        for (int i = 0; i < ids.length; i++) {
                            int kind = random.nextInt(10);
                            ids[i] = kind < 5 ? nonAscii[random.nextInt(nonAscii.length)]
                                    : kind < 6 && specials.length > 0 ? specials[random.nextInt(specials.length)]
                                    : random.nextInt(t.vocabularySize() + 3);
                        }
                        for (boolean skip : new boolean[] {false, true}) {
                            assertThat(stream(t, ids, skip)).as("ids %s skip %s", java.util.Arrays.toString(ids), skip)
                                    .isEqualTo(t.decode(ids, skip));
                        }
                    }
                }));
    }

    /** Multilingual and emoji text survives encode → stream unchanged, and no delta splits a code point. */
    @TestFactory
    Stream<DynamicTest> multilingualRoundTrips() {
        List<DynamicTest> tests = new ArrayList<>();
        for (TokenizerFixtures.Source source : TokenizerFixtures.sources()) {
            for (int i = 0; i < MULTILINGUAL.size(); i++) {
                String text = MULTILINGUAL.get(i);
                tests.add(DynamicTest.dynamicTest(source.label() + "/round_trip/" + i, () -> {
                    QwenTokenizer t = source.tokenizer();
                    int[] ids = t.encode(text);
                    StreamingDecoder decoder = new StreamingDecoder(t, true);
                    StringBuilder all = new StringBuilder();
                    for (int id : ids) {
                        String delta = decoder.push(id);
                        assertThat(delta).doesNotContain("\uFFFD");
                        assertWholeCodePoints(delta);
                        all.append(delta);
                    }
                    assertThat(decoder.flush()).isEmpty();
                    assertThat(all.toString()).isEqualTo(text).isEqualTo(t.decode(ids, true));
                }));
            }
        }
        return tests.stream();
    }

    static String stream(QwenTokenizer tokenizer, int[] ids, boolean skipSpecial) {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer, skipSpecial);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String delta = decoder.push(id);
            assertWholeCodePoints(delta);
            out.append(delta);
        }
        return out.append(decoder.flush()).toString();
    }

    private static void assertWholeCodePoints(String delta) {
        for (int i = 0; i < delta.length(); i++) {
            char c = delta.charAt(i);
            if (Character.isHighSurrogate(c)) {
                assertThat(i + 1 < delta.length() && Character.isLowSurrogate(delta.charAt(i + 1)))
                        .as("unpaired high surrogate in delta").isTrue();
                i++;
            } else {
                assertThat(Character.isLowSurrogate(c)).as("unpaired low surrogate in delta").isFalse();
            }
        }
    }

    private static boolean hasHighByte(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return true;
            }
        }
        return false;
    }
}
