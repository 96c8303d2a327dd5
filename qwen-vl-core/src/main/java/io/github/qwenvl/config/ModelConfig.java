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
        int[] eos = Json.getIntArray(config, "eos_token_id", new int[0]);
        GenerationDefaults generation = GenerationDefaults.from(
                Json.readOrEmpty(directory.resolve("generation_config.json")), eos);
        JsonObject preprocessor = Json.readOrEmpty(directory.resolve("preprocessor_config.json"));
        if (architecture.isQwen2Family()) {
            if (!Json.has(config, "vision_config")) {
                throw new CheckpointException(configFile + " lacks vision_config");
            }
            return new ModelConfig(directory, architecture, config,
                    Qwen2TextConfig.from(config, configFile.toString()),
                    Qwen2VisionConfig.from(config.getAsJsonObject("vision_config"),
                            architecture == ModelArchitecture.QWEN2_5_VL, configFile.toString()),
                    ImageProcessorConfig.from(preprocessor), generation);
        }
        return new ModelConfig(directory, architecture, config, null, null, ImageProcessorConfig.from(preprocessor),
                generation);
    }
}
