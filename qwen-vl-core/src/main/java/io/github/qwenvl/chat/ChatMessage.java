package io.github.qwenvl.chat;

import java.util.List;

/**
 * One turn of a conversation.
 *
 * @param role    system, user or assistant
 * @param content text and image parts in order
 */
public record ChatMessage(Role role, List<Content> content) {

    public ChatMessage {
        if (role == null) {
            throw new IllegalArgumentException("role must not be null");
        }
        content = List.copyOf(content);
    }

    public static ChatMessage system(String text) {
        return new ChatMessage(Role.SYSTEM, List.of(Content.text(text)));
    }

    public static ChatMessage user(String text) {
        return new ChatMessage(Role.USER, List.of(Content.text(text)));
    }

    public static ChatMessage user(Content... parts) {
        return new ChatMessage(Role.USER, List.of(parts));
    }

    public static ChatMessage assistant(String text) {
        return new ChatMessage(Role.ASSISTANT, List.of(Content.text(text)));
    }

    public long imageCount() {
        return content.stream().filter(c -> c instanceof Content.Image).count();
    }
}
