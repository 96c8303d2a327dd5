package io.github.qwenvl.qwenvl;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.engine.Checkpoints;
import io.github.qwenvl.nn.Tensors;
import io.github.qwenvl.nn.KvCache;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.github.qwenvl.nn.Ops;
import io.github.qwenvl.nn.QueryRowBlocks;
import io.github.qwenvl.nn.Scopes;
import io.github.qwenvl.nn.Trace;

import java.util.ArrayList;
import java.util.List;

/**
 * The Qwen-7B-style decoder of Qwen-VL (modeling_qwen.py {@code QWenModel} + untied {@code lm_head}): pre-RMSNorm
 * blocks, fused {@code c_attn} (q | k | v thirds, with bias), GPT-NeoX rotary on halves with dynamic NTK, logN
 * query scaling beyond {@code seq_length}, {@code c_proj} without bias, MLP {@code c_proj(w1(x) · silu(w2(x)))}.
 */
public final class QwenVlTextModel {

    private record Layer(NDArray ln1, NDArray cAttnW, NDArray cAttnB, NDArray cProj, NDArray ln2, NDArray w1,
                         NDArray w2, NDArray mlpProj) {
    }

    private static final float MASKED = -Float.MAX_VALUE;

    private final QwenVlConfig config;
    private final NDArray wte;
    private final List<Layer> layers;
    private final NDArray lnF;
    private final NDArray lmHead;

    private final io.github.qwenvl.EngineTuning tuning;

