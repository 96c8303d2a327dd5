package io.github.qwenvl.demo.api;

import jakarta.servlet.http.HttpServletRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.async.AsyncRequestNotUsableException;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every error of the two APIs in the API's own shape, including those Spring raises before a controller is
 * chosen (wrong method or media type, unknown path, broken multipart): {@code /v1/**} answers OpenAI's
 * {@code {"error":{"message","type","param","code"}}}, {@code /api/**} the demo's
 * {@code {"status","error","message","param"}}. Statuses come from {@link ErrorMapping} (the starter's
 * mapping for the library's exceptions). Other paths (the pages) keep Spring's own error handling. A client
 * that went away while its answer streamed is logged in one line.
 */
@RestControllerAdvice
@Order(Ordered.HIGHEST_PRECEDENCE)
public class ApiErrorAdvice {

    private static final Logger log = LoggerFactory.getLogger(ApiErrorAdvice.class);

    @ExceptionHandler(Exception.class)
    public ResponseEntity<Object> handle(Exception e, HttpServletRequest request) throws Exception {
        String path = request.getRequestURI();
        boolean openAi = path.startsWith("/v1/") || path.equals("/v1");
        if (!openAi && !path.startsWith("/api/")) {
            throw e;    // the same exception: Spring's own resolvers handle it as if this advice did not exist
        }
        if (isClientGone(e)) {
            log.info("Client closed the connection during {} {} ({})", request.getMethod(), path, rootMessage(e));
            return null;
        }
        ErrorMapping.Mapped m = ErrorMapping.map(e);
        if (m.status().is5xxServerError() && m.status().value() != 503 && m.status().value() != 504) {
            log.warn("Request failed: {} {}", request.getMethod(), path, e);
        } else {
            log.debug("Refused {} {}: {} {}", request.getMethod(), path, m.status().value(), m.message());
        }
        ResponseEntity.BodyBuilder b = ResponseEntity.status(m.status()).contentType(MediaType.APPLICATION_JSON);
        if (m.retryAfter() != null) {
            b.header(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, m.retryAfter().toSeconds())));
        }
        return b.body(openAi ? openAiBody(m) : new ApiTypes.Error(m.status().value(), m.code(), m.message(), m.param()));
    }

    /** OpenAI's error body. */
    static Map<String, Object> openAiBody(ErrorMapping.Mapped m) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", m.message());
        error.put("type", switch (m.status().value()) {
            case 429 -> "rate_limit_error";
            case 504 -> "timeout_error";
            case 503 -> "service_unavailable_error";
            default -> m.status().is4xxClientError() ? "invalid_request_error" : "server_error";
        });
        error.put("param", m.param());
        error.put("code", m.code());
        return Map.of("error", error);
    }

    /** The client disconnected: writing to it failed, or the async request it was served by is gone. */
    static boolean isClientGone(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof AsyncRequestNotUsableException
                    || t.getClass().getName().equals("org.apache.catalina.connector.ClientAbortException")) {
                return true;
            }
            if (t instanceof IOException && t.getMessage() != null
                    && (t.getMessage().contains("Broken pipe") || t.getMessage().contains("Connection reset"))) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
