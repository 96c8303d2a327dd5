package io.github.qwenvl.prompt;

import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import io.github.qwenvl.tokenizer.SpecialTokens;

import java.util.List;

/**
 * Java port of the chat template shipped in {@code tokenizer_config.json} / {@code chat_template.json} of every
 * published Qwen2-VL and Qwen2.5-VL checkpoint (the two families use the same template, so it is ported once
 * instead of running a Jinja engine). The Jinja source, for reference:
 *
 * <pre>{@code
 * {% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}
 * {% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system
 * You are a helpful assistant.<|im_end|>
 * {% endif %}<|im_start|>{{ message['role'] }}
 * {% if message['content'] is string %}{{ message['content'] }}<|im_end|>
 * {% else %}{% for content in message['content'] %}
 *   {% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}
 *     {% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}
 *     <|vision_start|><|image_pad|><|vision_end|>
 *   {% elif content['type'] == 'video' or 'video' in content %}
 *     {% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}
 *     <|vision_start|><|video_pad|><|vision_end|>
 *   {% elif 'text' in content %}{{ content['text'] }}{% endif %}
 * {% endfor %}<|im_end|>
 * {% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
 * {% endif %}
 * }</pre>
 * (line breaks inside {@code {% %}} added here for reading; the original has none). A message with string
 * content renders like one with a single text part, so {@link ChatMessage}'s part list covers both. Videos are
 * not modelled by {@link Content}. Text is copied verbatim: control-token strings a user types (e.g.
 * {@code <|box_start|>} for grounding) become those tokens when the prompt is tokenized, as in the reference.
 */
public final class Qwen2ChatTemplate implements ChatTemplate {

    /** System prompt the template inserts when the conversation does not start with a system message. */
    public static final String DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant.";

    /** The markup one image stands for before expansion. */
    public static final String IMAGE_PLACEHOLDER =
            SpecialTokens.VISION_START + SpecialTokens.IMAGE_PAD + SpecialTokens.VISION_END;

    /** Renders {@code messages} into the prompt string (image parts as {@link #IMAGE_PLACEHOLDER}). */
    @Override
    public String render(List<ChatMessage> messages, ChatTemplateOptions options) {
        StringBuilder out = new StringBuilder();
        int imageCount = 0;
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage message = messages.get(i);
            if (i == 0 && message.role() != Role.SYSTEM) {
                appendTurnStart(out, "system").append(DEFAULT_SYSTEM_PROMPT);
                appendTurnEnd(out);
            }
            appendTurnStart(out, message.role().templateName());
            for (Content part : message.content()) {
                if (part instanceof Content.Image) {
                    imageCount++;
                    if (options.addVisionId()) {
                        out.append("Picture ").append(imageCount).append(": ");
                    }
                    out.append(IMAGE_PLACEHOLDER);
                } else if (part instanceof Content.Text text) {
                    out.append(text.text());
                }
            }
            appendTurnEnd(out);
        }
        if (options.addGenerationPrompt()) {
            appendTurnStart(out, "assistant");
        }
        return out.toString();
    }

    private static StringBuilder appendTurnStart(StringBuilder out, String role) {
        return out.append(SpecialTokens.IM_START).append(role).append('\n');
    }

    private static void appendTurnEnd(StringBuilder out) {
        out.append(SpecialTokens.IM_END).append('\n');
    }
}
