package io.github.qwenvl.spring;

import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.content.Media;

import java.util.ArrayList;
import java.util.List;

/**
 * Spring AI messages → engine messages. A user message's media come first, then its text, as in
 * Qwen's own examples ("Picture 1: ... question"); images are numbered in order over the conversation.
 */
final class PromptConverter {

    private final MediaResolver media;

    PromptConverter(MediaResolver media) {
        this.media = media;
    }

    List<ChatMessage> convert(List<Message> messages) {
        List<ChatMessage> out = new ArrayList<>();
        for (Message m : messages) {
            switch (m.getMessageType()) {
                case SYSTEM -> out.add(new ChatMessage(Role.SYSTEM, List.of(Content.text(text((SystemMessage) m)))));
                case USER -> out.add(user((UserMessage) m));
                case ASSISTANT -> {
                    AssistantMessage a = (AssistantMessage) m;
                    if (a.hasToolCalls()) {
                        throw new UnsupportedContentException("Tool calls are not supported by this model");
                    }
                    out.add(new ChatMessage(Role.ASSISTANT, List.of(Content.text(a.getText() == null ? "" : a.getText()))));
                }
                case TOOL -> throw new UnsupportedContentException("Tool response messages are not supported by this model");
                default -> throw new UnsupportedContentException("Unsupported message type " + m.getMessageType());
            }
        }
        boolean anyContent = out.stream().filter(c -> c.role() != Role.SYSTEM)
                .anyMatch(c -> c.content().stream().anyMatch(p -> p instanceof Content.Image
                        || (p instanceof Content.Text t && !t.text().isBlank())));
        if (!anyContent) {
            throw new io.github.qwenvl.InvalidRequestException("The prompt is empty: send a user message with text or an image");
        }
        return out;
    }

    private ChatMessage user(UserMessage m) {
        List<Content> parts = new ArrayList<>();
        for (Media item : m.getMedia()) {
            parts.add(Content.image(media.resolve(item)));
        }
        String text = m.getText();
        if (text != null && !text.isEmpty()) {
            parts.add(Content.text(text));
        }
        return new ChatMessage(Role.USER, parts);
    }

    private static String text(SystemMessage m) {
        return m.getText() == null ? "" : m.getText();
    }
}
