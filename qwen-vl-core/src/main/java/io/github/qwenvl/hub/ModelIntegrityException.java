package io.github.qwenvl.hub;

/** A downloaded file does not match the size or sha256 the Hub announced; the partial file was deleted. */
public class ModelIntegrityException extends ModelDownloadException {

    public ModelIntegrityException(String message) {
        super(message);
    }
}
