package io.github.qwenvl.config;

import com.google.gson.JsonObject;

/**
 * The vision tower of Qwen2-VL / Qwen2.5-VL ({@code config.json → vision_config}).
 *
 * @param depth               transformer blocks
 * @param hiddenSize          ViT width (Qwen2-VL calls it {@code embed_dim})
 * @param numHeads            attention heads
 * @param intermediateSize    MLP inner width (Qwen2-VL: embed_dim * mlp_ratio)
 * @param outHiddenSize       merger output = the text model's hidden size
 * @param inChannels          3
 * @param patchSize           14
 * @param temporalPatchSize   2 (an image is repeated twice along time)
 * @param spatialMergeSize    2 (2×2 patches become one LLM token)
 * @param hiddenAct           quick_gelu (Qwen2-VL) or silu (Qwen2.5-VL, gated)
 * @param windowSize          Qwen2.5-VL window attention size in pixels (112); 0 = none
 * @param fullAttBlockIndexes Qwen2.5-VL blocks that attend over the whole image
 * @param qwen25              true for the Qwen2.5-VL block layout (RMSNorm, gated MLP, windows)
 */
public record Qwen2VisionConfig(
        int depth,
        int hiddenSize,
        int numHeads,
        int intermediateSize,
        int outHiddenSize,
        int inChannels,
        int patchSize,
        int temporalPatchSize,
        int spatialMergeSize,
        String hiddenAct,
        int windowSize,
        int[] fullAttBlockIndexes,
        boolean qwen25) {

    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Flattened patch length: channels × temporal × patch × patch (1176). */
    public int patchDim() {
        return inChannels * temporalPatchSize * patchSize * patchSize;
    }

    public boolean isFullAttention(int block) {
        if (!qwen25) {
            return true;
        }
        for (int i : fullAttBlockIndexes) {
            if (i == block) {
                return true;
            }
        }
        return false;
    }

    public static Qwen2VisionConfig from(JsonObject v, boolean qwen25, String where) {
        int in = Json.getInt(v, "in_chans", Json.getInt(v, "in_channels", 3));
        int patch = Json.getInt(v, "patch_size", Json.getInt(v, "spatial_patch_size", 14));
        int temporal = Json.getInt(v, "temporal_patch_size", 2);
        int merge = Json.getInt(v, "spatial_merge_size", 2);
        int heads = Json.requireInt(v, "num_heads", where + " vision_config");
        if (qwen25) {
            int hidden = Json.requireInt(v, "hidden_size", where + " vision_config");
            return new Qwen2VisionConfig(
                    Json.requireInt(v, "depth", where + " vision_config"), hidden, heads,
                    Json.requireInt(v, "intermediate_size", where + " vision_config"),
                    Json.requireInt(v, "out_hidden_size", where + " vision_config"),
                    in, patch, temporal, merge,
                    Json.getString(v, "hidden_act", "silu"),
                    Json.getInt(v, "window_size", 112),
                    Json.getIntArray(v, "fullatt_block_indexes", new int[0]),
                    true);
        }
        int embed = Json.requireInt(v, "embed_dim", where + " vision_config");
        double mlpRatio = Json.getDouble(v, "mlp_ratio", 4);
        return new Qwen2VisionConfig(
                Json.requireInt(v, "depth", where + " vision_config"), embed, heads,
                (int) (embed * mlpRatio),
                Json.requireInt(v, "hidden_size", where + " vision_config"),
                in, patch, temporal, merge,
                Json.getString(v, "hidden_act", "quick_gelu"),
                0, new int[0], false);
    }
}
