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
 * @param text         the language model (Qwen2 family; null for Qwen-VL, see its own config)
 * @param vision       the vision tower (Qwen2 family; null for Qwen-VL)
 * @param imageProcessor preprocessing parameters
 * @param generation   generation defaults
 */
public record ModelConfig(
        Path directory,
        ModelArchitecture architecture,
        JsonObject raw,
        Qwen2TextConfig text,
        Qwen2VisionConfig vision,
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
        if (architecture.isQwen2Family()) {
            if (!Json.has(config, "vision_config") || !config.get("vision_config").isJsonObject()) {
                throw new CheckpointException(configFile + " lacks vision_config");
            }
            Qwen2TextConfig text = parse(configFile, () -> Qwen2TextConfig.from(config, configFile.toString()));
            Qwen2VisionConfig vision = parse(configFile, () -> Qwen2VisionConfig.from(
                    config.getAsJsonObject("vision_config"), architecture == ModelArchitecture.QWEN2_5_VL,
                    configFile.toString()));
            return new ModelConfig(directory, architecture, config, text, vision, imageProcessor, generation);
        }
        return new ModelConfig(directory, architecture, config, null, null, imageProcessor, generation);
    }

    /** Runs a parser over one JSON file; a wrongly typed value becomes a CheckpointException naming the file. */
    private static <T> T parse(Path file, java.util.function.Supplier<T> parser) {
        try {
            return parser.get();
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CheckpointException("Invalid value in " + file + ": " + e, e);
        }
    }
}
