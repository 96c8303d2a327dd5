package io.github.qwenvl.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Qwen2-VL / Qwen2.5-VL checkpoint to fabricate with random weights: the published Hugging Face configs of
 * Qwen/Qwen2-VL-2B-Instruct and Qwen/Qwen2.5-VL-3B-Instruct, and tiny ones for CI.
 *
 * @param name              preset name, also the cache folder name
 * @param qwen25            Qwen2.5-VL (RMSNorm + SwiGLU vision blocks, window attention) rather than Qwen2-VL
 * @param hidden            text hidden_size
 * @param intermediate      text intermediate_size
 * @param layers            num_hidden_layers
 * @param heads             num_attention_heads
 * @param kvHeads           num_key_value_heads
 * @param vocab             vocab_size
 * @param tied              tie_word_embeddings (no separate lm_head.weight)
 * @param ropeTheta         rope_theta
 * @param mropeSection      rope_scaling.mrope_section
 * @param maxPositions      max_position_embeddings
 * @param visionDepth       vision_config.depth
 * @param visionDim         vision embed_dim (Qwen2-VL) / hidden_size (Qwen2.5-VL)
 * @param visionHeads       vision_config.num_heads
 * @param visionIntermediate vision MLP width: embed_dim * mlp_ratio (Qwen2-VL) / intermediate_size (Qwen2.5-VL)
 * @param visionOut         merger output: hidden_size (Qwen2-VL) / out_hidden_size (Qwen2.5-VL)
 * @param windowSize        Qwen2.5-VL window_size (pixels)
 * @param fullAttention     Qwen2.5-VL fullatt_block_indexes
 * @param tokenIds          bos, eos, vision_start, vision_end, vision (pad), image, video ids
 * @param tokenizerDir      fixture folder (relative to the fixture root) whose tokenizer files are copied
 * @param tokenizerFiles    the files copied from it
 */
