package io.github.qwenvl.spring;

import io.github.qwenvl.QwenVlException;

/** A request ran past the configured request timeout; its generation was stopped and its memory freed. */
public class RequestTimeoutException extends QwenVlException {

    public RequestTimeoutException(String message) {
        super(message);
    }
}
