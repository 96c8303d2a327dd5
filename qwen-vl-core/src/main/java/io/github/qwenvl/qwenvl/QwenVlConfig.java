package io.github.qwenvl.qwenvl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.CheckpointException;

/**
 * {@code config.json} of an original Qwen-VL / Qwen-VL-Chat checkpoint ({@code QWenLMHeadModel}, configuration_qwen.py).
 *
 * @param hiddenSize            H
 * @param numHeads              attention heads
 * @param kvChannels            head dim
 * @param numLayers             blocks
 * @param intermediateSize      MLP width × 2 (each of w1 / w2 has intermediate_size / 2 outputs)
 * @param vocabSize             embedding rows
 * @param seqLength             training context: dynamic NTK and logN attention start beyond it
 * @param rotaryBase            rotary_emb_base
 * @param rotaryPct             fraction of the head dim that rotates
 * @param layerNormEpsilon      RMSNorm epsilon
 * @param useDynamicNtk         use_dynamic_ntk
 * @param useLognAttn           use_logn_attn
 * @param maxPositionEmbeddings max_position_embeddings
 * @param visual                the {@code visual} block
 */
public record QwenVlConfig(
        int hiddenSize,
        int numHeads,
        int kvChannels,
        int numLayers,
        int intermediateSize,
        int vocabSize,
        int seqLength,
        double rotaryBase,
        double rotaryPct,
        double layerNormEpsilon,
        boolean useDynamicNtk,
        boolean useLognAttn,
        int maxPositionEmbeddings,
        Visual visual) implements io.github.qwenvl.config.ArchitectureConfig {

    /**
     * The {@code visual} block (visual.py VisionTransformer).
     *
     * @param imageSize    input side (448)
     * @param patchSize    conv1 kernel and stride
     * @param width        ViT width
     * @param layers       ViT blocks
     * @param heads        ViT heads
     * @param mlpRatio     ViT MLP width = int(width · mlp_ratio)
     * @param outputDim    resampler / output width (= LLM hidden size)
     * @param imageStartId {@code <img>}; {@code </img>} and {@code <imgpad>} follow it
     * @param nQueries     resampler queries (visual.py default 256)
     */
    public record Visual(int imageSize, int patchSize, int width, int layers, int heads, double mlpRatio, int outputDim,
                         int imageStartId, int nQueries) {

        public int grid() {
            return imageSize / patchSize;
        }

        public int mlpWidth() {
            return (int) (width * mlpRatio);
        }

        /** torch.nn.MultiheadAttention(output_dim, output_dim // 128). */
        public int resamplerHeads() {
            return outputDim / 128;
        }

        public static Visual from(JsonObject v, String where) {
            Visual visual = new Visual(
                    intOr(v, "image_size", 448), intOr(v, "patch_size", 14), required(v, "width", where),
                    required(v, "layers", where), required(v, "heads", where),
                    v.has("mlp_ratio") ? v.get("mlp_ratio").getAsDouble() : 4.9231,
                    required(v, "output_dim", where), required(v, "image_start_id", where), intOr(v, "n_queries", 256));
            if (visual.resamplerHeads() < 1) {
                throw new CheckpointException(where + ": visual.output_dim " + visual.outputDim
                        + " < 128 gives the resampler no attention head (output_dim // 128)");
            }
            if (visual.imageSize % visual.patchSize != 0 || visual.width % visual.heads != 0) {
                throw new CheckpointException(where + ": inconsistent visual block " + v);
            }
            int side = (int) Math.round(Math.sqrt(visual.nQueries));
            if (side * side != visual.nQueries) {
                throw new CheckpointException(where + ": n_queries must be a square, was " + visual.nQueries);
            }
            return visual;
        }
    }

    public int headDim() {
        return kvChannels;
    }

    public int rotaryDim() {
        return (int) (kvChannels * rotaryPct);
    }

    public static QwenVlConfig from(JsonObject c, String where) {
        if (!c.has("visual") || !c.get("visual").isJsonObject()) {
            throw new CheckpointException(where + " lacks the 'visual' block of a Qwen-VL config");
        }
        int hidden = required(c, "hidden_size", where);
        int heads = required(c, "num_attention_heads", where);
        QwenVlConfig config = new QwenVlConfig(
                hidden, heads, intOr(c, "kv_channels", hidden / heads), required(c, "num_hidden_layers", where),
                required(c, "intermediate_size", where), required(c, "vocab_size", where),
                intOr(c, "seq_length", 2048),
                c.has("rotary_emb_base") ? c.get("rotary_emb_base").getAsDouble() : 10000.0,
                c.has("rotary_pct") ? c.get("rotary_pct").getAsDouble() : 1.0,
                c.has("layer_norm_epsilon") ? c.get("layer_norm_epsilon").getAsDouble() : 1e-6,
                bool(c, "use_dynamic_ntk", true), bool(c, "use_logn_attn", true),
                intOr(c, "max_position_embeddings", 8192),
                Visual.from(c.getAsJsonObject("visual"), where));
        if (config.kvChannels * heads != hidden) {
            throw new CheckpointException(where + ": kv_channels × num_attention_heads != hidden_size");
        }
        if (config.visual.outputDim != hidden) {
            throw new CheckpointException(where + ": visual.output_dim " + config.visual.outputDim
                    + " must equal hidden_size " + hidden + " (image embeddings replace token embeddings)");
        }
        return config;
    }

    private static int required(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            throw new CheckpointException(where + " lacks '" + key + "'");
        }
        return e.getAsInt();
    }

    private static int intOr(JsonObject o, String key, int fallback) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsInt();
    }

    private static boolean bool(JsonObject o, String key, boolean fallback) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsBoolean();
    }
}
