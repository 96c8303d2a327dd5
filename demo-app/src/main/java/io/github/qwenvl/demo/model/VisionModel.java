package io.github.qwenvl.demo.model;

import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.ModelInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.spring.QwenVlBackend;
import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlChatOptions;
import org.springframework.stereotype.Component;

import java.util.Optional;

/**
 * What the pages need beyond the {@code ChatModel}: the model's identity and how it sees an image (to map boxes and
 * to write a dragged rectangle in the model's markup before asking), on the local engine or a remote server alike.
 */
@Component
public class VisionModel {

    private final QwenVlBackend backend;
    private final QwenVlChatModel qwen;

    public VisionModel(QwenVlChatModel qwen) {
        this.backend = qwen.backend();
        this.qwen = qwen;
    }

    /** {@code local} or {@code remote}. */
    public String backend() {
        return backend.kind();
    }

    public String modelId() {
        return backend.modelId();
    }

    public boolean isLoaded() {
        return backend.isReady();
    }

    public Optional<ModelInfo> info() {
        return backend.info();
    }

    public Optional<RuntimeException> failure() {
        return backend.failure();
    }

    public ModelArchitecture architecture() {
        return backend.architecture();
    }

    /** The architecture when the model is ready, without loading it. */
    public Optional<ModelArchitecture> architectureIfLoaded() {
        return backend.isReady() ? Optional.of(backend.architecture()) : Optional.empty();
    }

    /** How the model sees the image at this position of the conversation (decodes it: bad images fail here). */
    public ImageInfo describe(UploadedImage image, int index) {
        GenerationOptions options = ((QwenVlChatOptions) qwen.getDefaultOptions()).toGenerationOptions();
        return backend.describeImage(ImageSource.of(image.bytes()), options, index);
    }

    public int running() {
        return qwen.gate().running();
    }

    public int waiting() {
        return qwen.gate().waiting();
    }

    /** The local model's decode scheduler (current shared step), when decode steps are batched. */
    public Optional<io.github.qwenvl.generate.DecodeBatcher.Stats> decodeStats() {
        return backend.decodeStats();
    }
}
