package io.github.qwenvl.qwenvl;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.engine.Checkpoints;
import io.github.qwenvl.nn.Tensors;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.nn.Ops;
import io.github.qwenvl.nn.Trace;

import java.util.ArrayList;
import java.util.List;

/**
 * The Qwen-VL visual encoder (visual.py {@code VisionTransformer}): conv1 patchify (as a linear over flattened
 * (c, ky, kx) patches), the stored positional embedding resized bicubically to the patch grid, ln_pre, pre-LN
 * blocks with Megatron per-head q/k/v layout and exact GELU, then the 256-query cross-attention Resampler
 * ({@code attn_pool}), ln_post and {@code @ proj}.
 *
 * <p>Shapes: B images, N = grid² patches, W width, E output_dim, Q queries.
 */
public final class QwenVlVisionTower {

    private record Block(NDArray ln1W, NDArray ln1B, NDArray inW, NDArray inB, NDArray outW, NDArray outB,
                         NDArray ln2W, NDArray ln2B, NDArray fcW, NDArray fcB, NDArray projW, NDArray projB) {
    }

    private static final double EPS = 1e-6;

    private final QwenVlConfig.Visual config;
    private final NDArray conv;        // (W, 3·p·p)
    private final NDArray positional;  // (N, W), resized
    private final NDArray lnPreW;
    private final NDArray lnPreB;
    private final List<Block> blocks;
    private final NDArray query;       // (Q, E)
    private final NDArray queryPos;    // (Q, E) stored sin-cos table
    private final NDArray keyPos;      // (N, E) resized table
    private final NDArray kvProj;      // (E, W)
    private final NDArray lnKvW;
    private final NDArray lnKvB;
    private final NDArray lnQW;
    private final NDArray lnQB;
    private final NDArray wq;
    private final NDArray wk;
    private final NDArray wv;
    private final NDArray bq;
    private final NDArray bk;
    private final NDArray bv;
    private final NDArray attnOutW;
    private final NDArray attnOutB;
    private final NDArray lnPostW;
    private final NDArray lnPostB;
    private final NDArray proj;        // (E, E), used as x @ proj
    private final NDArray queryNormed; // ln_q(query), request-independent
    private final NDArray queryHeads;  // (1, h, Q, hd) projected, scaled queries

    QwenVlVisionTower(QwenVlConfig.Visual config, QwenVlWeights w) {
        this.config = config;
        String p = "transformer.visual.";
        int width = config.width();
        int e = config.outputDim();
        int patch = config.patchSize();
        int n = config.grid() * config.grid();
        int q = config.nQueries();
        this.conv = w.loadLinear(p + "conv1.weight", width, 3, patch, patch).reshape(width, 3L * patch * patch);
        float[] pos = w.floats(p + "positional_embedding");
        w.countJava(pos.length);
        this.positional = w.manager().create(PosEmbedInterpolation.resize(pos, width, config.grid()), new Shape(n, width));
        this.lnPreW = w.load(p + "ln_pre.weight", width);
        this.lnPreB = w.load(p + "ln_pre.bias", width);
        List<Block> list = new ArrayList<>();
        int mlp = config.mlpWidth();
        for (int l = 0; l < config.layers(); l++) {
            String b = p + "transformer.resblocks." + l + ".";
            list.add(new Block(
                    w.load(b + "ln_1.weight", width), w.load(b + "ln_1.bias", width),
                    w.loadLinear(b + "attn.in_proj.weight", 3L * width, width), w.loadLinear(b + "attn.in_proj.bias", 3L * width),
                    w.loadLinear(b + "attn.out_proj.weight", width, width), w.loadLinear(b + "attn.out_proj.bias", width),
                    w.load(b + "ln_2.weight", width), w.load(b + "ln_2.bias", width),
                    w.loadLinear(b + "mlp.c_fc.weight", mlp, width), w.loadLinear(b + "mlp.c_fc.bias", mlp),
                    w.loadLinear(b + "mlp.c_proj.weight", width, mlp), w.loadLinear(b + "mlp.c_proj.bias", width)));
        }
        this.blocks = List.copyOf(list);
        String r = p + "attn_pool.";
        this.query = w.load(r + "query", q, e);
        float[] table = w.floats(r + "pos_embed", q, e);
        w.countJava(table.length);
        this.queryPos = w.manager().create(table, new Shape(q, e));
        this.keyPos = w.manager().create(PosEmbedInterpolation.resize(table, e, config.grid()), new Shape(n, e));
        this.kvProj = w.loadLinear(r + "kv_proj.weight", e, width);
        this.lnKvW = w.load(r + "ln_kv.weight", e);
        this.lnKvB = w.load(r + "ln_kv.bias", e);
        this.lnQW = w.load(r + "ln_q.weight", e);
        this.lnQB = w.load(r + "ln_q.bias", e);
        NDArray inW = w.loadLinear(r + "attn.in_proj_weight", 3L * e, e);
        NDArray inB = w.loadLinear(r + "attn.in_proj_bias", 3L * e);
        this.wq = inW.get("0:{}", e);
        this.wk = inW.get("{}:{}", e, 2 * e);
        this.wv = inW.get("{}:{}", 2 * e, 3 * e);
        this.bq = inB.get("0:{}", e);
        this.bk = inB.get("{}:{}", e, 2 * e);
        this.bv = inB.get("{}:{}", 2 * e, 3 * e);
        this.attnOutW = w.loadLinear(r + "attn.out_proj.weight", e, e);
        this.attnOutB = w.loadLinear(r + "attn.out_proj.bias", e);
        this.lnPostW = w.load(p + "ln_post.weight", e);
        this.lnPostB = w.load(p + "ln_post.bias", e);
        this.proj = w.loadLinear(p + "proj", e, e);
        int heads = config.resamplerHeads();
        w.finish(); // the resampler's query projection below computes with loaded weights
        this.queryNormed = Ops.layerNorm(query, lnQW, lnQB, EPS);
        this.queryHeads = Ops.linear(queryNormed.add(queryPos), wq, bq).reshape(1, q, heads, e / heads)
                .transpose(0, 2, 1, 3).div((float) Math.sqrt(e / heads));
    }

