package io.github.qwenvl.image;

/**
 * An image that cannot be used as model input: unreadable, empty, of an unsupported format, too large
 * or of an unusable shape. {@link #reason()} tells which, so callers can map it to a client error.
 */
public class ImageInputException extends io.github.qwenvl.QwenVlException {

    /** Why an image was refused. */
    public enum Reason {
        /** No bytes at all. */
        EMPTY,
        /** The data could not be read or decoded (I/O error, corrupt or truncated data). */
        UNREADABLE,
        /** No enabled decoder recognises the format, or the decoder cannot handle this variant of it. */
        UNSUPPORTED_FORMAT,
        /** Width or height is zero or negative. */
        ZERO_SIZE,
        /** More pixels than the configured decode limit (checked from the header, before decoding). */
        TOO_MANY_PIXELS,
        /** Longer side / shorter side above the processor's limit (200 for Qwen2-VL). */
        EXTREME_ASPECT_RATIO,
        /** The pixel bounds give no valid resized size (e.g. rounds to zero patches). */
        INVALID_SIZE
    }

    private final Reason reason;

    public ImageInputException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public ImageInputException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
