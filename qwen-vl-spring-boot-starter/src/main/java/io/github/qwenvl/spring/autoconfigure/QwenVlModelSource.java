package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.hub.ModelResolver;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Turns {@code spring.ai.qwen-vl.model} into a checkpoint directory: a local directory as it is, a
 * Hugging Face repo id through the Hugging Face cache (reusing what Python users already downloaded,
 * downloading what is missing, with progress in the log).
 */
public class QwenVlModelSource {

    private final QwenVlProperties properties;
    private final ModelResolver resolver;

    public QwenVlModelSource(QwenVlProperties properties, ModelResolver resolver) {
        this.properties = properties;
        this.resolver = resolver;
    }

    /** The id reported as the model name: the repo id, or the directory's name. */
    public String modelId() {
        String model = properties.getModel();
        if (model == null || model.isBlank()) {
            return "";
        }
        Path local = Path.of(model);
        return Files.isDirectory(local) && local.getFileName() != null ? local.getFileName().toString() : model;
    }

    public Path resolve() {
        String model = properties.getModel();
        if (model == null || model.isBlank()) {
            throw new CheckpointException("spring.ai.qwen-vl.model is empty: set a local checkpoint directory or a"
                    + " Hugging Face repo id such as " + QwenVlProperties.DEFAULT_MODEL);
        }
        return resolver.resolve(model);
    }

    /**
     * The checkpoint directory for the remote backend, which reads only the files that describe the model: a local
     * directory as it is (config.json is enough), a repo id without its weights.
     */
    public Path resolveDescription() {
        String model = properties.getModel();
        if (model == null || model.isBlank()) {
            return resolve();
        }
        return resolver.resolveWithoutWeights(model);
    }
}
