package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.EngineTuning;
import io.github.qwenvl.nn.Trace;
import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.engine.Checkpoints;
import io.github.qwenvl.nn.KvCache;
import io.github.qwenvl.nn.LayerMatrices;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.nn.Ops;
import io.github.qwenvl.nn.QueryRowBlocks;
import io.github.qwenvl.nn.RowBlocks;
import io.github.qwenvl.nn.Scopes;
import io.github.qwenvl.nn.Tensors;
import io.github.qwenvl.nn.WeightLoader;

import java.util.ArrayList;
import java.util.List;

/**
 * The Qwen2-style decoder of Qwen2-VL / Qwen2.5-VL and Qwen3-VL: pre-norm blocks of grouped-query attention and a
 * gated SiLU MLP, final RMSNorm, tied or untied LM head. What differs between them is the config's: q/k/v biases
 * (Qwen2) or none (Qwen3), per-head q/k RMSNorm before the rotary (Qwen3), and the rotary layout (chunked or
 * interleaved M-RoPE, {@link io.github.qwenvl.config.RotaryLayout}); a {@link LayerHook} adds residuals after
 * layers (Qwen3-VL's DeepStack).
 *
 * <p>Shapes: B batch, S new tokens, T cached + new tokens, H hidden, Hq/Hkv heads, hd head dim.
 */
public final class Qwen2TextModel {

    record Layer(
            NDArray inputNorm,  // (H)
            NDArray qWeight,    // (Hq·hd, H)
            NDArray qBias,      // (Hq·hd), null without attention biases
            NDArray kWeight,    // (Hkv·hd, H)
            NDArray kBias,      // (Hkv·hd), null without attention biases
            NDArray vWeight,    // (Hkv·hd, H)
            NDArray vBias,      // (Hkv·hd), null without attention biases
            NDArray qNorm,      // (hd), null without q/k norms
            NDArray kNorm,      // (hd), null without q/k norms
            NDArray oWeight,    // (H, Hq·hd)
            NDArray postNorm,   // (H)
            NDArray gateWeight, // (I, H)
            NDArray upWeight,   // (I, H)
            NDArray downWeight) { // (H, I)
    }

    /**
     * Called after each decoder layer during a forward pass, with the layer's output (B, S, H), which it may change in
     * place (e.g. add residuals at some positions); the trace has recorded the output before.
     */
    @FunctionalInterface
    public interface LayerHook {
        LayerHook NONE = (layer, hidden) -> {
        };

        void afterLayer(int layer, NDArray hidden);
    }

    /**
     * A decoder layer's MLP other than the dense gated SiLU one (Qwen3-VL MoE's sparse mixture of experts): the
     * post-attention-normalised rows (…, H) in, the MLP's output (…, H) out, added into the residual by the caller.
     */
    public interface SparseMlp {
        NDArray apply(NDArray normed);
    }

    /** torch.finfo(float32).min: what the reference adds to masked attention scores. */
    private static final float MASKED = -Float.MAX_VALUE;

    private final Qwen2TextConfig config;
    private final NDArray embedTokens; // (V, H), null when tokenTables reads the stored matrix
    private final LayerMatrices matrices;
    private final Qwen2JavaDecoder tokenTables; // null: float32 embedding and LM head held
    private final List<Layer> layers;  // with matrices widened per layer, every layer's record holds the same slots
    private final NDArray finalNorm;   // (H)
    private final NDArray lmHead;      // (V, H), == embedTokens when tied; null when tokenTables reads the stored one
    private final float[] inverseFrequencies; // (hd/2)
    private final int[] axisOfDim;     // (hd): which M-RoPE axis (0 t, 1 h, 2 w) drives each rotary dim
    private final EngineTuning tuning; // block sizes of the prefill's MLPs, rotations and attention
    private final SparseMlp[] sparseMlps; // per layer: null for the dense MLP

