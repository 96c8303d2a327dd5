package io.github.qwenvl;

/** Base of every error this library raises on purpose; the message says what to change. */
public class QwenVlException extends RuntimeException {

    public QwenVlException(String message) {
        super(message);
    }

    public QwenVlException(String message, Throwable cause) {
        super(message, cause);
    }
}
