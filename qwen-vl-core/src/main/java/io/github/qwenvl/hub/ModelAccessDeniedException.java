package io.github.qwenvl.hub;

/** The Hub refused access (401/403): the repository is private or gated, or the token is wrong. */
public class ModelAccessDeniedException extends ModelResolutionException {

    public ModelAccessDeniedException(String message) {
        super(message);
    }
}
