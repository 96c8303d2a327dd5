package io.github.qwenvl.demo.model;

import io.github.qwenvl.demo.api.ApiTypes;

import java.util.List;

/**
 * A conversation as the clients send it (the server keeps no chat state): the new user turn last.
 *
 * @param stop stop sequences (OpenAI API), or null
 */
public record Conversation(String system, List<Turn> turns, ApiTypes.Options options, List<String> stop) {

    /** One message; images only on user turns. */
    public record Turn(String role, String text, List<UploadedImage> images) {
    }
}
