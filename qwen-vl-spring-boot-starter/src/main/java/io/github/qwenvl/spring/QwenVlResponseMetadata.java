package io.github.qwenvl.spring;

import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.grounding.GroundingResult;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.model.ChatResponse;

import java.util.List;
import java.util.Optional;

/**
 * Typed access to what a {@link QwenVlChatModel} response carries besides the answer: the architecture that
 * answered, the images as the model saw them, token counts and timings, and the grounding of the answer.
 *
 * <pre>{@code
 * ChatResponse response = chatModel.call(prompt);
 * QwenVlResponseMetadata meta = QwenVlResponseMetadata.of(response);
 * meta.architecture();                      // Optional<ModelArchitecture>
 * for (ImageInfo image : meta.images()) {   // original and resized size, image tokens
 *     System.out.println(image.originalWidth() + "x" + image.originalHeight() + " -> " + image.tokens() + " tokens");
 * }
 * meta.timings().map(GenerationResult.Timings::totalMillis);
 * meta.grounding().boxes();
 * }</pre>
 *
 * A streamed answer carries this metadata on its last chunk; the chunks before it carry none (every accessor
 * then answers empty).
 *
 * @param response the response read
 */
public record QwenVlResponseMetadata(ChatResponse response) {

    public QwenVlResponseMetadata {
        java.util.Objects.requireNonNull(response, "response");
    }

    public static QwenVlResponseMetadata of(ChatResponse response) {
        return new QwenVlResponseMetadata(response);
    }

    /** The architecture of the model that answered ({@link QwenVlMetadata#ARCHITECTURE} holds its name). */
    public Optional<ModelArchitecture> architecture() {
        Object value = metadata().get(QwenVlMetadata.ARCHITECTURE);
        if (value instanceof ModelArchitecture a) {
            return Optional.of(a);
        }
        if (value instanceof String name) {
            for (ModelArchitecture a : ModelArchitecture.values()) {
                if (a.name().equals(name)) {
                    return Optional.of(a);
                }
            }
        }
        return Optional.empty();
    }

    /** The prompt's images in order, each with its original and resized size and its token count. */
    public List<ImageInfo> images() {
        Object value = metadata().get(QwenVlMetadata.IMAGES);
        if (value instanceof List<?> list) {
            return list.stream().filter(ImageInfo.class::isInstance).map(ImageInfo.class::cast).toList();
        }
        return List.of();
    }

    /** Image tokens in the prompt (part of the prompt token count of {@link ChatResponseMetadata#getUsage()}). */
    public int imageTokens() {
        return metadata().get(QwenVlMetadata.IMAGE_TOKENS) instanceof Number n ? n.intValue() : 0;
    }

    /** Where the time went: preprocessing, vision tower, prefill, decode, and the time to the first token. */
    public Optional<GenerationResult.Timings> timings() {
        return metadata().get(QwenVlMetadata.TIMINGS) instanceof GenerationResult.Timings t
                ? Optional.of(t) : Optional.empty();
    }

    /** Token counts as the engine reports them (prompt, image, completion). */
    public Optional<GenerationResult.Usage> usage() {
        ChatResponseMetadata m = response.getMetadata();
        return m != null && m.getUsage() != null && m.getUsage().getNativeUsage() instanceof GenerationResult.Usage u
                ? Optional.of(u) : Optional.empty();
    }

    /** The grounding of the first generation: boxes in original-image pixels and the answer without markup. */
    public GroundingResult grounding() {
        return QwenVlGrounding.from(response);
    }

    private ChatResponseMetadata metadata() {
        ChatResponseMetadata m = response.getMetadata();
        return m != null ? m : ChatResponseMetadata.builder().build();
    }
}
