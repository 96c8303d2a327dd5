package io.github.qwenvl.spring;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.GenerationListener;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.ModelInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.image.ImageSource;

import java.util.Map;
import java.util.Optional;

/**
 * Where {@link QwenVlChatModel}'s generations run: {@link LocalQwenVlBackend} (the engine in this JVM) or
 * {@link io.github.qwenvl.spring.remote.RemoteQwenVlBackend} (an OpenAI-compatible server). Everything above it —
 * options, media, admission, grounding, observations — is the same for both.
 */
public interface QwenVlBackend extends AutoCloseable {

    /** {@code local} or {@code remote}. */
    String kind();

    /** The model name reported in responses. */
    String modelId();

    /** The served checkpoint's architecture: how its answers write boxes and how it resizes images. */
    ModelArchitecture architecture();

    /** How the model sees an image at this position of the conversation (its resized size and tokens). */
    ImageInfo describeImage(ImageSource source, GenerationOptions options, int index);

    /**
     * Runs a request to completion for a blocking call. {@code listener} gets the text (all at once or in pieces);
     * a cancelled {@code token} ends the request with {@link io.github.qwenvl.RequestCancelledException}. Blocks the
     * calling thread.
     */
    GenerationResult call(GenerationRequest request, GenerationListener listener, CancellationToken token);

    /**
     * Runs a request, handing text deltas to {@code listener} as they are produced; a cancelled {@code token} ends it
     * with {@link io.github.qwenvl.RequestCancelledException}. Blocks the calling thread.
     */
    GenerationResult stream(GenerationRequest request, GenerationListener listener, CancellationToken token);

    /** True once the backend can answer without loading anything first. */
    boolean isReady();

    /** Why the backend cannot serve (a failed model load), if it cannot. */
    Optional<RuntimeException> failure();

    /** The loaded local engine's model, if there is one. */
    Optional<ModelInfo> info();

    /**
     * What the local engine's decode scheduler is doing (sequences decoding, the current shared step's size), when a
     * model is loaded whose decode steps are batched; empty otherwise (not loaded, remote, decode steps alone).
     */
    default Optional<io.github.qwenvl.generate.DecodeBatcher.Stats> decodeStats() {
        return Optional.empty();
    }

    /** Health: UP, UNKNOWN (not loaded yet) or DOWN, with details. Contacts a remote server. */
    Health health();

    @Override
    void close();

    /**
     * @param status  {@code UP}, {@code UNKNOWN} or {@code DOWN}
     * @param details what to report (model, architecture, device or servers, ...)
     */
    record Health(String status, Map<String, Object> details) {
    }
}
