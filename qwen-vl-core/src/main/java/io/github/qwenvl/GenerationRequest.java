package io.github.qwenvl;

import io.github.qwenvl.chat.ChatMessage;

import java.util.List;

/**
 * A conversation to continue.
 *
 * @param messages system / user / assistant turns with text and images, in order
 * @param options  per-request settings (null = model defaults)
 */
public record GenerationRequest(List<ChatMessage> messages, GenerationOptions options) {

    public GenerationRequest {
        if (messages == null || messages.isEmpty()) {
            throw new InvalidRequestException("A request needs at least one message");
        }
        messages = List.copyOf(messages);
        options = options == null ? GenerationOptions.DEFAULTS : options;
    }

    public static GenerationRequest of(ChatMessage... messages) {
        return new GenerationRequest(List.of(messages), null);
    }

    public GenerationRequest withOptions(GenerationOptions options) {
        return new GenerationRequest(messages, options);
    }
}
