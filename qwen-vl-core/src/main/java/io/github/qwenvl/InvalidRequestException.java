package io.github.qwenvl;

/** A request the model cannot run as given: no messages, too many images, bad option values, ... */
public class InvalidRequestException extends QwenVlException {

    public InvalidRequestException(String message) {
        super(message);
    }
}
