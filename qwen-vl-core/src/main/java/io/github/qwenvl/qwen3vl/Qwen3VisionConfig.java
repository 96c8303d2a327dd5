package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.CheckpointException;

import java.util.Arrays;

/**
 * {@code vision_config} of a Qwen3-VL checkpoint ({@code Qwen3VLVisionConfig}).
 *
 * @param depth                  ViT blocks (24 in Qwen3-VL-2B)
 * @param hiddenSize             ViT width D
 * @param intermediateSize       MLP width
 * @param numHeads               attention heads
 * @param inChannels             3
 * @param patchSize              16
 * @param temporalPatchSize      2
 * @param spatialMergeSize       2: merge² patches become one LLM token
 * @param outHiddenSize          the text model's width
 * @param numPositionEmbeddings  rows of the learned position table, a square (48 × 48 = 2304 published)
 * @param deepstackVisualIndexes blocks whose outputs feed the DeepStack mergers, in order
 * @param hiddenAct              the blocks' MLP activation ({@code gelu_pytorch_tanh})
 */
public record Qwen3VisionConfig(
        int depth,
        int hiddenSize,
        int intermediateSize,
        int numHeads,
        int inChannels,
        int patchSize,
        int temporalPatchSize,
        int spatialMergeSize,
        int outHiddenSize,
        int numPositionEmbeddings,
        int[] deepstackVisualIndexes,
        String hiddenAct) {

    public Qwen3VisionConfig {
        deepstackVisualIndexes = deepstackVisualIndexes.clone();
        if (hiddenSize % numHeads != 0) {
            throw new CheckpointException("vision hidden_size " + hiddenSize + " is not a multiple of num_heads " + numHeads);
        }
        int side = (int) Math.round(Math.sqrt(numPositionEmbeddings));
        if (side * side != numPositionEmbeddings) {
            throw new CheckpointException("vision num_position_embeddings " + numPositionEmbeddings + " is not a square");
        }
        for (int index : deepstackVisualIndexes) {
            if (index < 0 || index >= depth) {
                throw new CheckpointException("deepstack_visual_indexes " + Arrays.toString(deepstackVisualIndexes)
                        + " outside the " + depth + " vision blocks");
            }
        }
        if (!hiddenAct.equals("gelu_pytorch_tanh") && !hiddenAct.equals("gelu")) {
            throw new CheckpointException("unsupported vision hidden_act " + hiddenAct);
        }
    }

    @Override
    public int[] deepstackVisualIndexes() {
        return deepstackVisualIndexes.clone();
    }

    /** Per-head width. */
    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Values per patch row: channels · temporal · patch² (1536). */
    public int patchDim() {
        return inChannels * temporalPatchSize * patchSize * patchSize;
    }

    /** Side of the learned position table (48). */
    public int gridPerSide() {
        return (int) Math.round(Math.sqrt(numPositionEmbeddings));
    }

    /** Reads {@code config.json}'s {@code vision_config} object; transformers' defaults for absent keys. */
    public static Qwen3VisionConfig from(JsonObject v) {
        try {
            return new Qwen3VisionConfig(
                    getInt(v, "depth", 27),
                    getInt(v, "hidden_size", 1152),
                    getInt(v, "intermediate_size", 4304),
                    getInt(v, "num_heads", 16),
                    getInt(v, "in_channels", 3),
                    getInt(v, "patch_size", 16),
                    getInt(v, "temporal_patch_size", 2),
                    getInt(v, "spatial_merge_size", 2),
                    getInt(v, "out_hidden_size", 3584),
                    getInt(v, "num_position_embeddings", 2304),
                    intArray(v, "deepstack_visual_indexes", new int[] {8, 16, 24}),
                    v.has("hidden_act") ? v.get("hidden_act").getAsString() : "gelu_pytorch_tanh");
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CheckpointException("invalid Qwen3-VL vision_config: " + e.getMessage(), e);
        }
    }

    private static int getInt(JsonObject o, String key, int fallback) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsInt();
    }

    private static int[] intArray(JsonObject o, String key, int[] fallback) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        JsonArray a = e.getAsJsonArray();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
