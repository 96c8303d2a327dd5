package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.checkpoint.CheckpointException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Turns {@code spring.ai.qwen-vl.model} into a checkpoint directory: a local directory as it is, a
 * Hugging Face repo id through the Hugging Face cache (downloading what is missing).
 */
public class QwenVlModelSource {

    private final QwenVlProperties properties;

    public QwenVlModelSource(QwenVlProperties properties) {
        this.properties = properties;
    }

    /** The id reported as the model name: the repo id, or the directory's name. */
    public String modelId() {
        String model = properties.getModel();
        Path local = Path.of(model);
        return Files.isDirectory(local) && local.getFileName() != null ? local.getFileName().toString() : model;
    }

    public Path resolve() {
        String model = properties.getModel();
        if (model == null || model.isBlank()) {
            throw new CheckpointException("spring.ai.qwen-vl.model is empty: set a local checkpoint directory or a"
                    + " Hugging Face repo id such as " + QwenVlProperties.DEFAULT_MODEL);
        }
        Path local = Path.of(model);
        if (Files.isDirectory(local)) {
            return local.toAbsolutePath().normalize();
        }
        throw new CheckpointException("Model '" + model + "' is not a local directory");
    }
}
