package io.github.qwenvl.hub;

/**
 * The model does not exist where it was looked for: a local directory that is missing or lacks
 * {@code config.json}, or a repository, revision or required file the Hub answers 404 for.
 */
public class ModelNotFoundException extends ModelResolutionException {

    public ModelNotFoundException(String message) {
        super(message);
    }

    public ModelNotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}
