package io.github.qwenvl.demo.api;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/** JSON errors of the demo API: {@code {"status":413,"error":"too_large","message":"..."}}. */
@RestControllerAdvice(assignableTypes = DemoApiController.class)
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
public class ApiErrorAdvice {

    private static final Logger log = LoggerFactory.getLogger(ApiErrorAdvice.class);

    /** The client went away (e.g. pressed stop) while an answer streamed: nothing to answer. */
    @ExceptionHandler(org.springframework.web.context.request.async.AsyncRequestNotUsableException.class)
    public void clientGone() {
    }

    @ExceptionHandler(Exception.class)
    public ResponseEntity<ApiTypes.Error> handle(Exception e) {
        ErrorMapping.Mapped m = ErrorMapping.map(e);
        if (m.status().is5xxServerError()) {
            log.warn("Request failed", e);
        }
        ResponseEntity.BodyBuilder b = ResponseEntity.status(m.status()).contentType(MediaType.APPLICATION_JSON);
        if (m.status().value() == 429) {
            b.header("Retry-After", "5");
        }
        return b.body(new ApiTypes.Error(m.status().value(), m.code(), m.message()));
    }
}
