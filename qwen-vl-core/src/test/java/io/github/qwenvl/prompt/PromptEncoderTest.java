package io.github.qwenvl.prompt;

import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.tokenizer.QwenTokenizer;
import io.github.qwenvl.tokenizer.SpecialTokens;
import io.github.qwenvl.tokenizer.TokenizerFixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Expansion rules and errors, on every Qwen2 tokenizer of the fixture root. */
class PromptEncoderTest {

    private static final Content IMAGE = Content.image(ImageSource.of(new byte[0]));

    @Test
    void imageTokenCountIsGridOverMergeSquared() {
        assertThat(PromptEncoder.imageTokenCount(1, 36, 24, 2)).isEqualTo(216);
        assertThatThrownBy(() -> PromptEncoder.imageTokenCount(1, 3, 3, 2))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @TestFactory
    Stream<DynamicTest> rules() {
        return TokenizerFixtures.sources().stream().flatMap(source -> Stream.of(
                DynamicTest.dynamicTest(source.label() + "/expands_each_image",
                        () -> expandsEachImageByItsOwnCount(source.tokenizer())),
                DynamicTest.dynamicTest(source.label() + "/image_count_mismatch",
                        () -> rejectsMismatchedCounts(source.tokenizer())),
                DynamicTest.dynamicTest(source.label() + "/pad_typed_in_text",
                        () -> rejectsImagePadTypedInText(source.tokenizer())),
                DynamicTest.dynamicTest(source.label() + "/grounding_markup_is_special",
                        () -> groundingMarkupInUserTextBecomesTokens(source.tokenizer()))));
    }

    private static void expandsEachImageByItsOwnCount(QwenTokenizer tokenizer) {
        List<ChatMessage> messages = List.of(ChatMessage.user(IMAGE, Content.text("and"), IMAGE));

        EncodedPrompt prompt = new PromptEncoder(tokenizer).encode(messages, new int[] {3, 5});

        int pad = tokenizer.specialTokens().imagePad();
        assertThat(prompt.imageTokenCounts()).containsExactly(3, 5);
        assertThat(Arrays.stream(prompt.inputIds()).filter(id -> id == pad).count()).isEqualTo(8);
        assertThat(prompt.expandedPrompt()).contains(SpecialTokens.VISION_START + SpecialTokens.IMAGE_PAD.repeat(3)
                + SpecialTokens.VISION_END + "and" + SpecialTokens.VISION_START + SpecialTokens.IMAGE_PAD.repeat(5));
        assertThat(prompt.inputIds()[prompt.imageTokenOffsets()[1] + 5]).isEqualTo(tokenizer.specialTokens().visionEnd());
        assertThat(tokenizer.encode(prompt.expandedPrompt())).containsExactly(prompt.inputIds());
    }

    private static void rejectsMismatchedCounts(QwenTokenizer tokenizer) {
        PromptEncoder encoder = new PromptEncoder(tokenizer);
        assertThatThrownBy(() -> encoder.encode(List.of(ChatMessage.user(IMAGE, IMAGE)), new int[] {4}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 image(s)")
                .hasMessageContaining("1 image token count(s)");
        assertThatThrownBy(() -> encoder.encode(List.of(ChatMessage.user("no image")), new int[] {4}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * An image pad typed in text is plain text by default (the prompt keeps one pad run, the image's); where special
     * tokens in text are allowed it is a pad without an image, refused with the reason.
     */
    private static void rejectsImagePadTypedInText(QwenTokenizer tokenizer) {
        List<ChatMessage> messages = List.of(ChatMessage.user(IMAGE, Content.text("look: <|image_pad|>")));
        EncodedPrompt prompt = new PromptEncoder(tokenizer).encode(messages, new int[] {4});
        int pad = tokenizer.specialTokens().imagePad();
        assertThat(Arrays.stream(prompt.inputIds()).filter(id -> id == pad).count()).isEqualTo(4);
        assertThat(prompt.renderedPrompt()).endsWith("look: <|image_pad|><|im_end|>\n<|im_start|>assistant\n");
        assertThatThrownBy(() -> new PromptEncoder(tokenizer, new Qwen2ChatTemplate(), true).encode(messages,
                new int[] {4})).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must not contain");
    }

    /** Like the reference, grounding markup typed in user text is tokenized as those tokens. */
    private static void groundingMarkupInUserTextBecomesTokens(QwenTokenizer tokenizer) {
        String text = "<|object_ref_start|>the cat<|object_ref_end|><|box_start|>(1,2),(3,4)<|box_end|>";
        EncodedPrompt prompt = new PromptEncoder(tokenizer).encode(List.of(ChatMessage.user(text)), new int[0]);
        SpecialTokens s = tokenizer.specialTokens();
        assertThat(prompt.inputIds()).contains(s.objectRefStart(), s.objectRefEnd(), s.boxStart(), s.boxEnd());
    }
}
