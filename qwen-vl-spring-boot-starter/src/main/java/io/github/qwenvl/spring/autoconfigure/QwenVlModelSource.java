package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.hub.ModelResolver;
import io.github.qwenvl.hub.RepoId;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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

    /**
     * Checks at startup what can be checked without downloading or loading weights, so that a lazily loaded model
     * still fails the start when it is misconfigured: a local directory must exist, hold {@code config.json}
     * of a supported architecture and the weight files; a repo id must be well-formed and, in offline mode, be
     * complete in the Hugging Face cache. A repo id that may still be downloaded is not checked.
     */
    public void validate() {
        String model = properties.getModel();
        if (model == null || model.isBlank()) {
            resolve(); // the same message as a load
        }
        boolean localOrCacheOnly = !RepoId.isValid(model) || isDirectory(model) || resolver.isOffline();
        if (!localOrCacheOnly) {
            return;
        }
        Path dir = resolver.resolve(model); // no network: a directory, an invalid id, or the cache alone
        List<String> missing = ModelResolver.missingFiles(dir);
        if (!missing.isEmpty()) {
            throw new CheckpointException("Model directory " + dir + " is incomplete: missing " + String.join(", ",
                    missing));
        }
        ModelConfig.load(dir); // config.json, the architecture, the preprocessor and generation configs
    }

    public Path resolve() {
        String model = properties.getModel();
        if (model == null || model.isBlank()) {
            throw new CheckpointException("spring.ai.qwen-vl.model is empty: set a local checkpoint directory or a"
                    + " Hugging Face repo id such as " + QwenVlProperties.DEFAULT_MODEL);
        }
        return resolver.resolve(model);
    }

    private static boolean isDirectory(String model) {
        try {
            return Files.isDirectory(Path.of(model));
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }
}
