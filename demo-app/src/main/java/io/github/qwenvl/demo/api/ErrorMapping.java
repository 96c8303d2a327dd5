package io.github.qwenvl.demo.api;

import io.github.qwenvl.spring.web.QwenVlHttpError;
import org.apache.tomcat.util.http.fileupload.impl.FileCountLimitExceededException;
import org.springframework.beans.TypeMismatchException;
import org.springframework.http.HttpStatus;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.web.multipart.MultipartException;
import org.springframework.web.multipart.support.MissingServletRequestPartException;
import org.springframework.web.servlet.NoHandlerFoundException;
import org.springframework.web.servlet.resource.NoResourceFoundException;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.DatabindException;

import java.time.Duration;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Exceptions → HTTP status, a short code, a message a person can act on and the request field at fault.
 * The library's own exceptions get the starter's mapping ({@link QwenVlHttpError}, the same as any
 * application using the starter); this class adds what is particular to the demo's web layer: its own
 * refusals, unreadable bodies, multipart failures, wrong methods and media types.
 */
public final class ErrorMapping {

    /**
     * A mapped error.
     *
     * @param param      the request field at fault (or the property of a limit), or {@code null}
     * @param retryAfter for 429, when to try again
     */
    public record Mapped(HttpStatus status, String code, String message, String param, Duration retryAfter) {

        Mapped(HttpStatus status, String code, String message) {
            this(status, code, message, null, null);
        }
    }

    private ErrorMapping() {
    }

