package io.github.qwenvl.hub;

/** A download failed: network error, unexpected HTTP status, or a file that failed its size / sha256 check. */
public class ModelDownloadException extends ModelResolutionException {

    public ModelDownloadException(String message) {
        super(message);
    }

    public ModelDownloadException(String message, Throwable cause) {
        super(message, cause);
    }
}
