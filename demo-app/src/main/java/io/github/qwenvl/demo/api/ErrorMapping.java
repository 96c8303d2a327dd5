package io.github.qwenvl.demo.api;

import io.github.qwenvl.InvalidRequestException;
import io.github.qwenvl.PromptTooLongException;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.image.ImageInputException;
import io.github.qwenvl.spring.ModelBusyException;
import io.github.qwenvl.spring.RequestTimeoutException;
import io.github.qwenvl.spring.UnsupportedContentException;
import org.springframework.http.HttpStatus;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.web.multipart.MultipartException;
import org.springframework.web.multipart.support.MissingServletRequestPartException;

/** Starter, engine and web exceptions → HTTP status, a short code and a message a person can act on. */
public final class ErrorMapping {

    /** A mapped error. */
    public record Mapped(HttpStatus status, String code, String message) {
    }

    private ErrorMapping() {
    }

    public static Mapped map(Throwable e) {
        if (e instanceof ApiException a) {
            return new Mapped(a.status(), a.code(), a.getMessage());
        }
        if (RequestSizeFilter.isTooLarge(e)) {
            return new Mapped(HttpStatus.CONTENT_TOO_LARGE, "too_large", RequestSizeFilter.TOO_LARGE_MESSAGE);
        }
        if (e instanceof ImageInputException i) {
            return switch (i.reason()) {
                case TOO_MANY_PIXELS -> new Mapped(HttpStatus.CONTENT_TOO_LARGE, "too_large",
                        i.getMessage() + " (limit: spring.ai.qwen-vl.serving.max-image-pixels)");
                case UNSUPPORTED_FORMAT -> new Mapped(HttpStatus.BAD_REQUEST, "unsupported_content", i.getMessage());
                default -> new Mapped(HttpStatus.BAD_REQUEST, "invalid_image", i.getMessage());
            };
        }
        if (e instanceof PromptTooLongException p) {
            return new Mapped(HttpStatus.BAD_REQUEST, "prompt_too_long", p.getMessage());
        }
        if (e instanceof UnsupportedContentException) {
            return new Mapped(HttpStatus.BAD_REQUEST, "unsupported_content", e.getMessage());
        }
        if (e instanceof InvalidRequestException) {
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_request", e.getMessage());
        }
        if (e instanceof ModelBusyException) {
            return new Mapped(HttpStatus.TOO_MANY_REQUESTS, "model_busy",
                    "The model is busy with other requests; try again in a moment. (" + e.getMessage() + ")");
        }
        if (e instanceof io.github.qwenvl.RemoteServerException r) {
            return r.busy() ? new Mapped(HttpStatus.SERVICE_UNAVAILABLE, "model_busy", r.getMessage())
                    : new Mapped(HttpStatus.BAD_GATEWAY, "upstream_unavailable", r.getMessage());
        }
        if (e instanceof RequestTimeoutException) {
            return new Mapped(HttpStatus.GATEWAY_TIMEOUT, "timeout", e.getMessage());
        }
        if (e instanceof CheckpointException) {
            return new Mapped(HttpStatus.SERVICE_UNAVAILABLE, "model_unavailable",
                    "The model could not be loaded: " + e.getMessage());
        }
        if (e instanceof MaxUploadSizeExceededException) {
            return new Mapped(HttpStatus.CONTENT_TOO_LARGE, "too_large",
                    "The upload is too large (spring.servlet.multipart.max-file-size / max-request-size)");
        }
        if (e instanceof MissingServletRequestPartException || e instanceof MissingServletRequestParameterException) {
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_request", e.getMessage());
        }
        if (e instanceof MultipartException) {
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_request", "Malformed multipart request");
        }
        if (e instanceof HttpMessageNotReadableException) {
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_request", "The request body is not valid JSON for this API");
        }
        if (e instanceof HttpMediaTypeNotSupportedException m) {
            return new Mapped(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", m.getMessage());
        }
        if (e instanceof HttpRequestMethodNotSupportedException m) {
            return new Mapped(HttpStatus.METHOD_NOT_ALLOWED, "method_not_allowed", m.getMessage());
        }
        return new Mapped(HttpStatus.INTERNAL_SERVER_ERROR, "internal_error",
                "Internal error: " + e.getClass().getSimpleName());
    }
}
