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
import io.github.qwenvl.spring.MediaResolver;
import io.github.qwenvl.spring.ModelBusyException;
import io.github.qwenvl.spring.RequestTimeoutException;
import io.github.qwenvl.spring.UnsupportedContentException;
import org.springframework.ai.content.Media;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.context.annotation.Import;
import org.springframework.util.MimeType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** The table both web slices run: an exception → the status, code and param it must answer with. */
final class ErrorCases {

    record Case(Supplier<QwenVlException> error, int status, String code, String param) {
    }

    static final Map<String, Case> CASES = new LinkedHashMap<>();

    static {
        CASES.put("too-many-pixels", new Case(() -> new ImageInputException(ImageInputException.Reason.TOO_MANY_PIXELS,
                "The image has 20000000 pixels; the limit is 16777216"), 413, "image_too_large",
                "spring.ai.qwen-vl.serving.max-image-pixels"));
        CASES.put("unreadable-image", new Case(() -> new ImageInputException(ImageInputException.Reason.UNREADABLE,
                "The image data is corrupt"), 400, "invalid_image", null));
        CASES.put("unsupported-format", new Case(() -> new ImageInputException(ImageInputException.Reason.UNSUPPORTED_FORMAT,
                "No decoder for this format"), 400, "unsupported_image", null));
        CASES.put("unsupported-content", new Case(() -> new UnsupportedContentException("Tool messages are not supported"),
                400, "unsupported_content", null));
        CASES.put("prompt-too-long", new Case(() -> new PromptTooLongException(5000, 4096), 400,
                "context_length_exceeded", "spring.ai.qwen-vl.runtime.context-length"));
        CASES.put("invalid-request", new Case(() -> new InvalidRequestException("temperature must be >= 0"), 400,
                "invalid_request", null));
        CASES.put("busy", new Case(() -> new ModelBusyException("16 requests are waiting"), 429, "model_busy",
                "spring.ai.qwen-vl.serving.max-queued-requests"));
        CASES.put("timeout", new Case(() -> new RequestTimeoutException("The request ran past 10s"), 504, "timeout",
                "spring.ai.qwen-vl.serving.request-timeout"));
        CASES.put("checkpoint", new Case(() -> new CheckpointException("Corrupt safetensors file"), 503,
                "model_unavailable", null));
        CASES.put("model-resolution", new Case(() -> new ModelResolutionException("Qwen/none is not in the cache"), 503,
                "model_unavailable", null));
        CASES.put("image-tokens-over-limit", new Case(() -> new RequestTooLargeException("image tokens", 1024, 4096,
                "spring.ai.qwen-vl.serving.max-image-tokens"), 413, "request_too_large",
                "spring.ai.qwen-vl.serving.max-image-tokens"));
        CASES.put("cancelled-timeout", new Case(() -> new RequestCancelledException(RequestCancelledException.Reason.TIMEOUT,
                "The request ran past its deadline"), 504, "timeout", "spring.ai.qwen-vl.serving.request-timeout"));
        CASES.put("cancelled-shutdown", new Case(() -> new RequestCancelledException(RequestCancelledException.Reason.SHUTDOWN,
                "The model is shutting down"), 503, "shutting_down", null));
        CASES.put("remote-busy", new Case(() -> new RemoteServerException("Every server stayed busy",
                java.util.List.of("http://127.0.0.1:9"), 503, null), 503, "model_busy", null));
        CASES.put("remote-down", new Case(() -> new RemoteServerException("No server answered",
                java.util.List.of("http://127.0.0.1:9"), 0, null), 502, "upstream_unavailable", null));
        CASES.put("other", new Case(() -> new QwenVlException("Something inside failed"), 500, "internal_error", null));
    }

    private ErrorCases() {
    }

    /** Throws the exception of a case; {@code /media} hands the body to the starter's real {@link MediaResolver}. */
    @RestController
    static class ThrowingController {

        @GetMapping("/fail/{name}")
        String fail(@PathVariable("name") String name) {
            throw CASES.get(name).error().get();
        }

        @GetMapping("/fail-wrapped")
        String failWrapped() {
            throw new IllegalStateException("wrapped", new ModelBusyException("wrapped busy"));
        }

        @PostMapping("/media")
        String media(@RequestHeader("Content-Type") String type, @RequestBody byte[] body) {
            MediaResolver.defaults().resolve(new Media(MimeType.valueOf(type), new org.springframework.core.io.ByteArrayResource(body)));
            return "ok";
        }
    }

    @SpringBootConfiguration
    @Import(ThrowingController.class)
    static class App {
    }
}
