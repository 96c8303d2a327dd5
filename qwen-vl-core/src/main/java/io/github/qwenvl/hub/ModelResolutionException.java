package io.github.qwenvl.hub;

import io.github.qwenvl.QwenVlException;

/** Base of every error raised while turning a model name into a local directory. */
public class ModelResolutionException extends QwenVlException {

    public ModelResolutionException(String message) {
        super(message);
    }

    public ModelResolutionException(String message, Throwable cause) {
        super(message, cause);
    }
}