    /** Float32 copies of every weight. */
    public Qwen2TextModel(Qwen2TextConfig config, WeightLoader weights) {
        this(config, weights, LayerMatrices.copies(weights, "model.layers."), null,
                RotaryTables.inverseFrequencies(weights.manager(), config.headDim(), config.ropeTheta()), EngineTuning.DEFAULTS);
    }

    /**
     * @param matrices           how the layers' matrices are held (float32 copies, or widened per layer)
     * @param tokenTables        when not null, embedding lookups and the LM head are read from the stored matrices by
     *                           this decoder instead of float32 copies (used with matrices widened per layer)
     * @param inverseFrequencies rotary inverse frequencies (hd/2), as the engine computes them
     * @param tuning             block sizes
     */
    public Qwen2TextModel(Qwen2TextConfig config, WeightLoader weights, LayerMatrices matrices, Qwen2JavaDecoder tokenTables,
                   float[] inverseFrequencies, EngineTuning tuning) {
        this(config, weights, matrices, tokenTables, inverseFrequencies, tuning, layer -> null);
    }

    /**
     * As {@link #Qwen2TextModel(Qwen2TextConfig, WeightLoader, LayerMatrices, Qwen2JavaDecoder, float[], EngineTuning)},
     * with the MLP of each layer for which {@code sparse} gives one replaced (its dense MLP matrices are not loaded).
     */
    public Qwen2TextModel(Qwen2TextConfig config, WeightLoader weights, LayerMatrices matrices, Qwen2JavaDecoder tokenTables,
                   float[] inverseFrequencies, EngineTuning tuning,
                   java.util.function.IntFunction<SparseMlp> sparse) {
        this.config = config;
        this.tuning = tuning;
        this.matrices = matrices;
        this.tokenTables = tokenTables;
        long h = config.hiddenSize();
        long q = (long) config.numHeads() * config.headDim();
        long kv = (long) config.numKeyValueHeads() * config.headDim();
        long i = config.intermediateSize();
        if (tokenTables == null) {
            this.embedTokens = weights.load("model.embed_tokens.weight", config.vocabSize(), h);
        } else {
            this.embedTokens = null;
            weights.countMapped(weights.checkedInfo("model.embed_tokens.weight", config.vocabSize(), h));
        }
        List<Layer> list = new ArrayList<>();
        this.sparseMlps = new SparseMlp[config.numLayers()];
        for (int l = 0; l < config.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            SparseMlp sparseMlp = sparse.apply(l);
            sparseMlps[l] = sparseMlp;
            boolean dense = sparseMlp == null;
            boolean bias = config.attentionBias();
            boolean qkNorm = config.qkNorm();
            list.add(new Layer(
                    weights.load(p + "input_layernorm.weight", h),
                    matrices.matrix(l, "self_attn.q_proj.weight", q, h),
                    bias ? weights.loadLinear(p + "self_attn.q_proj.bias", q) : null,
                    matrices.matrix(l, "self_attn.k_proj.weight", kv, h),
                    bias ? weights.loadLinear(p + "self_attn.k_proj.bias", kv) : null,
                    matrices.matrix(l, "self_attn.v_proj.weight", kv, h),
                    bias ? weights.loadLinear(p + "self_attn.v_proj.bias", kv) : null,
                    qkNorm ? weights.load(p + "self_attn.q_norm.weight", config.headDim()) : null,
                    qkNorm ? weights.load(p + "self_attn.k_norm.weight", config.headDim()) : null,
                    matrices.matrix(l, "self_attn.o_proj.weight", h, q),
                    weights.load(p + "post_attention_layernorm.weight", h),
                    dense ? matrices.matrix(l, "mlp.gate_proj.weight", i, h) : null,
                    dense ? matrices.matrix(l, "mlp.up_proj.weight", i, h) : null,
                    dense ? matrices.matrix(l, "mlp.down_proj.weight", h, i) : null));
        }
        this.layers = List.copyOf(list);
        this.finalNorm = weights.load("model.norm.weight", h);
        if (tokenTables == null) {
            NDArray head = weights.loadLinearOptional("lm_head.weight", config.vocabSize(), h);
            this.lmHead = head != null ? head : embedTokens;
        } else {
            this.lmHead = null;
            if (weights.contains("lm_head.weight")) {
                weights.countMapped(weights.checkedInfo("lm_head.weight", config.vocabSize(), h));
            }
        }
        this.inverseFrequencies = inverseFrequencies.clone();
        this.axisOfDim = config.rotaryAxes();
    }

