package io.github.qwenvl.prompt;

import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.image.ImageSource;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Template behaviours the goldens do not cover; expected strings follow the Jinja source by hand. */
class Qwen2ChatTemplateTest {

    private static final Content IMAGE = Content.image(ImageSource.of(new byte[0]));
    private final Qwen2ChatTemplate template = new Qwen2ChatTemplate();

    @Test
    void numbersPicturesAcrossTheConversationWithVisionIds() {
        List<ChatMessage> messages = List.of(
                ChatMessage.user(IMAGE, Content.text("What is this?")),
                ChatMessage.assistant("A cat."),
                ChatMessage.user(Content.text("And these? "), IMAGE, IMAGE));

        String rendered = template.render(messages, new ChatTemplateOptions(true, true));

        assertThat(rendered).isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nPicture 1: <|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n"
                + "<|im_start|>assistant\nA cat.<|im_end|>\n"
                + "<|im_start|>user\nAnd these? Picture 2: <|vision_start|><|image_pad|><|vision_end|>"
                + "Picture 3: <|vision_start|><|image_pad|><|vision_end|><|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    /**
     * The rule above is the checkpoints' own: their Jinja chat template sets the picture counter once, before the loop
     * over the messages, so it keeps counting across turns (unlike Qwen-VL-Chat's from_list_format, which starts at 1
     * for every query).
     */
    @Test
    void theCheckpointTemplatesCountPicturesAcrossTheConversation() throws java.io.IOException {
        for (io.github.qwenvl.testing.FixtureSet set : io.github.qwenvl.testing.FixtureRoot.bundledSets()) {
            if (!set.isQwen2Family()) {
                continue;
            }
            String template = com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(
                    set.modelDir().resolve("tokenizer_config.json"))).getAsJsonObject().get("chat_template").getAsString();
            int counter = template.indexOf("{% set image_count = namespace(value=0) %}");
            int loop = template.indexOf("{% for message in messages %}");
            assertThat(counter).as(set.name()).isNotNegative().isLessThan(loop);
            assertThat(template.indexOf("set image_count = ", counter + 10)).as(set.name() + ": reset again").isNegative();
            assertThat(template).as(set.name()).contains("Picture {{ image_count.value }}: ");
        }
    }

    @Test
    void keepsAGivenSystemPromptAndOmitsTheGenerationPromptOnRequest() {
        List<ChatMessage> messages = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"));

        String rendered = template.render(messages, new ChatTemplateOptions(false, false));

        assertThat(rendered).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
    }

    @Test
    void systemMessageLaterInTheConversationDoesNotSuppressTheDefault() {
        // The template only looks at the first message (loop.first).
        List<ChatMessage> messages = List.of(ChatMessage.user("Hi"), ChatMessage.system("Late."));

        String rendered = template.render(messages, new ChatTemplateOptions(false, false));

        assertThat(rendered).isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>system\nLate.<|im_end|>\n");
    }

    @Test
    void emptyConversationIsOnlyTheGenerationPrompt() {
        assertThat(template.render(List.of(), ChatTemplateOptions.DEFAULT)).isEqualTo("<|im_start|>assistant\n");
    }
}
