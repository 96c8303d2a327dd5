package io.github.qwenvl.demo.api;

import org.springframework.http.HttpStatus;

/**
 * A request the demo refuses before it reaches the model, with the HTTP status to answer and, where one
 * field of the request is at fault, its name ({@code param} of OpenAI's error shape).
 */
public class ApiException extends RuntimeException {

    private final HttpStatus status;
    private final String code;
    private final String param;

    public ApiException(HttpStatus status, String code, String message) {
        this(status, code, message, null);
    }

    public ApiException(HttpStatus status, String code, String message, String param) {
        super(message);
        this.status = status;
        this.code = code;
        this.param = param;
    }

    public HttpStatus status() {
        return status;
    }

    public String code() {
        return code;
    }

    /** The request field at fault, or {@code null}. */
    public String param() {
        return param;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request", message);
    }

    /** A field of the request that has the wrong type or value. */
    public static ApiException invalidField(String field, String reason) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_value", "Invalid '" + field + "': " + reason, field);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(HttpStatus.CONTENT_TOO_LARGE, "too_large", message);
    }

    public static ApiException unsupported(String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "unsupported_content", message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(HttpStatus.NOT_FOUND, "not_found", message);
    }
}
