package io.github.qwenvl.config;

import com.google.gson.JsonObject;

/**
 * A Qwen2-style decoder: the Qwen2 language model of Qwen2-VL / Qwen2.5-VL ({@code config.json}, top level), and
 * the Qwen3 one of Qwen3-VL (parsed by its architecture package), which differ in the components at the end.
 *
 * @param hiddenSize            d_model
 * @param intermediateSize      MLP inner width
 * @param numLayers             decoder layers
 * @param numHeads              query heads
 * @param numKeyValueHeads      key/value heads (grouped-query attention)
 * @param headDim               hiddenSize / numHeads
 * @param vocabSize             rows of embed_tokens / lm_head (may exceed the tokenizer's ids)
 * @param rmsNormEps            RMSNorm epsilon
 * @param ropeTheta             RoPE base
 * @param mropeSection          M-RoPE split of headDim/2 frequencies over (temporal, height, width)
 * @param tieWordEmbeddings     lm_head shares embed_tokens (no lm_head.weight stored)
 * @param maxPositionEmbeddings context length the model was trained for
 * @param imageTokenId          {@code <|image_pad|>}
 * @param videoTokenId          {@code <|video_pad|>}
 * @param visionStartTokenId    {@code <|vision_start|>}
 * @param visionEndTokenId      {@code <|vision_end|>}
 * @param attentionBias         q/k/v projections have biases (Qwen2: yes; Qwen3: {@code attention_bias}, no)
 * @param qkNorm                per-head RMSNorm of queries and keys before the rotary ({@code q_norm}/{@code k_norm}, Qwen3)
 * @param rotaryLayout          which position axis rotates each head dimension
 */
public record Qwen2TextConfig(
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKeyValueHeads,
        int headDim,
        int vocabSize,
        double rmsNormEps,
        double ropeTheta,
        int[] mropeSection,
        boolean tieWordEmbeddings,
        int maxPositionEmbeddings,
        int imageTokenId,
        int videoTokenId,
        int visionStartTokenId,
        int visionEndTokenId,
        boolean attentionBias,
        boolean qkNorm,
        RotaryLayout rotaryLayout) {

    /** The position axis (0 t, 1 h, 2 w) of each of the head_dim dimensions. */
    public int[] rotaryAxes() {
        return rotaryLayout.axes(mropeSection, headDim);
    }

    public static Qwen2TextConfig from(JsonObject c, String where) {
        int hidden = Json.requireInt(c, "hidden_size", where);
        int heads = Json.requireInt(c, "num_attention_heads", where);
        JsonObject rope = Json.has(c, "rope_scaling") ? c.getAsJsonObject("rope_scaling") : new JsonObject();
        int headDim = Json.getInt(c, "head_dim", hidden / heads);
        return new Qwen2TextConfig(
                hidden,
                Json.requireInt(c, "intermediate_size", where),
                Json.requireInt(c, "num_hidden_layers", where),
                heads,
                Json.getInt(c, "num_key_value_heads", heads),
                headDim,
                Json.requireInt(c, "vocab_size", where),
                Json.getDouble(c, "rms_norm_eps", 1e-6),
                Json.getDouble(c, "rope_theta", 1_000_000.0),
                Json.getIntArray(rope, "mrope_section", new int[] {16, 24, 24}),
                Json.getBoolean(c, "tie_word_embeddings", false),
                Json.getInt(c, "max_position_embeddings", 32768),
                Json.requireInt(c, "image_token_id", where),
                Json.getInt(c, "video_token_id", -1),
                Json.requireInt(c, "vision_start_token_id", where),
                Json.getInt(c, "vision_end_token_id", -1),
                true,
                false,
                RotaryLayout.MROPE_CHUNKED);
    }
}
