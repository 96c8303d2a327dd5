package io.github.qwenvl.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map.Entry;
import java.util.OptionalInt;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Golden tokenizer cases of every Qwen2-family tokenizer in the fixture root, generated from the manifests. */
class Qwen2TokenizerGoldenTest {

    /**
     * {@code <set>/tokenizer/<i>} for checkpoint sets, {@code <set>/<case key>/<i>} for tokenizer-set variants:
     * ids, tokens and both decodes exact.
     */
    /** The sets with a Qwen2 tokenizer (a checkpoint's or a tokenizer set's variant) and tokenizer cases. */
    static List<io.github.qwenvl.testing.FixtureSet> goldenSets(List<io.github.qwenvl.testing.FixtureSet> sets) {
        return TokenizerFixtures.sources(sets).stream().filter(s -> !TokenizerFixtures.caseFiles(s).isEmpty())
                .map(TokenizerFixtures.Source::set).distinct().toList();
    }

    @TestFactory
    Stream<DynamicTest> goldenCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (TokenizerFixtures.Source source : TokenizerFixtures.sources()) {
            for (TokenizerFixtures.CaseFile caseFile : TokenizerFixtures.caseFiles(source)) {
                JsonArray cases = TokenizerFixtures.cases(caseFile.file());
                for (int i = 0; i < cases.size(); i++) {
                    JsonObject c = cases.get(i).getAsJsonObject();
                    tests.add(DynamicTest.dynamicTest(source.set().name() + "/" + caseFile.caseKey() + "/" + i,
                            () -> checkCase(source.tokenizer(), c)));
                }
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("Qwen2TokenizerGoldenTest",
                goldenSets(io.github.qwenvl.testing.FixtureRoot.sets()), tests);
        return tests.stream();
    }

    private static void checkCase(QwenTokenizer tokenizer, JsonObject c) {
        String text = c.get("text").getAsString();
        int[] expected = TokenizerFixtures.ints(c.getAsJsonArray("ids"));
        int[] ids = tokenizer.encode(text);
        assertThat(ids).as("ids of %s", text).containsExactly(expected);
        if (c.has("tokens")) {
            JsonArray tokens = c.getAsJsonArray("tokens");
            for (int j = 0; j < tokens.size(); j++) {
                assertThat(tokenizer.idOf(tokens.get(j).getAsString()))
                        .as("id of token %s", tokens.get(j)).isEqualTo(OptionalInt.of(expected[j]));
            }
        }
        assertThat(tokenizer.decode(expected, false)).isEqualTo(c.get("decoded").getAsString());
        assertThat(tokenizer.decode(expected, true)).isEqualTo(c.get("decoded_skip_special").getAsString());
    }

    /** Special-token ids equal the manifest's added-token table and, for checkpoints, config.json. */
    @TestFactory
    Stream<DynamicTest> specialTokenIds() {
        // generated for every source whose manifest declares its added tokens (all Qwen2-family ones do)
        return TokenizerFixtures.sources().stream().filter(source -> source.declaredAddedTokens().size() > 0)
                .map(source -> DynamicTest.dynamicTest(source.label() + "/special_tokens", () -> {
                    QwenTokenizer tokenizer = source.tokenizer();
                    JsonObject declared = source.declaredAddedTokens();
                    for (Entry<String, JsonElement> e : declared.entrySet()) {
                        assertThat(tokenizer.idOf(e.getKey())).as(e.getKey())
                                .isEqualTo(OptionalInt.of(e.getValue().getAsInt()));
                    }
                    SpecialTokens s = tokenizer.specialTokens();
                    assertThat(s.imStart()).isEqualTo(declared.get(SpecialTokens.IM_START).getAsInt());
                    assertThat(s.imEnd()).isEqualTo(declared.get(SpecialTokens.IM_END).getAsInt());
                    assertThat(s.imagePad()).isEqualTo(declared.get(SpecialTokens.IMAGE_PAD).getAsInt());
                    assertThat(s.videoPad()).isEqualTo(declared.get(SpecialTokens.VIDEO_PAD).getAsInt());
                    assertThat(tokenizer.isSpecial(s.imStart())).isTrue();
                    assertThat(tokenizer.isSpecial(s.boxStart())).isTrue();
                    if (source.variant() == null) {
                        checkAgainstConfig(source.set(), s);
                    }
                }));
    }

    private static void checkAgainstConfig(FixtureSet set, SpecialTokens s) {
        ModelConfig config = ModelConfig.load(set.modelDir());
        assertThat(s.imagePad()).isEqualTo(config.text().imageTokenId());
        assertThat(s.videoPad()).isEqualTo(config.text().videoTokenId());
        assertThat(s.visionStart()).isEqualTo(config.text().visionStartTokenId());
        assertThat(s.visionEnd()).isEqualTo(config.text().visionEndTokenId());
    }
}
