package io.github.qwenvl.tokenizer;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Properties of every Qwen2 tokenizer of the fixture root that the golden cases do not pin. */
class Qwen2TokenizerTest {

    @TestFactory
    Stream<DynamicTest> properties() {
        return TokenizerFixtures.sources().stream().flatMap(source -> Stream.of(
                DynamicTest.dynamicTest(source.label() + "/no_truncation_or_padding", () -> {
                    QwenTokenizer t = source.tokenizer();
                    String text = "The quick brown fox jumps over the lazy dog. ".repeat(300);
                    int[] ids = t.encode(text);
                    assertThat(ids.length).isGreaterThan(2000);
                    assertThat(t.decode(ids, false)).isEqualTo(text);
                    assertThat(t.encode("Hi")).hasSizeLessThanOrEqualTo(2);
                    assertThat(t.encode("")).isEmpty();
                }),
                DynamicTest.dynamicTest(source.label() + "/token_bytes", () -> {
                    QwenTokenizer t = source.tokenizer();
                    int imStart = t.specialTokens().imStart();
                    assertThat(t.tokenBytes(imStart)).isEqualTo("<|im_start|>".getBytes(StandardCharsets.UTF_8));
                    assertThat(t.tokenBytes(-1)).isEmpty();
                    assertThat(t.tokenBytes(t.vocabularySize())).isEmpty();
                    int space = t.encode(" ")[0];
                    assertThat(t.tokenBytes(space)).containsExactly((byte) ' ');
                    assertThat(t.isSpecial(space)).isFalse();
                    assertThat(t.vocabularySize()).isGreaterThan(t.specialTokens().videoPad());
                }),
                DynamicTest.dynamicTest(source.label() + "/non_special_added_tokens_survive_skip", () -> {
                    QwenTokenizer t = source.tokenizer();
                    // <tool_call> is an added but non-special token where present (Qwen2.5-VL): decode keeps it.
                    t.idOf("<tool_call>").ifPresent(id -> {
                        if (!t.isSpecial(id)) {
                            assertThat(t.decode(new int[] {id}, true)).isEqualTo("<tool_call>");
                        }
                    });
                    int[] ids = {t.specialTokens().imStart(), t.encode("a")[0], t.specialTokens().imEnd()};
                    assertThat(t.decode(ids, true)).isEqualTo("a");
                })));
    }
}
