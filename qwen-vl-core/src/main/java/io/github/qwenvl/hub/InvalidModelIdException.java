package io.github.qwenvl.hub;

/** The model name is neither an existing directory nor a well-formed {@code org/name} repository id. */
public class InvalidModelIdException extends ModelResolutionException {

    public InvalidModelIdException(String message) {
        super(message);
    }
}
