package io.github.qwenvl.config;

import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.CheckpointException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Everything a checkpoint directory says about itself: architecture, text and vision configs,
 * image preprocessing and generation defaults. Immutable; read once at load.
 *
 * @param directory    the Hugging Face model directory
 * @param architecture detected from {@code config.json}
 * @param raw          {@code config.json} as parsed (for architecture-specific extras)
 * @param specific     the architecture's own parts of config.json, parsed by its
 *                     {@link io.github.qwenvl.engine.ArchitectureSupport#parseConfig}
 * @param imageProcessor preprocessing parameters
 * @param generation   generation defaults
 */
public record ModelConfig(
        Path directory,
        ModelArchitecture architecture,
        JsonObject raw,
        ArchitectureConfig specific,
        ImageProcessorConfig imageProcessor,
        GenerationDefaults generation) {

    /** Reads {@code config.json}, {@code preprocessor_config.json} and {@code generation_config.json}. */
    public static ModelConfig load(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new CheckpointException("Model directory does not exist: " + directory);
        }
        Path configFile = directory.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointException("Not a Hugging Face model directory (no config.json): " + directory);
        }
        JsonObject config = Json.read(configFile);
        ModelArchitecture architecture = ModelArchitecture.detect(config, configFile.toString());
        int[] eos = parse(configFile, () -> Json.getIntArray(config, "eos_token_id", new int[0]));
        Path generationFile = directory.resolve("generation_config.json");
        GenerationDefaults generation = parse(generationFile,
                () -> GenerationDefaults.from(Json.readOrEmpty(generationFile), eos));
        Path preprocessorFile = directory.resolve("preprocessor_config.json");
        ImageProcessorConfig imageProcessor = parse(preprocessorFile,
                () -> ImageProcessorConfig.from(Json.readOrEmpty(preprocessorFile)));
        ArchitectureConfig specific = parse(configFile, () -> io.github.qwenvl.engine.Architectures.supportOf(architecture)
                .parseConfig(architecture, config, configFile));
        return new ModelConfig(directory, architecture, config, specific, imageProcessor, generation);
    }

    /** The architecture-specific config as {@code type}; a config of another architecture is an error. */
    public <T extends ArchitectureConfig> T specific(Class<T> type) {
        if (!type.isInstance(specific)) {
            throw new IllegalStateException(architecture + " checkpoint " + directory + " has no " + type.getSimpleName());
        }
        return type.cast(specific);
    }

    /** Runs a parser over one JSON file; a wrongly typed value becomes a CheckpointException naming the file. */
    public static <T> T parse(Path file, java.util.function.Supplier<T> parser) {
        try {
            return parser.get();
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CheckpointException("Invalid value in " + file + ": " + e, e);
        }
    }
}