    public Qwen2TextConfig config() {
        return config;
    }

    /** Token embeddings (B, S, H) for ids (B, S), attached to {@code scope}. */
    public NDArray embed(NDManager scope, long[][] ids) {
        int b = ids.length;
        int s = ids[0].length;
        long[] flat = new long[b * s];
        for (int r = 0; r < b; r++) {
            System.arraycopy(ids[r], 0, flat, r * s, s);
        }
        if (tokenTables != null) {
            return Tensors.floats(scope, new Shape(b, s, config.hiddenSize()), rows -> tokenTables.embedRows(flat, rows));
        }
        NDArray idArray = scope.create(flat, new Shape(b, s));
        return idArray.getNDArrayInternal().embedding(idArray, embedTokens, SparseFormat.DENSE).singletonOrThrow();
    }

    /**
     * Runs the decoder over S new tokens.
     *
     * @param inputsEmbeds  (B, S, H)
     * @param positions     (3, B, S) M-RoPE positions of the new tokens
     * @param attentionMask (B, T) 1 = attend, 0 = padding, over cached + new tokens; null = all ones
     * @param cache         receives the new keys/values; holds the earlier ones (told when each layer is done: a
     *                      cache that hands its layers over frees each one then)
     * @param trace         receives "layer_i" outputs
     * @return (B, S, H) hidden states after the final norm
     */
    public NDArray forward(NDArray inputsEmbeds, long[][][] positions, int[][] attentionMask, KvCache cache, Trace trace) {
        return forward(inputsEmbeds, positions, attentionMask, cache, trace, LayerHook.NONE);
    }

    /**
     * As {@link #forward(NDArray, long[][][], int[][], KvCache, Trace)}, calling {@code hook} after each layer (after
     * the trace has recorded the layer's output).
     */
    public NDArray forward(NDArray inputsEmbeds, long[][][] positions, int[][] attentionMask, KvCache cache, Trace trace,
                           LayerHook hook) {
        NDManager scope = inputsEmbeds.getManager();
        int b = (int) inputsEmbeds.getShape().get(0);
        int s = (int) inputsEmbeds.getShape().get(1);
        int past = cache.length();
        NDArray[] cosSin = rotary(scope, positions, b, s);
        NDArray mask = mask(scope, attentionMask, b, s, past);
        NDArray x = inputsEmbeds;
        try (LayerMatrices.Pass pass = matrices.begin()) {
            for (int l = 0; l < layers.size(); l++) {
                Checkpoints.reached(CancellationToken.Checkpoint.PREFILL_LAYER, l);
                pass.prepare(l);
                Layer w = layers.get(l);
                int layer = l;
                boolean ownsInput = l > 0;
                // each layer's intermediates are freed when it ends; the caller's embeddings are left alone
                x = Scopes.run(scope, x, ownsInput, in -> layer(layer, w, in, ownsInput, cosSin, mask, cache, b, s));
                cache.layerDone(l);
                trace.record("layer_" + l, x);
                hook.afterLayer(l, x);
            }
        }
        cache.advance(s);
        return Ops.rmsNorm(x, finalNorm, config.rmsNormEps());
    }

