package io.github.qwenvl.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Qwen3-VL (dense) checkpoint to fabricate with random weights: the published Hugging Face layout of
 * Qwen/Qwen3-VL-2B-Instruct ({@code Qwen3VLForConditionalGeneration}, {@code model_type "qwen3_vl"}: nested
 * {@code text_config} / {@code vision_config}, tensors under {@code model.language_model.} and {@code model.visual.}),
 * and a CI-sized one with the shared tiny fixture's dimensions.
 *
 * <p>Decoder: Qwen3 layers (no attention biases, explicit head_dim, per-head q/k RMSNorm), interleaved M-RoPE.
 * Vision: 16-px patches × 2 frames (Conv3d with bias), a learned square position table, LayerNorm blocks with
 * tanh-GELU MLPs, the merger (LayerNorm before the 2 × 2 shuffle) and one DeepStack merger (LayerNorm after the
 * shuffle) per {@code deepstack_visual_indexes} entry.
 *
 * @param name                  preset name, also the cache folder name
 * @param hidden                text hidden_size
 * @param intermediate          text intermediate_size
 * @param layers                text num_hidden_layers
 * @param heads                 text num_attention_heads
 * @param kvHeads               text num_key_value_heads
 * @param headDim               text head_dim (heads · headDim need not equal hidden)
 * @param vocab                 vocab_size
 * @param tied                  tie_word_embeddings (no separate lm_head.weight)
 * @param ropeTheta             rope_theta
 * @param mropeSection          rope_scaling.mrope_section (interleaved)
 * @param maxPositions          max_position_embeddings
 * @param visionDepth           vision_config.depth
 * @param visionDim             vision_config.hidden_size
 * @param visionHeads           vision_config.num_heads
 * @param visionIntermediate    vision_config.intermediate_size
 * @param visionOut             vision_config.out_hidden_size (= hidden)
 * @param positionEmbeddings    vision_config.num_position_embeddings (a square table)
 * @param deepstack             vision_config.deepstack_visual_indexes
 * @param tokenIds              bos (= pad), eos, vision_start, vision_end, image, video ids
 * @param tokenizerDir          fixture folder (relative to the fixture root) whose tokenizer files are copied
 * @param tokenizerFiles        the files copied from it
 * @param minPixels             preprocessor size.shortest_edge
 * @param maxPixels             preprocessor size.longest_edge
 */
