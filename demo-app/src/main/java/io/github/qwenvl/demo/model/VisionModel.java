package io.github.qwenvl.demo.model;

import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.ModelInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlChatOptions;
import io.github.qwenvl.spring.QwenVlModelHolder;
import org.springframework.stereotype.Component;

import java.util.Optional;

/**
 * What the pages need beyond the {@code ChatModel}: the loaded model's identity and how it sees an
 * image (to map boxes and to write a dragged rectangle in the model's markup before asking).
 */
@Component
public class VisionModel {

    private final QwenVlModelHolder holder;
    private final QwenVlChatModel qwen;

    public VisionModel(QwenVlModelHolder holder, QwenVlChatModel qwen) {
        this.holder = holder;
        this.qwen = qwen;
    }

    public String modelId() {
        return holder.modelId();
    }

    public boolean isLoaded() {
        return holder.isLoaded();
    }

    public Optional<ModelInfo> info() {
        return holder.info();
    }

    public Optional<RuntimeException> failure() {
        return holder.failure();
    }

    public ModelArchitecture architecture() {
        return holder.get().architecture();
    }

    /** The architecture when the model is loaded, without loading it. */
    public Optional<ModelArchitecture> architectureIfLoaded() {
        return holder.info().map(ModelInfo::architecture);
    }

    /** How the model sees the image at this position of the conversation (decodes it: bad images fail here). */
    public ImageInfo describe(UploadedImage image, int index) {
        GenerationOptions options = ((QwenVlChatOptions) qwen.getDefaultOptions()).toGenerationOptions();
        return holder.get().describeImage(ImageSource.of(image.bytes()), options, index);
    }

    public int running() {
        return qwen.gate().running();
    }

    public int waiting() {
        return qwen.gate().waiting();
    }
}