    /**
     * One decoder layer, {@code h = in + attention(norm(in)); h + mlp(norm(h))}, with the sums made in place: the
     * attention's output projection is added into the residual block by block of query rows, the MLP row block by row
     * block ({@link RowBlocks}), and intermediates are freed as soon as they are used, so a long prompt's layer holds
     * few tensors of (S, H) or larger at once.
     *
     * @param ownsInput true when {@code in} may be overwritten (it is the previous layer's output); false for the
     *                  caller's embeddings, which are copied first
     */
    private NDArray layer(int layer, Layer w, NDArray in, boolean ownsInput, NDArray[] cosSin, NDArray mask,
                          KvCache cache, int b, int s) {
        NDManager layerScope = in.getManager();
        NDArray residual = ownsInput ? in : in.duplicate(); // (B, S, H): becomes in + attention
        // each half in its own scope, so that everything it made (views included: a view keeps its base's memory)
        // is freed before the other half runs
        NDArray h = Scopes.run(layerScope, residual, false, r -> {
            attendInto(r, layer, w, Ops.rmsNorm(r, w.inputNorm(), config.rmsNormEps()), cosSin, mask, cache, b, s);
            return r;
        });
        return Scopes.run(layerScope, h, false, r -> mlpInto(layer, w, r));
    }

    /** {@code h + mlp(norm(h))}, added into {@code h}. */
    private NDArray mlpInto(int layer, Layer w, NDArray h) {
        NDArray normed2 = Ops.rmsNorm(h, w.postNorm(), config.rmsNormEps());
        SparseMlp sparse = sparseMlps[layer];
        if (sparse != null) {
            try (NDArray out = sparse.apply(normed2)) {
                normed2.close();
                return h.addi(out);
            }
        }
        // long prompts in row blocks (RowBlocks): gate, up and their product are (S, I) each
        return RowBlocks.addLayer(tuning.mlpBlockElements(), h, normed2, config.intermediateSize(), rows ->
                Ops.gatedSiluMlp(rows, w.gateWeight(), null, w.upWeight(), null, w.downWeight(), null));
    }

    /** (…, H) hidden states → (…, V) logits. */
    public NDArray logits(NDArray hidden) {
        if (tokenTables != null) {
            Shape shape = hidden.getShape();
            int rows = (int) (shape.size() / config.hiddenSize());
            float[] logits = tokenTables.headLogits(hidden.toType(DataType.FLOAT32, false).toFloatArray(), rows);
            long[] dims = shape.getShape().clone();
            dims[dims.length - 1] = config.vocabSize();
            return Tensors.floats(hidden.getManager(), logits, new Shape(dims));
        }
        return Ops.linear(hidden, lmHead, null);
    }

    /** How the layers' matrices are held. */
    LayerMatrices matrices() {
        return matrices;
    }

    /**
     * Adds {@code o_proj(attention(x))} into {@code residual} (B, S, H), block of query rows by block.
     *
     * @param x the layer's normed input (B, S, H); closed once q, k and v are computed from it
     */
    private void attendInto(NDArray residual, int layer, Layer w, NDArray x, NDArray[] cosSin, NDArray mask,
                            KvCache cache, int b, int s) {
        int hq = config.numHeads();
        int hkv = config.numKeyValueHeads();
        int hd = config.headDim();
        int groups = hq / hkv;
        NDArray qRows = Ops.linear(x, w.qWeight(), w.qBias()).reshape((long) b * s, hq, hd);
        NDArray kRows = Ops.linear(x, w.kWeight(), w.kBias()).reshape((long) b * s, hkv, hd);
        NDArray vRows = Ops.linear(x, w.vWeight(), w.vBias());
        x.close();
        if (w.qNorm() != null) {
            qRows = normHeads(qRows, w.qNorm());
            kRows = normHeads(kRows, w.kNorm());
        }
        RowBlocks.rotateInPlace(tuning.mlpBlockElements(), qRows, cosSin[0], cosSin[1]);
        RowBlocks.rotateInPlace(tuning.mlpBlockElements(), kRows, cosSin[0], cosSin[1]);
        NDArray q = qRows.reshape(b, s, hq, hd).transpose(0, 2, 1, 3); // (B, Hq, S, hd), a view
        NDArray k = kRows.reshape(b, s, hkv, hd).transpose(0, 2, 1, 3); // (B, Hkv, S, hd)
        NDArray v = vRows.reshape(b, s, hkv, hd).transpose(0, 2, 1, 3);
        NDArray[] kv = cache.append(layer, k, v);     // (B, Hkv, T, hd) each; k, v and q go with the caller's scope
        long t = kv[0].getShape().get(2);
        NDArray keysT = kv[0].transpose(0, 1, 3, 2); // (B, Hkv, hd, T)
        float scale = (float) (1.0 / Math.sqrt(hd));
        QueryRowBlocks.forEachBlock(tuning.attentionBlockElements(), q, mask, (long) b * hq * t, (qs, maskBlock, from, rows) -> {
            NDManager blockScope = qs.getManager();
            // Grouped-query attention without copying K/V: the query heads sharing a KV head are stacked
            // along the sequence axis, (B, Hkv, g·rows, hd) @ (B, Hkv, hd, T).
            NDArray qGrouped = qs.reshape(b, hkv, (long) groups * rows, hd);
            // scaled and masked in place: one score tensor per block instead of three
            NDArray scores = qGrouped.matMul(keysT);
            scores.muli(scale);
            if (maskBlock != null) {
                try (NDArray byGroup = scores.reshape(b, hkv, groups, rows, t); // a view: written through
                     NDArray maskRows = maskBlock.expandDims(1)) {
                    byGroup.addi(maskRows);
                }
            }
            NDArray weights = scores.softmax(-1);
            scores.close(); // before the next product: one score tensor at a time
            NDArray heads = weights.matMul(kv[1]).reshape(b, hq, rows, hd); // (B, Hq, rows, hd)
            NDArray attended = heads.transpose(0, 2, 1, 3).reshape(b, rows, (long) hq * hd);
            NDArray target = residual.get(":, {}:{}", from, from + rows); // a view: written through
            target.attach(blockScope);
            target.addi(Ops.linear(attended, w.oWeight(), null));
        });
    }