    QwenVlTextModel(QwenVlConfig config, QwenVlWeights w, io.github.qwenvl.EngineTuning tuning) {
        this.config = config;
        this.tuning = tuning;
        long h = config.hiddenSize();
        long v = config.vocabSize();
        long ff = config.intermediateSize() / 2;
        this.wte = w.load("transformer.wte.weight", v, h);
        List<Layer> list = new ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            String p = "transformer.h." + l + ".";
            list.add(new Layer(
                    w.load(p + "ln_1.weight", h),
                    w.loadLinear(p + "attn.c_attn.weight", 3 * h, h), w.loadLinear(p + "attn.c_attn.bias", 3 * h),
                    w.loadLinear(p + "attn.c_proj.weight", h, h),
                    w.load(p + "ln_2.weight", h),
                    w.loadLinear(p + "mlp.w1.weight", ff, h), w.loadLinear(p + "mlp.w2.weight", ff, h),
                    w.loadLinear(p + "mlp.c_proj.weight", h, ff)));
        }
        this.layers = List.copyOf(list);
        this.lnF = w.load("transformer.ln_f.weight", h);
        this.lmHead = w.loadLinear("lm_head.weight", v, h);
    }

    public QwenVlConfig config() {
        return config;
    }

    DataType cacheType() {
        return wte.getDataType();
    }

    /** Token embeddings (S, H) of ids, attached to {@code scope}. */
    public NDArray embed(NDManager scope, int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[i] + " outside the embedding (" + config.vocabSize() + " rows)");
            }
            l[i] = ids[i];
        }
        NDArray idArray = scope.create(l, new Shape(ids.length)).toDevice(wte.getDevice(), false);
        return idArray.getNDArrayInternal().embedding(idArray, wte, SparseFormat.DENSE).singletonOrThrow();
    }

    /**
     * Dynamic NTK alpha of a prefill over {@code kvLength} tokens:
     * {@code max(2^ceil(log2(kvLength / seq_length) + 1) - 1, 1)}; 1 when dynamic NTK is off.
     */
    public double ntkAlpha(int kvLength) {
        if (!config.useDynamicNtk()) {
            return 1.0;
        }
        double context = Math.log((double) kvLength / config.seqLength()) / Math.log(2) + 1;
        double alpha = Math.pow(2, Math.ceil(context)) - 1;
        return Math.max(alpha, 1.0);
    }

    /** inv_freq for an NTK alpha, float32 as the reference computes it. */
    float[] inverseFrequencies(double alpha) {
        int dim = config.rotaryDim();
        double base = config.rotaryBase() * Math.pow(alpha, dim / (dim - 2.0));
        float baseF = (float) base;
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / (float) dim;
            inv[i] = 1.0f / (float) Math.pow(baseF, exponent);
        }
        return inv;
    }

    /**
     * Runs S new tokens after the cached ones.
     *
     * @param embeds (1, S, H)
     * @param alpha  the dynamic-NTK alpha (chosen at prefill, reused while decoding)
     * @return (1, S, H) after ln_f
     */
    public NDArray forward(NDArray embeds, KvCache cache, double alpha, Trace trace) {
        NDManager scope = embeds.getManager();
        int s = (int) embeds.getShape().get(1);
        int past = cache.length();
        int heads = config.numHeads();
        int hd = config.headDim();
        int rot = config.rotaryDim();
        long h = config.hiddenSize();
        float[] inv = inverseFrequencies(alpha);
        float[] angles = new float[s * rot];
        for (int i = 0; i < s; i++) {
            float pos = past + i;
            for (int d = 0; d < rot; d++) {
                angles[i * rot + d] = pos * inv[d % (rot / 2)];
            }
        }
        NDArray emb = Tensors.floats(scope, angles, new Shape(1, 1, s, rot)).toDevice(embeds.getDevice(), false);
        NDArray cos = emb.cos();
        NDArray sin = emb.sin();
        NDArray logn = null;
        if (config.useLognAttn() && past + s > config.seqLength()) {
            float[] f = new float[s];
            for (int i = 0; i < s; i++) {
                int p = past + i + 1;
                f[i] = p > config.seqLength() ? (float) (Math.log(p) / Math.log(config.seqLength())) : 1f;
            }
            logn = scope.create(f, new Shape(1, 1, s, 1)).toDevice(embeds.getDevice(), false);
        }
        NDArray mask = null;
        if (s > 1) {
            int t = past + s;
            // written into the engine's tensor: no (S, T) Java array (as the Qwen2 decoder's mask)
            mask = Tensors.floats(scope, new Shape(1, 1, s, t), m -> {
                for (int i = 0; i < s; i++) {
                    for (int j = 0; j < t; j++) {
                        m.put(j <= past + i ? 0f : MASKED);
                    }
                }
            }).toDevice(embeds.getDevice(), false);
        }
        float scale = (float) Math.sqrt(hd);
        NDArray x = embeds;
        for (int l = 0; l < layers.size(); l++) {
            Checkpoints.reached(CancellationToken.Checkpoint.PREFILL_LAYER, l);
            Layer w = layers.get(l);
            int layer = l;
            NDArray cosF = cos;
            NDArray sinF = sin;
            NDArray lognF = logn;
            NDArray maskF = mask;
            trace.record("layer_input." + l, x);
            // each layer's intermediates are freed when it ends (a 32-layer Qwen-7B at 2K tokens would otherwise
            // hold every layer's attention matrices); the caller's embeddings are left alone
            x = Scopes.run(scope, x, l > 0, in -> {
                NDArray normed = Ops.rmsNorm(in, w.ln1(), config.layerNormEpsilon());
                NDArray mixed = Ops.linear(normed, w.cAttnW(), w.cAttnB());
                if (layer == 0) {
                    trace.record("layer0.ln_1", normed);
                    trace.record("layer0.c_attn", mixed);
                }
                NDList qkv = mixed.split(3, 2);
                NDArray q = rotary(qkv.get(0).reshape(1, s, heads, hd).transpose(0, 2, 1, 3), cosF, sinF, rot, hd);
                NDArray k = rotary(qkv.get(1).reshape(1, s, heads, hd).transpose(0, 2, 1, 3), cosF, sinF, rot, hd);
                NDArray v = qkv.get(2).reshape(1, s, heads, hd).transpose(0, 2, 1, 3);
                if (lognF != null) {
                    q = q.mul(lognF);
                }
                NDArray[] kv = cache.append(layer, k, v);
                NDArray ctx = attention(q, kv, maskF, scale, heads).transpose(0, 2, 1, 3).reshape(1, s, h);
                NDArray attn = Ops.linear(ctx, w.cProj(), null);
                NDArray mid = in.add(attn);
                NDArray normed2 = Ops.rmsNorm(mid, w.ln2(), config.layerNormEpsilon());
                NDArray mlp = Ops.linear(Ops.linear(normed2, w.w1(), null).mul(Ops.silu(Ops.linear(normed2, w.w2(), null))),
                        w.mlpProj(), null);
                if (layer == 0) {
                    trace.record("layer0.attn_c_proj", attn);
                    trace.record("layer0.ln_2", normed2);
                    trace.record("layer0.mlp", mlp);
                }
                return mid.add(mlp);
            });
        }
        cache.advance(s);
        NDArray out = Ops.rmsNorm(x, lnF, config.layerNormEpsilon());
        trace.record("final_norm", out);
        return out;
    }

    /** softmax(q kᵀ / √d + mask) v for (1, heads, S, hd) queries, in query-row blocks ({@link QueryRowBlocks}). */
    private NDArray attention(NDArray q, NDArray[] kv, NDArray mask, float scale, int heads) {
        long t = kv[0].getShape().get(2);
        NDArray keysT = kv[0].transpose(0, 1, 3, 2);
        return QueryRowBlocks.attend(tuning.attentionBlockElements(), q, mask, (long) heads * t, (qs, maskBlock, rows) -> {
            NDArray scores = qs.matMul(keysT).div(scale);
            if (maskBlock != null) {
                scores = scores.add(maskBlock);
            }
            return scores.softmax(-1).matMul(kv[1]);
        });
    }

    private static NDArray rotary(NDArray t, NDArray cos, NDArray sin, int rot, int hd) {
        if (rot == hd) {
            return Ops.applyRotary(t, cos, sin);
        }
        NDList parts = t.split(new long[] {rot}, 3);
        return Ops.applyRotary(parts.get(0), cos, sin).concat(parts.get(1), 3);
    }

    /** (…, H) → (…, V) logits. */
    public NDArray logits(NDArray hidden) {
        return Ops.linear(hidden, lmHead, null);
    }
}
