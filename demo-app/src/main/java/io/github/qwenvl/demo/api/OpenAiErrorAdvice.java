package io.github.qwenvl.demo.api;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

import java.util.LinkedHashMap;
import java.util.Map;

/** OpenAI-style errors on {@code /v1}: {@code {"error":{"message":...,"type":...,"param":null,"code":...}}}. */
@RestControllerAdvice(assignableTypes = OpenAiController.class)
@Order(Ordered.HIGHEST_PRECEDENCE)
public class OpenAiErrorAdvice {

    private static final Logger log = LoggerFactory.getLogger(OpenAiErrorAdvice.class);

    @ExceptionHandler(Exception.class)
    public ResponseEntity<Map<String, Object>> handle(Exception e) {
        ErrorMapping.Mapped m = ErrorMapping.map(e);
        if (m.status().is5xxServerError()) {
            log.warn("Request failed", e);
        }
        ResponseEntity.BodyBuilder b = ResponseEntity.status(m.status()).contentType(MediaType.APPLICATION_JSON);
        if (m.status().value() == 429) {
            b.header("Retry-After", "5");
        }
        return b.body(body(m));
    }

    static Map<String, Object> body(ErrorMapping.Mapped m) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", m.message());
        error.put("type", switch (m.status().value()) {
            case 429 -> "rate_limit_error";
            case 504 -> "timeout_error";
            case 400, 404, 413, 415 -> "invalid_request_error";
            default -> "server_error";
        });
        error.put("param", null);
        error.put("code", m.code());
        return Map.of("error", error);
    }
}
