package io.github.qwenvl.engine;

import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.config.ArchitectureConfig;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import ai.djl.ndarray.NDManager;

import java.nio.file.Path;
import java.util.List;

/**
 * What an architecture package registers (a {@link java.util.ServiceLoader} provider listed in
 * {@code META-INF/services/io.github.qwenvl.engine.ArchitectureSupport}): the architectures it runs, its own parsing
 * of {@code config.json}, and its backend. Nothing outside the package names the architecture.
 */
public interface ArchitectureSupport {

    /** The architectures this package runs (most packages: one). */
    List<ModelArchitecture> architectures();

    /**
     * Parses the architecture-specific parts of {@code config.json} (text and vision sections).
     *
     * @param configFile for messages
     */
    ArchitectureConfig parseConfig(ModelArchitecture architecture, JsonObject config, Path configFile);

    /** Loads the weights of {@code config.directory()} under {@code manager}. */
    ModelBackend<?> createBackend(ModelConfig config, NDManager manager, QwenVlOptions options);

    /**
     * The size an image of {@code width} × {@code height} pixels is resized to and the tokens it takes, from the
     * configuration files alone (no weights): what the engine, and a server running the same checkpoint, make of it.
     * Dynamic-resolution architectures resize within [{@code minPixels}, {@code maxPixels}]; fixed-size ones ignore
     * the bounds. The remote backend sizes images with it before they leave.
     */
    io.github.qwenvl.ImageInfo imageInfo(ModelConfig config, int index, int width, int height, long minPixels,
                                         long maxPixels);
}
