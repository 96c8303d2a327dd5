package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.config.ArchitectureConfig;
import io.github.qwenvl.config.Json;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.config.RotaryLayout;

/**
 * The Qwen3-VL parts of {@code config.json}: the Qwen3 decoder ({@code text_config}, with the vision token ids and
 * {@code tie_word_embeddings} of the top level) and the vision tower's {@code vision_config}.
 *
 * @param text                   the decoder: no attention biases (unless {@code attention_bias}), per-head q/k
 *                               RMSNorm, explicit {@code head_dim}, M-RoPE interleaved as {@code mrope_interleaved}
 *                               says (the published checkpoints: true), θ from {@code rope_theta}
 * @param visionConfig           {@code vision_config} as stored
 * @param spatialMergeSize       vision {@code spatial_merge_size} (2): the rope index's merge
 * @param deepstackVisualIndexes vision blocks whose features are added after decoder layers 0, 1, ...
 * @param moe                    the mixture-of-experts keys of a Qwen3-VL MoE {@code text_config}; null for a
 *                               dense checkpoint
 */
public record Qwen3VlConfig(Qwen2TextConfig text, JsonObject visionConfig, int spatialMergeSize,
                            int[] deepstackVisualIndexes, Qwen3MoeConfig moe) implements ArchitectureConfig {

    public Qwen3VlConfig {
        deepstackVisualIndexes = deepstackVisualIndexes.clone();
    }

    @Override
    public int[] deepstackVisualIndexes() {
        return deepstackVisualIndexes.clone();
    }

    /** The vision tower's config. */
    public Qwen3VisionConfig vision() {
        return Qwen3VisionConfig.from(visionConfig);
    }

    /** The Qwen3-VL config of a loaded checkpoint config. */
    public static Qwen3VlConfig of(ModelConfig config) {
        return config.specific(Qwen3VlConfig.class);
    }

    @Override
    public int maxPositionEmbeddings() {
        return text.maxPositionEmbeddings();
    }

    /** Parses {@code config.json} of a Qwen3-VL checkpoint. */
    public static Qwen3VlConfig from(JsonObject config, String where) {
        if (!Json.has(config, "text_config") || !config.get("text_config").isJsonObject()) {
            throw new CheckpointException(where + " lacks text_config");
        }
        if (!Json.has(config, "vision_config") || !config.get("vision_config").isJsonObject()) {
            throw new CheckpointException(where + " lacks vision_config");
        }
        JsonObject t = config.getAsJsonObject("text_config");
        JsonObject v = config.getAsJsonObject("vision_config");
        String at = where + " text_config";
        int hidden = Json.requireInt(t, "hidden_size", at);
        int heads = Json.requireInt(t, "num_attention_heads", at);
        int headDim = Json.getInt(t, "head_dim", hidden / heads);
        // transformers 4.57 stores rope_scaling + rope_theta; 5.x may store rope_parameters holding both
        JsonObject rope = Json.has(t, "rope_scaling") && t.get("rope_scaling").isJsonObject()
                ? t.getAsJsonObject("rope_scaling")
                : Json.has(t, "rope_parameters") && t.get("rope_parameters").isJsonObject()
                ? t.getAsJsonObject("rope_parameters") : new JsonObject();
        String ropeType = Json.getString(rope, "rope_type", Json.getString(rope, "type", "default"));
        if (!ropeType.equals("default") && !ropeType.equals("mrope")) {
            throw new CheckpointException(where + ": rope_type " + ropeType + " is not supported (default only)");
        }
        double theta = Json.getDouble(t, "rope_theta", Json.getDouble(rope, "rope_theta", 5_000_000.0));
        int[] section = Json.getIntArray(rope, "mrope_section", new int[] {24, 20, 20});
        boolean interleaved = Json.getBoolean(rope, "mrope_interleaved", true);
        boolean tie = Json.has(config, "tie_word_embeddings")
                ? Json.getBoolean(config, "tie_word_embeddings", false)
                : Json.getBoolean(t, "tie_word_embeddings", false);
        Qwen2TextConfig text = new Qwen2TextConfig(
                hidden,
                Json.requireInt(t, "intermediate_size", at),
                Json.requireInt(t, "num_hidden_layers", at),
                heads,
                Json.getInt(t, "num_key_value_heads", heads),
                headDim,
                Json.requireInt(t, "vocab_size", at),
                Json.getDouble(t, "rms_norm_eps", 1e-6),
                theta,
                section,
                tie,
                Json.getInt(t, "max_position_embeddings", 262144),
                Json.requireInt(config, "image_token_id", where),
                Json.getInt(config, "video_token_id", -1),
                Json.requireInt(config, "vision_start_token_id", where),
                Json.getInt(config, "vision_end_token_id", -1),
                Json.getBoolean(t, "attention_bias", false),
                true,
                interleaved ? RotaryLayout.MROPE_INTERLEAVED : RotaryLayout.MROPE_CHUNKED);
        text.rotaryAxes(); // checks mrope_section against head_dim
        Qwen3VlConfig parsed = new Qwen3VlConfig(text, v, Json.getInt(v, "spatial_merge_size", 2),
                Json.getIntArray(v, "deepstack_visual_indexes", new int[0]), Qwen3MoeConfig.from(t, at));
        parsed.vision(); // checks vision_config
        return parsed;
    }
}