    public static Mapped map(Throwable e) {
        if (e instanceof ApiException a) {
            return new Mapped(a.status(), a.code(), a.getMessage(), a.param(), null);
        }
        if (RequestSizeFilter.isTooLarge(e)) {
            return new Mapped(HttpStatus.CONTENT_TOO_LARGE, "too_large", RequestSizeFilter.TOO_LARGE_MESSAGE);
        }
        QwenVlHttpError library = QwenVlHttpError.of(e).orElse(null);
        if (library != null) {
            return new Mapped(HttpStatus.valueOf(library.status()), library.code(), library.message(), library.param(),
                    library.retryAfter());
        }
        if (e instanceof MaxUploadSizeExceededException m) {
            return uploadTooLarge(m);
        }
        if (e instanceof MissingServletRequestPartException p) {
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_request", "The part '" + p.getRequestPartName()
                    + "' is missing", p.getRequestPartName(), null);
        }
        if (e instanceof MissingServletRequestParameterException p) {
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_request", "The field '" + p.getParameterName()
                    + "' is missing", p.getParameterName(), null);
        }
        if (e instanceof MethodArgumentTypeMismatchException t) {
            String type = t.getRequiredType() == null ? "value" : typeName(t.getRequiredType());
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_value", "Invalid '" + t.getName() + "': '"
                    + abbreviate(String.valueOf(t.getValue())) + "' is not " + type, t.getName(), null);
        }
        if (e instanceof TypeMismatchException t) {
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_value", "Invalid '" + t.getPropertyName() + "': "
                    + abbreviate(String.valueOf(t.getValue())), t.getPropertyName(), null);
        }
        if (e instanceof MultipartException) {
            return new Mapped(HttpStatus.BAD_REQUEST, "invalid_request", "Malformed multipart request: "
                    + rootMessage(e));
        }
        if (e instanceof HttpMessageNotReadableException r) {
            return unreadable(r);
        }
        if (e instanceof HttpMediaTypeNotSupportedException m) {
            return new Mapped(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Content-Type '"
                    + m.getContentType() + "' is not supported here; send "
                    + m.getSupportedMediaTypes().stream().map(Object::toString).collect(Collectors.joining(" or ")));
        }
        if (e instanceof HttpMediaTypeNotAcceptableException) {
            return new Mapped(HttpStatus.NOT_ACCEPTABLE, "not_acceptable", "None of the accepted media types can be produced");
        }
        if (e instanceof HttpRequestMethodNotSupportedException m) {
            return new Mapped(HttpStatus.METHOD_NOT_ALLOWED, "method_not_allowed", "Method " + m.getMethod()
                    + " is not allowed here; use " + String.join(" or ", m.getSupportedMethods() == null
                    ? new String[0] : m.getSupportedMethods()));
        }
        if (e instanceof NoResourceFoundException || e instanceof NoHandlerFoundException) {
            return new Mapped(HttpStatus.NOT_FOUND, "not_found", "No such endpoint");
        }
        return new Mapped(HttpStatus.INTERNAL_SERVER_ERROR, "internal_error",
                "Internal error: " + e.getClass().getSimpleName());
    }

    /** A multipart upload over one of the servlet container's limits: which one, and its property. */
    private static Mapped uploadTooLarge(MaxUploadSizeExceededException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof FileCountLimitExceededException c) {
                return new Mapped(HttpStatus.CONTENT_TOO_LARGE, "too_large", "The upload has too many parts; the limit is "
                        + c.getLimit() + " (server.tomcat.max-part-count)", "server.tomcat.max-part-count", null);
            }
            if (t.getMessage() != null && t.getMessage().startsWith("Header section has more than")) {
                return new Mapped(HttpStatus.CONTENT_TOO_LARGE, "too_large", "A part's headers (e.g. its file name) are"
                        + " too long: " + t.getMessage() + " (server.tomcat.max-part-header-size)",
                        "server.tomcat.max-part-header-size", null);
            }
        }
        return new Mapped(HttpStatus.CONTENT_TOO_LARGE, "too_large", "The upload is too large: " + rootMessage(e)
                + " (spring.servlet.multipart.max-file-size / max-request-size)");
    }

    /** A JSON body that does not parse, or whose field has the wrong type: names the field where Jackson knows it. */
    private static Mapped unreadable(HttpMessageNotReadableException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof DatabindException d && !d.getPath().isEmpty()) {
                String field = d.getPath().stream()
                        .map(r -> r.getPropertyName() != null ? r.getPropertyName() : "[" + r.getIndex() + "]")
                        .collect(Collectors.joining(".")).replace(".[", "[");
                return new Mapped(HttpStatus.BAD_REQUEST, "invalid_value", "Invalid '" + field + "': "
                        + reason(d.getOriginalMessage()), field, null);
            }
            if (t instanceof InputCoercionException c && c.processor() != null) {
                String field = field(c.processor().streamReadContext().pathAsPointer().toString());
                if (!field.isEmpty()) {
                    return new Mapped(HttpStatus.BAD_REQUEST, "invalid_value", "Invalid '" + field + "': "
                            + reason(c.getOriginalMessage()), field, null);
                }
            }
            if (t instanceof StreamReadException s) {
                return new Mapped(HttpStatus.BAD_REQUEST, "invalid_json", "The body is not valid JSON: "
                        + reason(s.getOriginalMessage()));
            }
        }
        return new Mapped(HttpStatus.BAD_REQUEST, "invalid_json", "The request body is missing or not valid JSON");
    }

    /** A JSON pointer ({@code /messages/0/images}) as the field path of the messages ({@code messages[0].images}). */
    private static String field(String pointer) {
        StringBuilder b = new StringBuilder();
        for (String segment : pointer.split("/")) {
            if (segment.isEmpty()) {
                continue;
            }
            if (segment.chars().allMatch(Character::isDigit)) {
                b.append('[').append(segment).append(']');
            } else {
                b.append(b.isEmpty() ? "" : ".").append(segment.replace("~1", "/").replace("~0", "~"));
            }
        }
        return b.toString();
    }

    /** Jackson's message up to its first line, without the source location. */
    private static String reason(String message) {
        if (message == null) {
            return "wrong type";
        }
        String first = message.lines().findFirst().orElse(message);
        for (String tail : new String[] {" (start marker at", " at [Source"}) {
            int at = first.indexOf(tail);
            if (at > 0) {
                first = first.substring(0, at);
            }
        }
        return abbreviate(first.replace("tools.jackson.", "").replace("java.lang.", ""));
    }

    private static String typeName(Class<?> type) {
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (type == Double.class || type == double.class || type == Float.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        return "a valid " + type.getSimpleName().toLowerCase(Locale.ROOT);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return abbreviate(t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage());
    }

    static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }
}
