package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.hub.ModelNotFoundException;
import io.github.qwenvl.hub.ModelResolver;
import io.github.qwenvl.hub.RepoId;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Turns {@code spring.ai.qwen-vl.model} into a checkpoint directory: a local directory as it is, a
 * Hugging Face repo id through the Hugging Face cache (reusing what Python users already downloaded,
 * downloading what is missing, with progress in the log), or {@code classpath:some/folder}: the files of that
 * class path folder (for example the {@code qwen-vl-test-model} artifact's tiny checkpoint in an application's
 * tests) copied once into a temporary directory that is deleted when the JVM exits.
 */
public class QwenVlModelSource {

    /** Prefix of a checkpoint folder on the class path. */
    public static final String CLASSPATH_PREFIX = "classpath:";

    private final QwenVlProperties properties;
    private final ModelResolver resolver;
    private Path extracted;

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
        if (model.startsWith(CLASSPATH_PREFIX)) {
            String location = classpathLocation(model);
            return location.substring(location.lastIndexOf('/') + 1);
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
        boolean localOrCacheOnly = model.startsWith(CLASSPATH_PREFIX)
                || !RepoId.isValid(model) || isDirectory(model) || resolver.isOffline();
        if (!localOrCacheOnly) {
            return;
        }
        Path dir = resolve(); // no network: the class path, a directory, an invalid id, or the cache alone
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
        if (model.startsWith(CLASSPATH_PREFIX)) {
            return fromClasspath(model);
        }
        return resolver.resolve(model);
    }

    private synchronized Path fromClasspath(String model) {
        if (extracted != null) {
            return extracted;
        }
        String location = classpathLocation(model);
        try {
            Resource[] resources = new PathMatchingResourcePatternResolver(getClass().getClassLoader())
                    .getResources("classpath*:" + location + "/*");
            List<Resource> files = new java.util.ArrayList<>();
            for (Resource r : resources) {
                String name = r.getFilename();
                if (r.isReadable() && name != null && !name.isEmpty() && !name.endsWith("/")) {
                    files.add(r);
                }
            }
            if (files.isEmpty()) {
                throw new ModelNotFoundException("No checkpoint on the class path at " + location + " ("
                        + QwenVlProperties.PREFIX + ".model=" + model + "): add the artifact that holds it");
            }
            Path dir = Files.createTempDirectory("qwen-vl-model-");
            dir.toFile().deleteOnExit();
            for (Resource r : files) {
                Path target = dir.resolve(r.getFilename());
                try (InputStream in = r.getInputStream()) {
                    Files.copy(in, target);
                }
                target.toFile().deleteOnExit();
            }
            extracted = dir;
            return dir;
        } catch (IOException e) {
            throw new ModelNotFoundException("Cannot copy the checkpoint at " + model + " off the class path: " + e, e);
        }
    }

    private static String classpathLocation(String model) {
        String location = model.substring(CLASSPATH_PREFIX.length());
        while (location.startsWith("/")) {
            location = location.substring(1);
        }
        while (location.endsWith("/")) {
            location = location.substring(0, location.length() - 1);
        }
        return location;
    }

    private static boolean isDirectory(String model) {
        try {
            return Files.isDirectory(Path.of(model));
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    /**
     * The checkpoint directory for the remote backend, which reads only the files that describe the model: a local
     * directory as it is (config.json is enough), a repo id without its weights.
     */
    public Path resolveDescription() {
        String model = properties.getModel();
        if (model == null || model.isBlank() || model.startsWith(CLASSPATH_PREFIX)) {
            return resolve();
        }
        return resolver.resolveWithoutWeights(model);
    }
}
