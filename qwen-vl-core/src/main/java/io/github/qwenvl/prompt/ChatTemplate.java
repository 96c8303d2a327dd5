package io.github.qwenvl.prompt;

import io.github.qwenvl.chat.ChatMessage;

import java.util.List;

/**
 * A checkpoint family's chat template, ported to Java: renders a conversation into the prompt string, each image
 * part as one {@link Qwen2ChatTemplate#IMAGE_PLACEHOLDER} (expanded into the image's tokens by
 * {@link PromptEncoder}). Implementations: {@link Qwen2ChatTemplate} (Qwen2-VL, Qwen2.5-VL), {@link Qwen3ChatTemplate}
 * (Qwen3-VL). Stateless and thread-safe.
 */
public interface ChatTemplate {

    /** Renders {@code messages} into the prompt string (image parts as the image placeholder). */
    String render(List<ChatMessage> messages, ChatTemplateOptions options);
}
