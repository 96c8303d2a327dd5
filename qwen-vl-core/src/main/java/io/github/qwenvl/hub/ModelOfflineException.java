package io.github.qwenvl.hub;

/** The model is needed from the Hub but offline mode is on (or the Hub is unreachable) and the cache lacks it. */
public class ModelOfflineException extends ModelResolutionException {

    public ModelOfflineException(String message) {
        super(message);
    }

    public ModelOfflineException(String message, Throwable cause) {
        super(message, cause);
    }
}
