package io.github.qwenvl.spring.web;

import io.github.qwenvl.QwenVlException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Answers this library's exceptions thrown by any controller with their HTTP status and an RFC 9457
 * problem body ({@code application/problem+json}):
 * {@code {"type":"about:blank","title":"Too Many Requests","status":429,"detail":"...","code":"model_busy","param":"..."}},
 * plus {@code Retry-After} on 429. The same advice serves Spring MVC and WebFlux controllers. It has the
 * lowest precedence: an application's own {@code @ExceptionHandler}s (in a controller or an advice with a
 * higher order) win. Statuses and codes: {@link QwenVlHttpError}.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
public class QwenVlErrorHandler {

    private static final Logger log = LoggerFactory.getLogger(QwenVlErrorHandler.class);

    @ExceptionHandler(QwenVlException.class)
    public ResponseEntity<ProblemDetail> handle(QwenVlException exception) {
        QwenVlHttpError error = QwenVlHttpError.map(exception);
        if (error.isServerError()) {
            log.warn("Request failed", exception);
        }
        return response(error);
    }

    /** The response for {@code error}: status, problem body, {@code Retry-After} where it applies. */
    public static ResponseEntity<ProblemDetail> response(QwenVlHttpError error) {
        ResponseEntity.BodyBuilder builder = ResponseEntity.status(error.status());
        if (error.retryAfter() != null) {
            builder.header(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, error.retryAfter().toSeconds())));
        }
        return builder.body(problem(error));
    }

    /** The RFC 9457 problem body of {@code error}, with {@code code} and {@code param} as extra members. */
    public static ProblemDetail problem(QwenVlHttpError error) {
        HttpStatusCode status = HttpStatusCode.valueOf(error.status());
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, error.message());
        HttpStatus known = HttpStatus.resolve(error.status());
        if (known != null) {
            problem.setTitle(known.getReasonPhrase());
        }
        problem.setProperty("code", error.code());
        if (error.param() != null) {
            problem.setProperty("param", error.param());
        }
        return problem;
    }
}
