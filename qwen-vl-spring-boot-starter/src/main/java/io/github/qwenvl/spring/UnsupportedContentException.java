package io.github.qwenvl.spring;

import io.github.qwenvl.InvalidRequestException;

/** A message or media the model cannot take: tool messages, audio, video, non-image media, disallowed URLs. */
public class UnsupportedContentException extends InvalidRequestException {

    public UnsupportedContentException(String message) {
        super(message);
    }
}
