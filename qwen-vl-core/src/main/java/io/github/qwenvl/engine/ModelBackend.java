package io.github.qwenvl.engine;

import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.config.GenerationDefaults;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.generate.DecodingSession;
import io.github.qwenvl.tokenizer.QwenTokenizer;

import java.util.List;

/**
 * What one architecture contributes to {@link io.github.qwenvl.QwenVlModel}: prompt preparation
 * (image preprocessing, chat format, tokenization) and decoding sessions over its network. The
 * model class around it owns streaming, stop sequences, limits and timings.
 *
 * @param <P> the backend's image input, made by {@link #prepare} and read by {@link #open}
 */
public interface ModelBackend<P> extends AutoCloseable {

    ModelArchitecture architecture();

    QwenTokenizer tokenizer();

    GenerationDefaults generationDefaults();

    /**
     * Special-token ids that stay in answer text: the grounding markup ({@code <|box_start|>}, {@code <ref>}, ...).
     * Every other special token (end of turn, padding, vision markers) is dropped from answers.
     */
    java.util.Set<Integer> keptSpecialTokens();

    /** Longest prompt + completion the model supports. */
    int contextLength();

    /** How an image would be seen by the model (its resized size and token count), without running it. */
    io.github.qwenvl.ImageInfo describeImage(io.github.qwenvl.image.ImageSource source, GenerationOptions options, int index);

    /** CPU work only: no tensors are created. */
    PreparedPrompt<P> prepare(List<ChatMessage> messages, GenerationOptions options);

    /**
     * Runs the vision tower (if the prompt has images) and returns a session ready to prefill.
     *
     * @param capacity KV cache slots to preallocate (prompt + new tokens)
     */
    DecodingSession open(PreparedPrompt<P> prompt, int capacity);

    /**
     * The scheduler that batches this model's running sequences into shared decode steps, or null where every
     * request's decode steps run alone (no Java decoder: Qwen-VL, the ENGINE decode mode, a GPU).
     */
    default io.github.qwenvl.generate.DecodeBatcher<?> decodeBatcher() {
        return null;
    }

    /** Parameters held in memory. */
    long parameterCount();

    /** Bytes of weights held in memory. */
    long weightBytes();

    @Override
    void close();
}