public record Qwen3VlSpec(
        String name,
        int hidden,
        int intermediate,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int vocab,
        boolean tied,
        double ropeTheta,
        int[] mropeSection,
        int maxPositions,
        int visionDepth,
        int visionDim,
        int visionHeads,
        int visionIntermediate,
        int visionOut,
        int positionEmbeddings,
        int[] deepstack,
        int[] tokenIds,
        String tokenizerDir,
        List<String> tokenizerFiles,
        int minPixels,
        int maxPixels) implements ModelSpec {

    /** Qwen3-VL's patch side in pixels (Qwen2-VL's is {@link ModelSpec#PATCH}). */
    public static final int PATCH_16 = 16;
    public static final int TEMPORAL = 2;
    public static final int MERGE = 2;

    // the real Qwen2 / Qwen3 vocabulary's ids: <|endoftext|>, <|im_end|>, <|vision_start|>, <|vision_end|>,
    // <|image_pad|>, <|video_pad|>
    private static final int[] REAL_IDS = {151643, 151645, 151652, 151653, 151655, 151656};
    private static final int[] TINY_IDS = {4096, 4098, 4105, 4106, 4108, 4109};
    private static final List<String> REAL_TOKENIZER = List.of("tokenizer.json", "tokenizer_config.json");
    private static final List<String> TINY_TOKENIZER =
            List.of("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt");

    /**
     * Qwen/Qwen3-VL-2B-Instruct as published: a Qwen3-1.7B-shaped decoder (2048 wide, 28 layers, 16 heads × 128,
     * 8 kv heads, MLP 6144, tied embeddings, θ 5e6, mrope_section [24, 20, 20] interleaved) and a 24-block ViT
     * (1024 wide, 16 heads, MLP 4096, 48 × 48 position table, DeepStack from blocks 5, 11, 17, merged to 2048).
     * The tokenizer files are the real Qwen2 vocabulary's (the same byte-level BPE and vision token ids; Qwen3 adds
     * four non-special tokens that no benchmark prompt uses).
     */
    public static final Qwen3VlSpec QWEN3_VL_2B = new Qwen3VlSpec("qwen3-vl-2b",
            2048, 6144, 28, 16, 8, 128, 151936, true, 5_000_000.0, new int[] {24, 20, 20}, 262144,
            24, 1024, 16, 4096, 2048, 2304, new int[] {5, 11, 17}, REAL_IDS, "tokenizer-qwen2", REAL_TOKENIZER,
            65536, 16777216);

    /** A CI-sized Qwen3-VL: the shared tiny fixture's shapes (untied head, DeepStack from blocks 1, 3, 4). */
    public static final Qwen3VlSpec TINY = new Qwen3VlSpec("tiny-qwen3-vl",
            64, 192, 4, 4, 2, 32, 4160, false, 5_000_000.0, new int[] {6, 5, 5}, 262144,
            6, 64, 4, 160, 64, 256, new int[] {1, 3, 4}, TINY_IDS, "qwen3-vl-tiny/model", TINY_TOKENIZER,
            8192, 65536);

    @Override
    public boolean qwen2Family() {
        return false;
    }

    /** The Qwen3 decoder runs on the shared Qwen2-style decoder: Java decode, the decode-mode sweep, float32 copies. */
    @Override
    public boolean qwen2Decoder() {
        return true;
    }

    @Override
    public boolean qwen25() {
        return false;
    }

    @Override
    public int patch() {
        return PATCH_16;
    }

    @Override
    public int windowSize() {
        return 0;
    }

    @Override
    public int[] fullAttention() {
        return new int[0];
    }

    /**
     * Patches of a width × height image: each side rounded to a multiple of patch × merge (32 px), at least one
     * (the processor's smart resize without its pixel-count clamps).
     */
    @Override
    public long visionPatches(int width, int height) {
        int factor = PATCH_16 * MERGE;
        long h = Math.max(factor, Math.round(height / (double) factor) * factor);
        long w = Math.max(factor, Math.round(width / (double) factor) * factor);
        return (h / PATCH_16) * (w / PATCH_16);
    }

    /**
     * 2 × multiply-adds of the vision tower's matrix products for one image of gridW × gridH patches: patch
     * embedding, per block q/k/v, scores and weighted sum over the whole image, projection and MLP, then the merger
     * and each DeepStack merger (4D → 4D → out). The position-table interpolation and elementwise work are not
     * counted.
     */
    @Override
    public double visionFlops(int gridW, int gridH) {
        double p = (double) gridW * gridH;
        double d = visionDim;
        double flops = 2 * p * CHANNELS * TEMPORAL * PATCH_16 * PATCH_16 * d;
        for (int b = 0; b < visionDepth; b++) {
            flops += 2 * p * d * 3 * d + 2 * p * d * d + 4 * p * p * d;
            flops += 2 * p * d * visionIntermediate * 2;
        }
        double merged = d * MERGE * MERGE;
        flops += (1 + deepstack.length) * 2 * (p / (MERGE * MERGE)) * merged * (merged + visionOut);
        return flops;
    }

    /** Every tensor of the published layout, in a stable order. */
    @Override
    public List<Tensor> tensors() {
        List<Tensor> t = new ArrayList<>();
        long h = hidden;
        long q = (long) heads * headDim;
        long kv = (long) kvHeads * headDim;
        String lm = "model.language_model.";
        t.add(new Tensor(lm + "embed_tokens.weight", new long[] {vocab, h}, Fill.NORMAL));
        for (int l = 0; l < layers; l++) {
            String p = lm + "layers." + l + ".";
            t.add(new Tensor(p + "input_layernorm.weight", new long[] {h}, Fill.ONES));
            t.add(new Tensor(p + "self_attn.q_proj.weight", new long[] {q, h}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.k_proj.weight", new long[] {kv, h}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.v_proj.weight", new long[] {kv, h}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.o_proj.weight", new long[] {h, q}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.q_norm.weight", new long[] {headDim}, Fill.ONES));
            t.add(new Tensor(p + "self_attn.k_norm.weight", new long[] {headDim}, Fill.ONES));
            t.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {h}, Fill.ONES));
            t.add(new Tensor(p + "mlp.gate_proj.weight", new long[] {intermediate, h}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.up_proj.weight", new long[] {intermediate, h}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.down_proj.weight", new long[] {h, intermediate}, Fill.NORMAL));
        }
        t.add(new Tensor(lm + "norm.weight", new long[] {h}, Fill.ONES));
        if (!tied) {
            t.add(new Tensor("lm_head.weight", new long[] {vocab, h}, Fill.NORMAL));
        }
        long d = visionDim;
        long i = visionIntermediate;
        String v = "model.visual.";
        t.add(new Tensor(v + "patch_embed.proj.weight",
                new long[] {d, CHANNELS, TEMPORAL, PATCH_16, PATCH_16}, Fill.NORMAL));
        t.add(new Tensor(v + "patch_embed.proj.bias", new long[] {d}, Fill.NORMAL));
        t.add(new Tensor(v + "pos_embed.weight", new long[] {positionEmbeddings, d}, Fill.NORMAL));
        for (int b = 0; b < visionDepth; b++) {
            String p = v + "blocks." + b + ".";
            t.add(new Tensor(p + "norm1.weight", new long[] {d}, Fill.ONES));
            t.add(new Tensor(p + "norm1.bias", new long[] {d}, Fill.ZEROS));
            t.add(new Tensor(p + "norm2.weight", new long[] {d}, Fill.ONES));
            t.add(new Tensor(p + "norm2.bias", new long[] {d}, Fill.ZEROS));
            t.add(new Tensor(p + "attn.qkv.weight", new long[] {3 * d, d}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.qkv.bias", new long[] {3 * d}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.proj.weight", new long[] {d, d}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.proj.bias", new long[] {d}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.linear_fc1.weight", new long[] {i, d}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.linear_fc1.bias", new long[] {i}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.linear_fc2.weight", new long[] {d, i}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.linear_fc2.bias", new long[] {d}, Fill.NORMAL));
        }
        long merged = d * MERGE * MERGE;
        // the merger normalises each patch (D) before the 2x2 shuffle, the DeepStack mergers the shuffled row (4D)
        addMerger(t, v + "merger.", d, merged);
        for (int j = 0; j < deepstack.length; j++) {
            addMerger(t, v + "deepstack_merger_list." + j + ".", merged, merged);
        }
        return t;
    }

    private void addMerger(List<Tensor> t, String p, long norm, long merged) {
        t.add(new Tensor(p + "norm.weight", new long[] {norm}, Fill.ONES));
        t.add(new Tensor(p + "norm.bias", new long[] {norm}, Fill.ZEROS));
        t.add(new Tensor(p + "linear_fc1.weight", new long[] {merged, merged}, Fill.NORMAL));
        t.add(new Tensor(p + "linear_fc1.bias", new long[] {merged}, Fill.NORMAL));
        t.add(new Tensor(p + "linear_fc2.weight", new long[] {visionOut, merged}, Fill.NORMAL));
        t.add(new Tensor(p + "linear_fc2.bias", new long[] {visionOut}, Fill.NORMAL));
    }

    /** config.json, generation_config.json and preprocessor_config.json, as the published checkpoints have them. */
    @Override
    public Map<String, JsonObject> jsonFiles() {
        Map<String, JsonObject> files = new LinkedHashMap<>();
        files.put("config.json", configJson());
        files.put("generation_config.json", generationConfigJson());
        files.put("preprocessor_config.json", preprocessorConfigJson());
        return files;
    }

    /** config.json in the published key layout (transformers 4.57's spelling: rope_scaling + rope_theta). */
    @Override
    public JsonObject configJson() {
        JsonObject c = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add("Qwen3VLForConditionalGeneration");
        c.add("architectures", arch);
        c.addProperty("image_token_id", tokenIds[4]);
        c.addProperty("model_type", "qwen3_vl");
        JsonObject t = new JsonObject();
        t.addProperty("attention_bias", false);
        t.addProperty("attention_dropout", 0.0);
        t.addProperty("bos_token_id", tokenIds[0]);
        t.addProperty("dtype", "bfloat16");
        t.addProperty("eos_token_id", tokenIds[1]);
        t.addProperty("head_dim", headDim);
        t.addProperty("hidden_act", "silu");
        t.addProperty("hidden_size", hidden);
        t.addProperty("initializer_range", 0.02);
        t.addProperty("intermediate_size", intermediate);
        t.addProperty("max_position_embeddings", maxPositions);
        t.addProperty("model_type", "qwen3_vl_text");
        t.addProperty("num_attention_heads", heads);
        t.addProperty("num_hidden_layers", layers);
        t.addProperty("num_key_value_heads", kvHeads);
        t.addProperty("rms_norm_eps", 1e-6);
        JsonObject rope = new JsonObject();
        rope.addProperty("mrope_interleaved", true);
        rope.add("mrope_section", ints(mropeSection));
        rope.addProperty("rope_type", "default");
        t.add("rope_scaling", rope);
        t.addProperty("rope_theta", ropeTheta);
        t.addProperty("tie_word_embeddings", tied);
        t.addProperty("use_cache", true);
        t.addProperty("vocab_size", vocab);
        c.add("text_config", t);
        c.addProperty("tie_word_embeddings", tied);
        c.addProperty("video_token_id", tokenIds[5]);
        JsonObject v = new JsonObject();
        v.add("deepstack_visual_indexes", ints(deepstack));
        v.addProperty("depth", visionDepth);
        v.addProperty("hidden_act", "gelu_pytorch_tanh");
        v.addProperty("hidden_size", visionDim);
        v.addProperty("in_channels", CHANNELS);
        v.addProperty("initializer_range", 0.02);
        v.addProperty("intermediate_size", visionIntermediate);
        v.addProperty("model_type", "qwen3_vl");
        v.addProperty("num_heads", visionHeads);
        v.addProperty("num_position_embeddings", positionEmbeddings);
        v.addProperty("out_hidden_size", visionOut);
        v.addProperty("patch_size", PATCH_16);
        v.addProperty("spatial_merge_size", MERGE);
        v.addProperty("temporal_patch_size", TEMPORAL);
        c.add("vision_config", v);
        c.addProperty("vision_end_token_id", tokenIds[3]);
        c.addProperty("vision_start_token_id", tokenIds[2]);
        return c;
    }

    /** generation_config.json of the Instruct checkpoints (sampling defaults; the benchmark forces greedy). */
    public JsonObject generationConfigJson() {
        JsonObject g = new JsonObject();
        g.addProperty("bos_token_id", tokenIds[0]);
        g.addProperty("pad_token_id", tokenIds[0]);
        g.addProperty("do_sample", true);
        JsonArray eos = new JsonArray();
        eos.add(tokenIds[1]);
        eos.add(tokenIds[0]);
        g.add("eos_token_id", eos);
        g.addProperty("top_k", 20);
        g.addProperty("top_p", 0.8);
        g.addProperty("repetition_penalty", 1.0);
        g.addProperty("temperature", 0.7);
        return g;
    }

    /** preprocessor_config.json of the published checkpoints (mean / std 0.5, pixel bounds in {@code size}). */
    public JsonObject preprocessorConfigJson() {
        JsonObject p = new JsonObject();
        JsonObject size = new JsonObject();
        size.addProperty("longest_edge", maxPixels);
        size.addProperty("shortest_edge", minPixels);
        p.add("size", size);
        p.addProperty("patch_size", PATCH_16);
        p.addProperty("temporal_patch_size", TEMPORAL);
        p.addProperty("merge_size", MERGE);
        JsonArray half = new JsonArray();
        half.add(0.5);
        half.add(0.5);
        half.add(0.5);
        p.add("image_mean", half);
        p.add("image_std", half.deepCopy());
        p.addProperty("processor_class", "Qwen3VLProcessor");
        p.addProperty("image_processor_type", "Qwen2VLImageProcessorFast");
        return p;
    }

    private static JsonArray ints(int[] values) {
        JsonArray a = new JsonArray();
        for (int x : values) {
            a.add(x);
        }
        return a;
    }
}