    public QwenVlConfig.Visual config() {
        return config;
    }

    /** Flattens (B, 3, S, S) pixel values into conv1 patches (B·N, 3·p·p), (c, ky, kx) per patch. */
    float[] patches(float[] pixels, int batch) {
        int s = config.imageSize();
        int p = config.patchSize();
        int g = config.grid();
        int dim = 3 * p * p;
        float[] out = new float[batch * g * g * dim];
        for (int b = 0; b < batch; b++) {
            for (int gy = 0; gy < g; gy++) {
                for (int gx = 0; gx < g; gx++) {
                    int base = ((b * g + gy) * g + gx) * dim;
                    int k = 0;
                    for (int c = 0; c < 3; c++) {
                        for (int ky = 0; ky < p; ky++) {
                            int src = ((b * 3 + c) * s + gy * p + ky) * s + gx * p;
                            System.arraycopy(pixels, src, out, base + k, p);
                            k += p;
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * @param pixels (B, 3, S, S) normalised pixel values, row-major
     * @return (B, Q, E) image embeddings, attached to {@code scope}
     */
    public NDArray forward(NDManager scope, float[] pixels, int batch, Trace trace) {
        int s = config.imageSize();
        if (pixels.length != batch * 3 * s * s) {
            throw new IllegalArgumentException("expected " + batch + " images of 3x" + s + "x" + s);
        }
        int g = config.grid();
        int n = g * g;
        int width = config.width();
        int dim = 3 * config.patchSize() * config.patchSize();
        NDArray input = Tensors.floats(scope, patches(pixels, batch), new Shape(batch, n, dim)).toDevice(conv.getDevice(), false);
        NDArray x = Ops.linear(input, conv, null);
        trace.record("00_conv1_patches", x);
        trace.record("01_pos_embed_interp", positional);
        x = x.add(positional);
        x = Ops.layerNorm(x, lnPreW, lnPreB, EPS);
        trace.record("02_after_ln_pre", x);
        int heads = config.heads();
        int hd = width / heads;
        for (int l = 0; l < blocks.size(); l++) {
            Checkpoints.reached(CancellationToken.Checkpoint.VISION_BLOCK, l);
            Block w = blocks.get(l);
            NDArray h = Ops.layerNorm(x, w.ln1W(), w.ln1B(), EPS);
            NDArray mixed = Ops.linear(h, w.inW(), w.inB()).reshape(batch, n, heads, 3L * hd);
            NDList qkv = mixed.split(3, 3);
            NDArray q = qkv.get(0).transpose(0, 2, 1, 3).div((float) Math.sqrt(hd));
            NDArray k = qkv.get(1).transpose(0, 2, 1, 3);
            NDArray v = qkv.get(2).transpose(0, 2, 1, 3);
            NDArray ctx = q.matMul(k.transpose(0, 1, 3, 2)).softmax(-1).matMul(v)
                    .transpose(0, 2, 1, 3).reshape(batch, n, width);
            x = x.add(Ops.linear(ctx, w.outW(), w.outB()));
            NDArray m = Ops.gelu(Ops.linear(Ops.layerNorm(x, w.ln2W(), w.ln2B(), EPS), w.fcW(), w.fcB()));
            x = x.add(Ops.linear(m, w.projW(), w.projB()));
            trace.record("03_resblock" + l + "_out", x);
        }
        return resample(x, batch, n, trace);
    }

    private NDArray resample(NDArray x, int batch, int n, Trace trace) {
        int e = config.outputDim();
        int q = config.nQueries();
        int heads = config.resamplerHeads();
        int hd = e / heads;
        trace.record("04_resampler_key_pos", keyPos);
        NDArray kv = Ops.linear(x, kvProj, null);
        trace.record("05_resampler_kv_proj", kv);
        kv = Ops.layerNorm(kv, lnKvW, lnKvB, EPS); // (B, N, E)
        trace.record("06_resampler_ln_kv", kv);
        trace.record("07_resampler_ln_q", queryNormed);
        NDArray kh = Ops.linear(kv.add(keyPos), wk, bk).reshape(batch, n, heads, hd).transpose(0, 2, 1, 3);
        NDArray vh = Ops.linear(kv, wv, bv).reshape(batch, n, heads, hd).transpose(0, 2, 1, 3);
        NDArray scores = queryHeads.matMul(kh.transpose(0, 1, 3, 2)); // (B, h, Q, N)
        scores.attach(kh.getManager()); // the product lands on the weights' manager: move it to the request scope
        NDArray ctx = scores.softmax(-1).matMul(vh) // (B, h, Q, hd)
                .transpose(0, 2, 1, 3).reshape(batch, q, e);
        NDArray out = Ops.linear(ctx, attnOutW, attnOutB);
        trace.record("08_resampler_out", out);
        out = Ops.layerNorm(out, lnPostW, lnPostB, EPS);
        trace.record("09_after_ln_post", out);
        out = Ops.matMul(out, proj);
        trace.record("10_final", out);
        return out;
    }
}