public record Qwen2VlSpec(
        String name,
        boolean qwen25,
        int hidden,
        int intermediate,
        int layers,
        int heads,
        int kvHeads,
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
        int windowSize,
        int[] fullAttention,
        int[] tokenIds,
        String tokenizerDir,
        List<String> tokenizerFiles) implements ModelSpec {

    // PATCH and CHANNELS come from ModelSpec (shared with Qwen-VL); these two are Qwen2-family only
    public static final int TEMPORAL = 2;
    public static final int MERGE = 2;

    private static final int[] REAL_IDS = {151643, 151645, 151652, 151653, 151654, 151655, 151656};
    private static final int[] TINY_IDS = {4096, 4098, 4105, 4106, 4107, 4108, 4109};
    private static final List<String> REAL_TOKENIZER = List.of("tokenizer.json", "tokenizer_config.json");
    private static final List<String> TINY_TOKENIZER =
            List.of("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt");

    /** Qwen/Qwen2-VL-2B-Instruct: 1.54 B text + 0.67 B vision parameters. */
    public static final Qwen2VlSpec QWEN2_VL_2B = new Qwen2VlSpec("qwen2-vl-2b", false,
            1536, 8960, 28, 12, 2, 151936, true, 1_000_000.0, new int[] {16, 24, 24}, 32768,
            32, 1280, 16, 1280 * 4, 1536, 0, new int[0], REAL_IDS, "tokenizer-qwen2", REAL_TOKENIZER);

    /** Qwen/Qwen2.5-VL-3B-Instruct: 3.09 B text + 0.67 B vision parameters. */
    public static final Qwen2VlSpec QWEN2_5_VL_3B = new Qwen2VlSpec("qwen2.5-vl-3b", true,
            2048, 11008, 36, 16, 2, 151936, true, 1_000_000.0, new int[] {16, 24, 24}, 128000,
            32, 1280, 16, 3420, 2048, 112, new int[] {7, 15, 23, 31}, REAL_IDS, "tokenizer-qwen2", REAL_TOKENIZER);

    /** A CI-sized Qwen2-VL: the tiny fixture's shapes and reduced 4160-token vocabulary. */
    public static final Qwen2VlSpec TINY = new Qwen2VlSpec("tiny", false,
            64, 176, 2, 4, 2, 4160, true, 1_000_000.0, new int[] {2, 3, 3}, 32768,
            2, 32, 4, 128, 64, 0, new int[0], TINY_IDS, "qwen2-vl-tiny/model", TINY_TOKENIZER);

    /** A CI-sized Qwen2.5-VL (window attention with one full-attention block). */
    public static final Qwen2VlSpec TINY_25 = new Qwen2VlSpec("tiny-2.5", true,
            64, 176, 2, 4, 2, 4160, true, 1_000_000.0, new int[] {2, 3, 3}, 128000,
            2, 32, 4, 80, 64, 112, new int[] {1}, TINY_IDS, "qwen2-vl-tiny/model", TINY_TOKENIZER);

    public int headDim() {
        return hidden / heads;
    }

    /** Qwen2-VL / Qwen2.5-VL (the engine's Qwen2 path: Java decode, decode-mode sweep). */
    @Override
    public boolean qwen2Family() {
        return true;
    }

    /**
     * Patches of a width × height image: each side rounded to a multiple of patch × merge (28 px), at least one
     * (the processor's smart resize without its min/max-pixel clamps).
     */
    @Override
    public long visionPatches(int width, int height) {
        int factor = PATCH * MERGE;
        long h = Math.max(factor, Math.round(height / (double) factor) * factor);
        long w = Math.max(factor, Math.round(width / (double) factor) * factor);
        return (h / PATCH) * (w / PATCH);
    }

    /**
     * 2 × multiply-adds of the vision tower's matrix products for one image of gridW × gridH patches: patch
     * embedding, per block q/k/v, scores and weighted sum (whole image, or 112-px windows of at most 64 patches
     * in Qwen2.5-VL's windowed blocks: an upper bound where edge windows are smaller), projection and MLP,
     * then the merger. Elementwise work (norms, softmax, activations, rotary) is not counted.
     */
    @Override
    public double visionFlops(int gridW, int gridH) {
        double p = (double) gridW * gridH;
        double d = visionDim;
        double flops = 2 * p * CHANNELS * TEMPORAL * PATCH * PATCH * d;
        int windowPatches = windowSize > 0 ? (windowSize / PATCH) * (windowSize / PATCH) : 0;
        for (int b = 0; b < visionDepth; b++) {
            int block = b;
            boolean full = !qwen25 || java.util.Arrays.stream(fullAttention).anyMatch(i -> i == block);
            double segment = full ? p : Math.min(p, windowPatches);
            flops += 2 * p * d * 3 * d + 2 * p * d * d + 4 * p * segment * d;
            flops += 2 * p * d * visionIntermediate * (qwen25 ? 3 : 2);
        }
        double merged = d * MERGE * MERGE;
        flops += 2 * (p / (MERGE * MERGE)) * merged * (merged + visionOut);
        return flops;
    }

    /** Every tensor of the published layout, in a stable order. */
    @Override
    public List<Tensor> tensors() {
        List<Tensor> t = new ArrayList<>();
        long h = hidden;
        long q = (long) heads * headDim();
        long kv = (long) kvHeads * headDim();
        t.add(new Tensor("model.embed_tokens.weight", new long[] {vocab, h}, Fill.NORMAL));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            t.add(new Tensor(p + "input_layernorm.weight", new long[] {h}, Fill.ONES));
            t.add(new Tensor(p + "self_attn.q_proj.weight", new long[] {q, h}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.q_proj.bias", new long[] {q}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.k_proj.weight", new long[] {kv, h}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.k_proj.bias", new long[] {kv}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.v_proj.weight", new long[] {kv, h}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.v_proj.bias", new long[] {kv}, Fill.NORMAL));
            t.add(new Tensor(p + "self_attn.o_proj.weight", new long[] {h, q}, Fill.NORMAL));
            t.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {h}, Fill.ONES));
            t.add(new Tensor(p + "mlp.gate_proj.weight", new long[] {intermediate, h}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.up_proj.weight", new long[] {intermediate, h}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.down_proj.weight", new long[] {h, intermediate}, Fill.NORMAL));
        }
        t.add(new Tensor("model.norm.weight", new long[] {h}, Fill.ONES));
        if (!tied) {
            t.add(new Tensor("lm_head.weight", new long[] {vocab, h}, Fill.NORMAL));
        }
        long d = visionDim;
        long i = visionIntermediate;
        t.add(new Tensor("visual.patch_embed.proj.weight", new long[] {d, CHANNELS, TEMPORAL, PATCH, PATCH}, Fill.NORMAL));
        for (int b = 0; b < visionDepth; b++) {
            String p = "visual.blocks." + b + ".";
            t.add(new Tensor(p + "norm1.weight", new long[] {d}, Fill.ONES));
            if (!qwen25) {
                t.add(new Tensor(p + "norm1.bias", new long[] {d}, Fill.ZEROS));
            }
            t.add(new Tensor(p + "norm2.weight", new long[] {d}, Fill.ONES));
            if (!qwen25) {
                t.add(new Tensor(p + "norm2.bias", new long[] {d}, Fill.ZEROS));
            }
            t.add(new Tensor(p + "attn.qkv.weight", new long[] {3 * d, d}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.qkv.bias", new long[] {3 * d}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.proj.weight", new long[] {d, d}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.proj.bias", new long[] {d}, Fill.NORMAL));
            if (qwen25) {
                t.add(new Tensor(p + "mlp.gate_proj.weight", new long[] {i, d}, Fill.NORMAL));
                t.add(new Tensor(p + "mlp.gate_proj.bias", new long[] {i}, Fill.NORMAL));
                t.add(new Tensor(p + "mlp.up_proj.weight", new long[] {i, d}, Fill.NORMAL));
                t.add(new Tensor(p + "mlp.up_proj.bias", new long[] {i}, Fill.NORMAL));
                t.add(new Tensor(p + "mlp.down_proj.weight", new long[] {d, i}, Fill.NORMAL));
                t.add(new Tensor(p + "mlp.down_proj.bias", new long[] {d}, Fill.NORMAL));
            } else {
                t.add(new Tensor(p + "mlp.fc1.weight", new long[] {i, d}, Fill.NORMAL));
                t.add(new Tensor(p + "mlp.fc1.bias", new long[] {i}, Fill.NORMAL));
                t.add(new Tensor(p + "mlp.fc2.weight", new long[] {d, i}, Fill.NORMAL));
                t.add(new Tensor(p + "mlp.fc2.bias", new long[] {d}, Fill.NORMAL));
            }
        }
        long merged = d * MERGE * MERGE;
        t.add(new Tensor("visual.merger.ln_q.weight", new long[] {d}, Fill.ONES));
        if (!qwen25) {
            t.add(new Tensor("visual.merger.ln_q.bias", new long[] {d}, Fill.ZEROS));
        }
        t.add(new Tensor("visual.merger.mlp.0.weight", new long[] {merged, merged}, Fill.NORMAL));
        t.add(new Tensor("visual.merger.mlp.0.bias", new long[] {merged}, Fill.NORMAL));
        t.add(new Tensor("visual.merger.mlp.2.weight", new long[] {visionOut, merged}, Fill.NORMAL));
        t.add(new Tensor("visual.merger.mlp.2.bias", new long[] {visionOut}, Fill.NORMAL));
        return t;
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

    /** config.json as the published checkpoints spell it (vision defaults written out explicitly). */
    @Override
    public JsonObject configJson() {
        JsonObject c = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add(qwen25 ? "Qwen2_5_VLForConditionalGeneration" : "Qwen2VLForConditionalGeneration");
        c.add("architectures", arch);
        c.addProperty("attention_dropout", 0.0);
        c.addProperty("bos_token_id", tokenIds[0]);
        c.addProperty("eos_token_id", tokenIds[1]);
        c.addProperty("vision_start_token_id", tokenIds[2]);
        c.addProperty("vision_end_token_id", tokenIds[3]);
        c.addProperty("vision_token_id", tokenIds[4]);
        c.addProperty("image_token_id", tokenIds[5]);
        c.addProperty("video_token_id", tokenIds[6]);
        c.addProperty("hidden_act", "silu");
        c.addProperty("hidden_size", hidden);
        c.addProperty("initializer_range", 0.02);
        c.addProperty("intermediate_size", intermediate);
        c.addProperty("max_position_embeddings", maxPositions);
        c.addProperty("max_window_layers", layers);
        c.addProperty("model_type", qwen25 ? "qwen2_5_vl" : "qwen2_vl");
        c.addProperty("num_attention_heads", heads);
        c.addProperty("num_hidden_layers", layers);
        c.addProperty("num_key_value_heads", kvHeads);
        c.addProperty("rms_norm_eps", 1e-6);
        c.addProperty("rope_theta", ropeTheta);
        c.addProperty("sliding_window", 32768);
        c.addProperty("tie_word_embeddings", tied);
        c.addProperty("torch_dtype", "bfloat16");
        c.addProperty("use_cache", true);
        c.addProperty("use_sliding_window", false);
        JsonObject v = new JsonObject();
        v.addProperty("depth", visionDepth);
        if (qwen25) {
            v.addProperty("hidden_act", "silu");
            v.addProperty("hidden_size", visionDim);
            v.addProperty("intermediate_size", visionIntermediate);
            v.addProperty("out_hidden_size", visionOut);
            v.addProperty("window_size", windowSize);
            JsonArray full = new JsonArray();
            for (int b : fullAttention) {
                full.add(b);
            }
            v.add("fullatt_block_indexes", full);
            v.addProperty("tokens_per_second", 2);
        } else {
            v.addProperty("embed_dim", visionDim);
            v.addProperty("mlp_ratio", visionIntermediate / visionDim);
            v.addProperty("hidden_size", visionOut);
        }
        v.addProperty("num_heads", visionHeads);
        v.addProperty("in_chans", CHANNELS);
        v.addProperty("patch_size", PATCH);
        v.addProperty("spatial_merge_size", MERGE);
        v.addProperty("spatial_patch_size", PATCH);
        v.addProperty("temporal_patch_size", TEMPORAL);
        c.add("vision_config", v);
        JsonObject rope = new JsonObject();
        rope.addProperty("type", "mrope");
        JsonArray section = new JsonArray();
        for (int s : mropeSection) {
            section.add(s);
        }
        rope.add("mrope_section", section);
        c.add("rope_scaling", rope);
        c.addProperty("vocab_size", vocab);
        return c;
    }

    /** generation_config.json of the Instruct checkpoints (greedy-like defaults; the benchmark overrides them). */
    public JsonObject generationConfigJson() {
        JsonObject g = new JsonObject();
        g.addProperty("bos_token_id", tokenIds[0]);
        g.addProperty("pad_token_id", tokenIds[0]);
        g.addProperty("do_sample", true);
        JsonArray eos = new JsonArray();
        eos.add(tokenIds[1]);
        eos.add(tokenIds[0]);
        g.add("eos_token_id", eos);
        g.addProperty("repetition_penalty", 1.0);
        g.addProperty("temperature", 0.01);
        g.addProperty("top_k", 1);
        g.addProperty("top_p", 0.001);
        return g;
    }

    /** preprocessor_config.json of the published checkpoints (CLIP mean/std, 3136..12845056 pixels). */
    public JsonObject preprocessorConfigJson() {
        JsonObject p = new JsonObject();
        p.addProperty("min_pixels", 3136);
        p.addProperty("max_pixels", 12845056);
        p.addProperty("patch_size", PATCH);
        p.addProperty("temporal_patch_size", TEMPORAL);
        p.addProperty("merge_size", MERGE);
        JsonArray mean = new JsonArray();
        mean.add(0.48145466);
        mean.add(0.4578275);
        mean.add(0.40821073);
        JsonArray std = new JsonArray();
        std.add(0.26862954);
        std.add(0.26130258);
        std.add(0.27577711);
        p.add("image_mean", mean);
        p.add("image_std", std);
        p.addProperty("image_processor_type", "Qwen2VLImageProcessor");
        p.addProperty("processor_class", qwen25 ? "Qwen2_5_VLProcessor" : "Qwen2VLProcessor");
        return p;
    }
}
