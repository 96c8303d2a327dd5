package io.github.qwenvl.tokenizer;

/** A tokenizer directory is missing files or cannot be read. */
public class TokenizerException extends RuntimeException {

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