    /** Per-head RMSNorm of (rows, heads, hd) queries or keys (Qwen3's q_norm / k_norm); closes {@code rows}. */
    private NDArray normHeads(NDArray rows, NDArray weight) {
        NDArray normed = Ops.rmsNorm(rows, weight, config.rmsNormEps());
        rows.close();
        return normed;
    }

    /**
     * cos/sin (B·S, 1, hd) of the M-RoPE angles, a row per token broadcasting over the heads of (B·S, heads, hd)
     * q and k: dim d rotates with the position of axis axisOfDim[d].
     */
    private NDArray[] rotary(NDManager scope, long[][][] positions, int b, int s) {
        int hd = config.headDim();
        int half = hd / 2;
        Shape shape = new Shape((long) b * s, 1, hd);
        try (NDArray emb = Tensors.floats(scope, shape, angles -> {
            for (int r = 0; r < b; r++) {
                for (int i = 0; i < s; i++) {
                    for (int d = 0; d < hd; d++) {
                        // float32 product, as inv_freq @ position_ids in the reference
                        angles.put((float) positions[axisOfDim[d]][r][i] * inverseFrequencies[d % half]);
                    }
                }
            }
        })) {
            return new NDArray[] {emb.cos(), emb.sin()};
        }
    }

    /** (B, 1, S, T) additive mask (causal + padding), or null when no token needs masking. */
    private NDArray mask(NDManager scope, int[][] attentionMask, int b, int s, int past) {
        int t = past + s;
        if (s == 1 && attentionMask == null) {
            return null;
        }
        return Tensors.floats(scope, new Shape(b, 1, s, t), m -> {
            for (int r = 0; r < b; r++) {
                for (int i = 0; i < s; i++) {
                    for (int j = 0; j < t; j++) {
                        boolean visible = j <= past + i && (attentionMask == null || attentionMask[r][j] != 0);
                        m.put(visible ? 0f : MASKED);
                    }
                }
            }
        });
    }

    /** Rotary inverse frequencies (hd/2), as computed by the engine. */
    public float[] inverseFrequencies() {
        return inverseFrequencies.clone();
    }

    /** The dtype keys/values are cached in: the weights' compute dtype. */
    public DataType dataTypeForCache() {
        return finalNorm.getDataType();
    }
}
