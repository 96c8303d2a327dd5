package io.github.qwenvl.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An original Qwen-VL / Qwen-VL-Chat checkpoint ({@code QWenLMHeadModel}, {@code model_type "qwen"}) to fabricate with
 * random weights: a Qwen-7B-style decoder (fused {@code c_attn}, SwiGLU MLP of two intermediate_size / 2 branches,
 * RMSNorm, untied {@code lm_head}) and a ViT with a 256-query cross-attention resampler ({@code transformer.visual}),
 * tensor names and config keys as the published remote code has them ({@code QwenVlWeights} and
 * {@code QwenVlConfig} read exactly these).
 *
 * <p>Every image is squashed to image_size² (448²), so the vision tower always sees the same 32 × 32 patch grid and
 * gives 256 embeddings, whatever the input size.
 *
 * @param name           preset name, also the cache folder name
 * @param hidden         hidden_size (= visual.output_dim: image embeddings replace token embeddings)
 * @param heads          num_attention_heads
 * @param kvChannels     kv_channels (head dim; hidden = heads · kvChannels)
 * @param layers         num_hidden_layers
 * @param intermediate   intermediate_size as config.json spells it: w1 and w2 each have intermediate / 2 outputs
 * @param vocab          vocab_size (embedding and lm_head rows; more than the tokenizer's ids, padding included)
 * @param visionWidth    visual.width
 * @param visionLayers   visual.layers
 * @param visionHeads    visual.heads
 * @param visionMlpRatio visual.mlp_ratio (MLP width = int(width · mlp_ratio), as visual.py computes it)
 * @param imageStartId   visual.image_start_id: {@code <img>}, i.e. the tokenizer's ranks + 214
 * @param endOfText      {@code <|endoftext|>} = the number of ranks in qwen.tiktoken (eos and pad of generation_config)
 * @param tokenizerDir   fixture folder (relative to the fixture root) whose qwen.tiktoken and tokenizer_config.json are copied
 */
public record QwenVlSpec(
        String name,
        int hidden,
        int heads,
        int kvChannels,
        int layers,
        int intermediate,
        int vocab,
        int visionWidth,
        int visionLayers,
        int visionHeads,
        double visionMlpRatio,
        int imageStartId,
        int endOfText,
        String tokenizerDir) implements ModelSpec {

    /** visual.image_size: the side every image is resized to (both presets, as published). */
    public static final int IMAGE_SIZE = 448;
    /** Resampler queries (visual.py's n_queries default; not in config.json). */
    public static final int QUERIES = 256;
    /** visual.py stores positional_embedding for a 16 × 16 grid (256 rows) and resizes it to the patch grid. */
    public static final int POSITIONAL_ROWS = 256;
    private static final List<String> TOKENIZER_FILES = List.of("qwen.tiktoken", "tokenizer_config.json");

    /**
     * Qwen/Qwen-VL-Chat as published (config.json of the Hugging Face repo): 9 656 935 168 parameters, text
     * 7 721 324 544 (Qwen-7B) + vision 1 935 610 624 (ViT-bigG-style 48 × 1664 + resampler). Not a preset: 19.3 GB
     * of BF16 and 38.6 GB once the engine holds it in float32 — see {@link #QWEN_VL_CHAT_REDUCED}.
     */
    public static final QwenVlSpec QWEN_VL_CHAT = new QwenVlSpec("qwen-vl-chat",
            4096, 32, 128, 32, 22016, 151936, 1664, 48, 16, 4.9231, 151857, 151643, "tokenizer-qwen-vl/model");

    /**
     * Qwen-VL-Chat's real widths at reduced depth, so it fits a 24 GiB machine in float32: text 4 of 32 layers,
     * vision 12 of 48 blocks; everything else published (hidden 4096, 32 heads × 128, MLP 2 × 11008, vocab 151936
     * with the untied lm_head, ViT width 1664 / 16 heads / MLP 8192, 448² images, 256-query resampler to 4096), and
     * the real tokenizer (special ids from 151643, {@code <img>} 151857).
     *
     * <p>2 608 834 816 parameters: text 2 054 246 400 (wte and lm_head 622 329 856 each, 202 395 648 per layer,
     * ln_f 4 096) + vision 554 588 416 (38 361 728 per block; resampler, ln_post and proj 92 839 936; conv1,
     * positional embedding and ln_pre 1 407 744). 5.22 GB of BF16 safetensors, 10.4 GB (9.7 GiB) held in float32.
     *
     * <p>Per-layer and per-block times scale by depth: a full model's decoder costs ≈ 8 × the 4 layers (plus the
     * same embedding and LM head), its ViT ≈ 4 × the 12 blocks (plus the same resampler).
     */
    public static final QwenVlSpec QWEN_VL_CHAT_REDUCED = QWEN_VL_CHAT.withDepth("qwen-vl-chat-reduced", 4, 12);

    /**
     * CI-sized: the dimensions of the tiny fixture {@code fixtures/qwen-vl-tiny/model/config.json} (hidden 128 = the
     * smallest output_dim with a resampler head, 2 layers; ViT 32 wide, 2 blocks) and its reduced tokenizer (4096
     * ranks, so {@code <|endoftext|>} 4096 and {@code <img>} 4310, 4480 embedding rows). 1 752 634 parameters.
     */
    public static final QwenVlSpec TINY = new QwenVlSpec("tiny-qwen-vl",
            128, 4, 32, 2, 688, 4480, 32, 2, 4, 4.9231, 4310, 4096, "qwen-vl-tiny/model");

    /** The same widths with another depth (text layers, vision blocks). */
    public QwenVlSpec withDepth(String newName, int newLayers, int newVisionLayers) {
        return new QwenVlSpec(newName, hidden, heads, kvChannels, newLayers, intermediate, vocab, visionWidth,
                newVisionLayers, visionHeads, visionMlpRatio, imageStartId, endOfText, tokenizerDir);
    }

    /** Width of each MLP branch (w1, w2): modeling_qwen.py builds them with intermediate_size // 2. */
    public int ffn() {
        return intermediate / 2;
    }

    /** Vision MLP width: int(width · mlp_ratio), 8192 for 1664 · 4.9231. */
    public int visionMlp() {
        return (int) (visionWidth * visionMlpRatio);
    }

    /** Patch grid side: image_size / patch_size. */
    public int grid() {
        return IMAGE_SIZE / PATCH;
    }

    @Override
    public List<String> tokenizerFiles() {
        return TOKENIZER_FILES;
    }

    /** Qwen-VL runs on the engine's own path (no Java decode, no decode-mode sweep). */
    @Override
    public boolean qwen2Family() {
        return false;
    }

    @Override
    public boolean qwen25() {
        return false;
    }

    /** Every block attends to the whole image. */
    @Override
    public int windowSize() {
        return 0;
    }

    @Override
    public int[] fullAttention() {
        return new int[0];
    }

    /** Always grid² (1024): the image is squashed to 448² whatever its size. */
    @Override
    public long visionPatches(int width, int height) {
        return (long) grid() * grid();
    }

    /**
     * The tower's matrix products for one image on its fixed grid² patches (the arguments are ignored: every image
     * is resized to image_size²): conv1, per block in_proj / scores / weighted sum / out_proj / c_fc / c_proj, then
     * the resampler's kv_proj, key and value projections (N rows), scores and weighted sum (256 queries × N),
     * out_proj and the final {@code @ proj}. The resampler's query projection is left out: the engine computes it
     * once at load (it does not depend on the image).
     */
    @Override
    public double visionFlops(int gridW, int gridH) {
        double n = visionPatches(IMAGE_SIZE, IMAGE_SIZE);
        double w = visionWidth;
        double e = hidden;
        double q = QUERIES;
        double flops = 2 * n * CHANNELS * PATCH * PATCH * w;
        double block = 2 * n * w * 3 * w + 4 * n * n * w + 2 * n * w * w + 2 * 2 * n * w * visionMlp();
        flops += visionLayers * block;
        flops += 2 * n * w * e + 2 * 2 * n * e * e + 4 * q * n * e + 2 * 2 * q * e * e;
        return flops;
    }

    /** Every tensor of a published Qwen-VL checkpoint: decoder, visual encoder, resampler, lm_head. */
    @Override
    public List<Tensor> tensors() {
        List<Tensor> t = new ArrayList<>();
        long h = hidden;
        long f = ffn();
        t.add(new Tensor("transformer.wte.weight", new long[] {vocab, h}, Fill.NORMAL));          // (vocab, hidden)
        for (int l = 0; l < layers; l++) {
            String p = "transformer.h." + l + ".";
            t.add(new Tensor(p + "ln_1.weight", new long[] {h}, Fill.ONES));                     // RMSNorm, no bias
            t.add(new Tensor(p + "attn.c_attn.weight", new long[] {3 * h, h}, Fill.NORMAL));     // (q | k | v, hidden)
            t.add(new Tensor(p + "attn.c_attn.bias", new long[] {3 * h}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.c_proj.weight", new long[] {h, h}, Fill.NORMAL));         // no bias (no_bias)
            t.add(new Tensor(p + "ln_2.weight", new long[] {h}, Fill.ONES));
            t.add(new Tensor(p + "mlp.w1.weight", new long[] {f, h}, Fill.NORMAL));              // (ffn, hidden): up
            t.add(new Tensor(p + "mlp.w2.weight", new long[] {f, h}, Fill.NORMAL));              // (ffn, hidden): gate
            t.add(new Tensor(p + "mlp.c_proj.weight", new long[] {h, f}, Fill.NORMAL));          // (hidden, ffn)
        }
        t.add(new Tensor("transformer.ln_f.weight", new long[] {h}, Fill.ONES));

        String v = "transformer.visual.";
        long w = visionWidth;
        long m = visionMlp();
        long e = hidden; // visual.output_dim
        t.add(new Tensor(v + "conv1.weight", new long[] {w, CHANNELS, PATCH, PATCH}, Fill.NORMAL)); // no bias
        t.add(new Tensor(v + "positional_embedding", new long[] {POSITIONAL_ROWS, w}, Fill.NORMAL)); // (16·16, width)
        t.add(new Tensor(v + "ln_pre.weight", new long[] {w}, Fill.ONES));
        t.add(new Tensor(v + "ln_pre.bias", new long[] {w}, Fill.ZEROS));
        for (int b = 0; b < visionLayers; b++) {
            String p = v + "transformer.resblocks." + b + ".";
            t.add(new Tensor(p + "ln_1.weight", new long[] {w}, Fill.ONES));
            t.add(new Tensor(p + "ln_1.bias", new long[] {w}, Fill.ZEROS));
            t.add(new Tensor(p + "attn.in_proj.weight", new long[] {3 * w, w}, Fill.NORMAL));    // per-head q/k/v
            t.add(new Tensor(p + "attn.in_proj.bias", new long[] {3 * w}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.out_proj.weight", new long[] {w, w}, Fill.NORMAL));
            t.add(new Tensor(p + "attn.out_proj.bias", new long[] {w}, Fill.NORMAL));
            t.add(new Tensor(p + "ln_2.weight", new long[] {w}, Fill.ONES));
            t.add(new Tensor(p + "ln_2.bias", new long[] {w}, Fill.ZEROS));
            t.add(new Tensor(p + "mlp.c_fc.weight", new long[] {m, w}, Fill.NORMAL));            // (mlp, width)
            t.add(new Tensor(p + "mlp.c_fc.bias", new long[] {m}, Fill.NORMAL));
            t.add(new Tensor(p + "mlp.c_proj.weight", new long[] {w, m}, Fill.NORMAL));          // (width, mlp)
            t.add(new Tensor(p + "mlp.c_proj.bias", new long[] {w}, Fill.NORMAL));
        }
        String r = v + "attn_pool.";
        // the published pos_embed is a fixed 2-D sin-cos table; random values exercise the same code path
        t.add(new Tensor(r + "query", new long[] {QUERIES, e}, Fill.NORMAL));                    // (256, output_dim)
        t.add(new Tensor(r + "pos_embed", new long[] {QUERIES, e}, Fill.NORMAL));                // (256, output_dim)
        t.add(new Tensor(r + "kv_proj.weight", new long[] {e, w}, Fill.NORMAL));                 // (output_dim, width), no bias
        t.add(new Tensor(r + "ln_kv.weight", new long[] {e}, Fill.ONES));
        t.add(new Tensor(r + "ln_kv.bias", new long[] {e}, Fill.ZEROS));
        t.add(new Tensor(r + "ln_q.weight", new long[] {e}, Fill.ONES));
        t.add(new Tensor(r + "ln_q.bias", new long[] {e}, Fill.ZEROS));
        t.add(new Tensor(r + "attn.in_proj_weight", new long[] {3 * e, e}, Fill.NORMAL));        // nn.MultiheadAttention
        t.add(new Tensor(r + "attn.in_proj_bias", new long[] {3 * e}, Fill.NORMAL));
        t.add(new Tensor(r + "attn.out_proj.weight", new long[] {e, e}, Fill.NORMAL));
        t.add(new Tensor(r + "attn.out_proj.bias", new long[] {e}, Fill.NORMAL));
        t.add(new Tensor(v + "ln_post.weight", new long[] {e}, Fill.ONES));
        t.add(new Tensor(v + "ln_post.bias", new long[] {e}, Fill.ZEROS));
        t.add(new Tensor(v + "proj", new long[] {e, e}, Fill.NORMAL));                           // used as x @ proj

        t.add(new Tensor("lm_head.weight", new long[] {vocab, h}, Fill.NORMAL));                 // untied, no bias
        return t;
    }

    /** config.json and generation_config.json; the published repo has no preprocessor_config.json (visual.py resizes). */
    @Override
    public Map<String, JsonObject> jsonFiles() {
        Map<String, JsonObject> files = new LinkedHashMap<>();
        files.put("config.json", configJson());
        files.put("generation_config.json", generationConfigJson());
        return files;
    }

    /** config.json with the published keys and values (Qwen/Qwen-VL-Chat; the tiny fixture has the same keys). */
    @Override
    public JsonObject configJson() {
        JsonObject c = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add("QWenLMHeadModel");
        c.add("architectures", arch);
        c.addProperty("attn_dropout_prob", 0.0);
        JsonObject autoMap = new JsonObject();
        autoMap.addProperty("AutoConfig", "configuration_qwen.QWenConfig");
        autoMap.addProperty("AutoModelForCausalLM", "modeling_qwen.QWenLMHeadModel");
        c.add("auto_map", autoMap);
        c.addProperty("bf16", false);
        c.addProperty("emb_dropout_prob", 0.0);
        c.addProperty("fp16", false);
        c.addProperty("fp32", false);
        c.addProperty("hidden_size", hidden);
        c.addProperty("initializer_range", 0.02);
        c.addProperty("intermediate_size", intermediate);
        c.addProperty("kv_channels", kvChannels);
        c.addProperty("layer_norm_epsilon", 1e-6);
        c.addProperty("max_position_embeddings", 8192);
        c.addProperty("model_type", "qwen");
        c.addProperty("no_bias", true);
        c.addProperty("num_attention_heads", heads);
        c.addProperty("num_hidden_layers", layers);
        c.add("onnx_safe", JsonNull.INSTANCE);
        c.addProperty("rotary_emb_base", 10000);
        c.addProperty("rotary_pct", 1.0);
        c.addProperty("scale_attn_weights", true);
        c.addProperty("seq_length", 2048);
        c.addProperty("tie_word_embeddings", false);
        c.addProperty("tokenizer_type", "QWenTokenizer");
        c.addProperty("torch_dtype", "bfloat16");
        c.addProperty("transformers_version", "4.32.0");
        c.addProperty("use_cache", true);
        c.addProperty("use_dynamic_ntk", true);
        c.addProperty("use_flash_attn", false);
        c.addProperty("use_logn_attn", true);
        JsonObject v = new JsonObject();
        v.addProperty("heads", visionHeads);
        v.addProperty("image_size", IMAGE_SIZE);
        v.addProperty("image_start_id", imageStartId);
        v.addProperty("layers", visionLayers);
        v.addProperty("mlp_ratio", visionMlpRatio);
        v.addProperty("output_dim", hidden);
        v.addProperty("patch_size", PATCH);
        v.addProperty("width", visionWidth);
        c.add("visual", v);
        c.addProperty("vocab_size", vocab);
        return c;
    }

    /** generation_config.json of Qwen-VL-Chat (chatml; eos and pad = {@code <|endoftext|>}). */
    public JsonObject generationConfigJson() {
        JsonObject g = new JsonObject();
        g.addProperty("chat_format", "chatml");
        g.addProperty("eos_token_id", endOfText);
        g.addProperty("pad_token_id", endOfText);
        g.addProperty("max_window_size", 6144);
        g.addProperty("max_new_tokens", 512);
        g.addProperty("do_sample", true);
        g.addProperty("top_k", 0);
        g.addProperty("top_p", 0.3);
        g.addProperty("transformers_version", "4.31.0");
        return g;
    }
}
