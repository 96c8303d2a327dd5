package io.github.qwenvl.demo.api;

import org.springframework.http.HttpStatus;

/** A request the demo refuses before it reaches the model, with the HTTP status to answer. */
public class ApiException extends RuntimeException {

    private final HttpStatus status;
    private final String code;

    public ApiException(HttpStatus status, String code, String message) {
        super(message);
        this.status = status;
        this.code = code;
    }

    public HttpStatus status() {
        return status;
    }

    public String code() {
        return code;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request", message);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(HttpStatus.CONTENT_TOO_LARGE, "too_large", message);
    }

    public static ApiException unsupported(String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "unsupported_content", message);
    }
}
