package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.config.ArchitectureConfig;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.config.Qwen2VisionConfig;

/**
 * The Qwen2-VL / Qwen2.5-VL parts of {@code config.json}.
 *
 * @param text   the Qwen2 decoder (top level)
 * @param vision the vision tower ({@code vision_config})
 */
public record Qwen2VlConfig(Qwen2TextConfig text, Qwen2VisionConfig vision) implements ArchitectureConfig {

    /** The Qwen2-VL-family config of a loaded checkpoint config. */
    public static Qwen2VlConfig of(ModelConfig config) {
        return config.specific(Qwen2VlConfig.class);
    }

    @Override
    public int maxPositionEmbeddings() {
        return text.maxPositionEmbeddings();
    }
}
