package io.github.qwenvl.spring;

import io.github.qwenvl.QwenVlException;

/** Every generation slot is taken and the wait queue is full, or the wait timed out. */
public class ModelBusyException extends QwenVlException {

    public ModelBusyException(String message) {
        super(message);
    }
}
