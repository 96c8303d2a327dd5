package io.github.qwenvl.spring.web;

import io.github.qwenvl.InvalidRequestException;
import io.github.qwenvl.PromptTooLongException;
import io.github.qwenvl.QwenVlException;
import io.github.qwenvl.RemoteServerException;
import io.github.qwenvl.RequestCancelledException;
import io.github.qwenvl.RequestTooLargeException;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.hub.ModelResolutionException;
import io.github.qwenvl.image.ImageInputException;
import io.github.qwenvl.spring.ModelBusyException;
import io.github.qwenvl.spring.RequestTimeoutException;
import io.github.qwenvl.spring.UnsupportedContentException;

import java.time.Duration;
import java.util.Optional;

/**
 * The HTTP meaning of the starter's and the engine's exceptions, for any web stack: a status, a short
 * machine-readable code, the exception's message (it says what to change), the configuration property
 * behind a limit where there is one, and for 429 how long to wait.
 *
 * <table>
 *   <caption>mapping</caption>
 *   <tr><th>exception</th><th>status</th><th>code</th></tr>
 *   <tr><td>{@code ImageInputException} (too many pixels)</td><td>413</td><td>{@code image_too_large}</td></tr>
 *   <tr><td>{@code ImageInputException} (unsupported format)</td><td>400</td><td>{@code unsupported_image}</td></tr>
 *   <tr><td>{@code ImageInputException} (other: unreadable, empty, shape)</td><td>400</td><td>{@code invalid_image}</td></tr>
 *   <tr><td>{@code RequestTooLargeException} (prompt or image tokens over a limit)</td><td>413</td><td>{@code request_too_large}</td></tr>
 *   <tr><td>{@code PromptTooLongException}</td><td>400</td><td>{@code context_length_exceeded}</td></tr>
 *   <tr><td>{@code UnsupportedContentException}</td><td>400</td><td>{@code unsupported_content}</td></tr>
 *   <tr><td>{@code InvalidRequestException} (other)</td><td>400</td><td>{@code invalid_request}</td></tr>
 *   <tr><td>{@code ModelBusyException}</td><td>429 + {@code Retry-After}</td><td>{@code model_busy}</td></tr>
 *   <tr><td>{@code CheckpointException}, {@code ModelResolutionException}</td><td>503</td><td>{@code model_unavailable}</td></tr>
 *   <tr><td>{@code RequestTimeoutException}, {@code RequestCancelledException} (timeout)</td><td>504</td><td>{@code timeout}</td></tr>
 *   <tr><td>{@code RequestCancelledException} (shutdown)</td><td>503 + {@code Retry-After}</td><td>{@code shutting_down}</td></tr>
 *   <tr><td>{@code RequestCancelledException} (the client's own cancel)</td><td>503</td><td>{@code cancelled}</td></tr>
 *   <tr><td>{@code RemoteServerException} (remote backend: busy through the retries)</td><td>503 + {@code Retry-After}</td><td>{@code model_busy}</td></tr>
 *   <tr><td>{@code RemoteServerException} (remote backend: unreachable or failing)</td><td>502</td><td>{@code upstream_unavailable}</td></tr>
 *   <tr><td>any other {@code QwenVlException}</td><td>500</td><td>{@code internal_error}</td></tr>
 * </table>
 *
 * @param status     the HTTP status
 * @param code       a short code, stable across versions
 * @param message    what went wrong and what to change
 * @param param      the configuration property of the limit that was hit, or {@code null}
 * @param retryAfter for 429: when to try again ({@code Retry-After}), else {@code null}
 */
public record QwenVlHttpError(int status, String code, String message, String param, Duration retryAfter) {

    /** {@code Retry-After} of a busy model. */
    public static final Duration BUSY_RETRY_AFTER = Duration.ofSeconds(5);

    /** True for 5xx: a server-side failure worth logging with its stack trace. */
    public boolean isServerError() {
        return status >= 500;
    }

    /**
     * The HTTP error of {@code error}, or of the first {@link QwenVlException} among its causes (frameworks
     * wrap exceptions thrown inside reactive streams or async handlers); empty when there is none.
     */
    public static Optional<QwenVlHttpError> of(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof QwenVlException e) {
                return Optional.of(map(e));
            }
        }
        return Optional.empty();
    }

    /** The HTTP error of one exception of this library. */
    public static QwenVlHttpError map(QwenVlException e) {
        String message = e.getMessage();
        if (e instanceof ImageInputException i) {
            return switch (i.reason()) {
                case TOO_MANY_PIXELS -> new QwenVlHttpError(413, "image_too_large", message,
                        "spring.ai.qwen-vl.serving.max-image-pixels", null);
                case UNSUPPORTED_FORMAT -> new QwenVlHttpError(400, "unsupported_image", message, null, null);
                default -> new QwenVlHttpError(400, "invalid_image", message, null, null);
            };
        }
        if (e instanceof RequestTooLargeException t) {
            return new QwenVlHttpError(413, "request_too_large", message, t.property(), null);
        }
        if (e instanceof PromptTooLongException) {
            return new QwenVlHttpError(400, "context_length_exceeded", message, "spring.ai.qwen-vl.runtime.context-length", null);
        }
        if (e instanceof UnsupportedContentException) {
            return new QwenVlHttpError(400, "unsupported_content", message, null, null);
        }
        if (e instanceof InvalidRequestException) {
            return new QwenVlHttpError(400, "invalid_request", message, null, null);
        }
        if (e instanceof ModelBusyException) {
            return new QwenVlHttpError(429, "model_busy", "The model is busy with other requests; try again in a moment ("
                    + message + ")", "spring.ai.qwen-vl.serving.max-queued-requests", BUSY_RETRY_AFTER);
        }
        if (e instanceof RequestCancelledException c) {
            return switch (c.reason()) {
                case TIMEOUT -> new QwenVlHttpError(504, "timeout", message, "spring.ai.qwen-vl.serving.request-timeout", null);
                case SHUTDOWN -> new QwenVlHttpError(503, "shutting_down", message, null, BUSY_RETRY_AFTER);
                case CLIENT -> new QwenVlHttpError(503, "cancelled", message, null, null);
            };
        }
        if (e instanceof RequestTimeoutException) {
            return new QwenVlHttpError(504, "timeout", message, "spring.ai.qwen-vl.serving.request-timeout", null);
        }
        if (e instanceof RemoteServerException r) {
            return r.busy() ? new QwenVlHttpError(503, "model_busy", message, null, BUSY_RETRY_AFTER)
                    : new QwenVlHttpError(502, "upstream_unavailable", message, null, null);
        }
        if (e instanceof CheckpointException || e instanceof ModelResolutionException) {
            return new QwenVlHttpError(503, "model_unavailable", "The model is not available: " + message, null, null);
        }
        return new QwenVlHttpError(500, "internal_error", message, null, null);
    }
}
