package io.github.qwenvl.prompt;

import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import io.github.qwenvl.tokenizer.SpecialTokens;

import java.util.List;

/**
 * Java port of the chat template of the published Qwen3-VL Instruct checkpoints ({@code chat_template.json} of
 * Qwen3-VL-2B/4B/8B/32B-Instruct, the same file), for conversations without tools. Differences from
 * {@link Qwen2ChatTemplate}:
 * <ul>
 *   <li>no default system prompt: a system turn is written only when the first message is a system message;</li>
 *   <li>a system message anywhere else is left out, as the template's loop renders only user, assistant and tool
 *       turns;</li>
 *   <li>system and assistant turns render only their text parts (images in them are neither rendered nor counted
 *       for {@code Picture n}); user turns render text and images in order, as Qwen2-VL's do.</li>
 * </ul>
 * The relevant Jinja source (tool branches left out):
 * <pre>{@code
 * {%- if messages[0].role == 'system' %}<|im_start|>system\n{{ text of messages[0] }}<|im_end|>\n{%- endif %}
 * {%- for message in messages %}
 *   {%- if message.role == "user" %}<|im_start|>user\n
 *     {%- for content in message.content %}   (a string content is its text)
 *       image: {% if add_vision_id %}Picture {{ n }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>
 *       text:  {{ content.text }}
 *     {%- endfor %}<|im_end|>\n
 *   {%- elif message.role == "assistant" %}<|im_start|>assistant\n{{ text parts }}<|im_end|>\n
 *   {%- endif %}
 * {%- endfor %}
 * {%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}
 * }</pre>
 * Text is copied verbatim, as in the reference.
 */
public final class Qwen3ChatTemplate implements ChatTemplate {

    @Override
    public String render(List<ChatMessage> messages, ChatTemplateOptions options) {
        StringBuilder out = new StringBuilder();
        if (!messages.isEmpty() && messages.get(0).role() == Role.SYSTEM) {
            turnStart(out, "system");
            appendText(out, messages.get(0));
            turnEnd(out);
        }
        int imageCount = 0;
        for (ChatMessage message : messages) {
            if (message.role() == Role.USER) {
                turnStart(out, "user");
                for (Content part : message.content()) {
                    if (part instanceof Content.Image) {
                        imageCount++;
                        if (options.addVisionId()) {
                            out.append("Picture ").append(imageCount).append(": ");
                        }
                        out.append(Qwen2ChatTemplate.IMAGE_PLACEHOLDER);
                    } else if (part instanceof Content.Text text) {
                        out.append(text.text());
                    }
                }
                turnEnd(out);
            } else if (message.role() == Role.ASSISTANT) {
                turnStart(out, "assistant");
                appendText(out, message);
                turnEnd(out);
            }
        }
        if (options.addGenerationPrompt()) {
            turnStart(out, "assistant");
        }
        return out.toString();
    }

    private static void appendText(StringBuilder out, ChatMessage message) {
        for (Content part : message.content()) {
            if (part instanceof Content.Text text) {
                out.append(text.text());
            }
        }
    }

    private static void turnStart(StringBuilder out, String role) {
        out.append(SpecialTokens.IM_START).append(role).append('\n');
    }

    private static void turnEnd(StringBuilder out) {
        out.append(SpecialTokens.IM_END).append('\n');
    }
}
