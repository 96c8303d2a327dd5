package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.EngineTuning;
import io.github.qwenvl.nn.Trace;
import io.github.qwenvl.nn.Tensors;
import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.engine.Checkpoints;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.config.Qwen2VisionConfig;
import io.github.qwenvl.nn.LayerMatrices;
import io.github.qwenvl.nn.Ops;
import io.github.qwenvl.nn.RowBlocks;
import io.github.qwenvl.nn.Scopes;
import io.github.qwenvl.nn.VisionAttention;
import io.github.qwenvl.nn.WeightLoader;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The Qwen2-VL / Qwen2.5-VL vision transformer (transformers 4.50 {@code Qwen2VisionTransformerPretrainedModel}
 * and {@code Qwen2_5_VisionTransformerPretrainedModel}).
 *
 * <p>Data flow for P patches of all images together (D = hidden size, O = text hidden size):
 * pixel values (P, 3·2·14·14) → patch embedding (P, D) → [2.5: permute into window order] → blocks,
 * each attending only within its segment (image, or 112-px window in 2.5) with 2-D rotary embedding
 * → merger: norm, 2×2 concat (P/4, 4D), MLP → (P/4, O) → [2.5: reverse permutation].
 */
public final class Qwen2VisionTower {

    /** Weights of one block; Qwen2-VL uses LayerNorm + fc1/fc2, Qwen2.5-VL RMSNorm + gate/up/down. */
    record Block(
            NDArray norm1Weight, // (D)
            NDArray norm1Bias,   // (D) or null (RMSNorm)
            NDArray norm2Weight, // (D)
            NDArray norm2Bias,   // (D) or null
            NDArray qkvWeight,   // (3D, D)
            NDArray qkvBias,     // (3D)
            NDArray projWeight,  // (D, D)
            NDArray projBias,    // (D)
            NDArray fc1Weight,   // (I, D)   Qwen2-VL fc1 / Qwen2.5-VL gate_proj
            NDArray fc1Bias,     // (I)
            NDArray upWeight,    // (I, D)   Qwen2.5-VL up_proj, else null
            NDArray upBias,      // (I)
            NDArray fc2Weight,   // (D, I)   Qwen2-VL fc2 / Qwen2.5-VL down_proj
            NDArray fc2Bias) {   // (D)
    }

    private static final double NORM_EPS = 1e-6;
    /**
     * Block sizes: attention scores computed at once ({@link EngineTuning#visionAttentionBlockElements}, 16 MB by
     * default, below glibc's 32 MB mmap ceiling, so the blocks reuse freed heap memory instead of faulting in fresh
     * pages each time) and MLP row blocks.
     */
    private final EngineTuning tuning;

    private final Qwen2VisionConfig config;
    private final NDArray patchEmbedWeight; // (D, 3·2·14·14)
    private final LayerMatrices matrices;
    private final List<Block> blocks; // with matrices widened per block, every block's record holds the same slots
    private final NDArray mergerNormWeight; // (D)
    private final NDArray mergerNormBias;   // (D) or null (RMSNorm in 2.5)
    private final NDArray mergerFc1Weight;  // (4D, 4D)
    private final NDArray mergerFc1Bias;    // (4D)
    private final NDArray mergerFc2Weight;  // (O, 4D)
    private final NDArray mergerFc2Bias;    // (O)
    private final float[] inverseFrequencies; // (headDim/4): rotary over (h, w), each half of headDim/2

    /** Float32 copies of every weight. */
    public Qwen2VisionTower(Qwen2VisionConfig config, WeightLoader weights) {
        this(config, weights, LayerMatrices.copies(weights, "visual.blocks."), EngineTuning.DEFAULTS);
    }

    /**
     * @param matrices how the blocks' matrices are held (float32 copies, or widened per block)
     * @param tuning   block sizes
     */
    public Qwen2VisionTower(Qwen2VisionConfig config, WeightLoader weights, LayerMatrices matrices, EngineTuning tuning) {
        this.config = config;
        this.tuning = tuning;
        this.matrices = matrices;
        long d = config.hiddenSize();
        long i = config.intermediateSize();
        long merged = d * config.spatialMergeSize() * config.spatialMergeSize();
        boolean q25 = config.qwen25();
        this.patchEmbedWeight = weights.loadLinear("visual.patch_embed.proj.weight",
                d, config.inChannels(), config.temporalPatchSize(), config.patchSize(), config.patchSize())
                .reshape(d, config.patchDim());
        List<Block> list = new ArrayList<>();
        for (int b = 0; b < config.depth(); b++) {
            String p = "visual.blocks." + b + ".";
            list.add(new Block(
                    weights.load(p + "norm1.weight", d),
                    q25 ? null : weights.load(p + "norm1.bias", d),
                    weights.load(p + "norm2.weight", d),
                    q25 ? null : weights.load(p + "norm2.bias", d),
                    matrices.matrix(b, "attn.qkv.weight", 3 * d, d),
                    weights.loadLinear(p + "attn.qkv.bias", 3 * d),
                    matrices.matrix(b, "attn.proj.weight", d, d),
                    weights.loadLinear(p + "attn.proj.bias", d),
                    matrices.matrix(b, q25 ? "mlp.gate_proj.weight" : "mlp.fc1.weight", i, d),
                    weights.loadLinear(p + (q25 ? "mlp.gate_proj.bias" : "mlp.fc1.bias"), i),
                    q25 ? matrices.matrix(b, "mlp.up_proj.weight", i, d) : null,
                    q25 ? weights.loadLinear(p + "mlp.up_proj.bias", i) : null,
                    matrices.matrix(b, q25 ? "mlp.down_proj.weight" : "mlp.fc2.weight", d, i),
                    weights.loadLinear(p + (q25 ? "mlp.down_proj.bias" : "mlp.fc2.bias"), d)));
        }
        this.blocks = List.copyOf(list);
        this.mergerNormWeight = weights.load("visual.merger.ln_q.weight", d);
        this.mergerNormBias = q25 ? null : weights.load("visual.merger.ln_q.bias", d);
        this.mergerFc1Weight = weights.loadLinear("visual.merger.mlp.0.weight", merged, merged);
        this.mergerFc1Bias = weights.loadLinear("visual.merger.mlp.0.bias", merged);
        this.mergerFc2Weight = weights.loadLinear("visual.merger.mlp.2.weight", config.outHiddenSize(), merged);
        this.mergerFc2Bias = weights.loadLinear("visual.merger.mlp.2.bias", config.outHiddenSize());
        this.inverseFrequencies = RotaryTables.inverseFrequencies(weights.manager(), config.headDim() / 2, 10000.0);
    }

    public Qwen2VisionConfig config() {
        return config;
    }

    /**
     * Encodes images.
     *
     * @param scope       manager owning the result and all intermediates
     * @param pixelValues (P, patchDim), all images concatenated in order
     * @param grids       one grid per image, in the same order
     * @param trace       receives intermediates (may be {@link Trace#NONE})
     * @return (P / merge², outHiddenSize) image embeddings, image after image, 2×2 blocks in raster order
     */
    public NDArray forward(NDManager scope, NDArray pixelValues, List<ImageGrid> grids, Trace trace) {
        checkPixels(pixelValues.getShape(), grids);
        return encode(scope, Ops.linear(pixelValues, patchEmbedWeight, null), grids, trace);
    }

    /**
     * Encodes images whose pixel values (P · patchDim, row-major) {@code writePixels} writes into the input tensor,
     * which is freed as soon as the patches are embedded: the blocks never hold it (32.5 MB for a 1344×1008 image),
     * and no Java array of it exists.
     *
     * @return as {@link #forward(NDManager, NDArray, List, Trace)}
     */
    public NDArray forward(NDManager scope, List<ImageGrid> grids, Consumer<FloatBuffer> writePixels) {
        long totalPatches = grids.stream().mapToLong(ImageGrid::patches).sum();
        NDArray embedded;
        try (NDArray input = Tensors.floats(scope, new Shape(totalPatches, config.patchDim()), writePixels)) {
            embedded = Ops.linear(input, patchEmbedWeight, null);
        }
        return encode(scope, embedded, grids, Trace.NONE);
    }

    private void checkPixels(Shape pixels, List<ImageGrid> grids) {
        int totalPatches = grids.stream().mapToInt(ImageGrid::patches).sum();
        if (pixels.get(0) != totalPatches || pixels.get(1) != config.patchDim()) {
            throw new IllegalArgumentException("pixel values " + pixels + " do not match grids " + grids);
        }
    }

    /** The tower from the patch embeddings (P, D) on, which it owns. */
    private NDArray encode(NDManager scope, NDArray hidden, List<ImageGrid> grids, Trace trace) {
        int totalPatches = grids.stream().mapToInt(ImageGrid::patches).sum();
        int unit = config.spatialMergeSize() * config.spatialMergeSize();
        trace.record("patch_embed", hidden);

        float[][] rotary = rotaryAngles(grids); // (P, headDim/2) in processor order
        if (trace.enabled()) {
            trace.record("rotary_pos_emb", scope.create(flatten(rotary), new Shape(totalPatches, rotary[0].length)));
        }
        int[] imageSegments = imageSegments(grids);
        trace.record("cu_seqlens", scope.create(toLongs(imageSegments)));

        int[] windowIndex = null;
        int[] windowSegments = imageSegments;
        if (config.qwen25()) {
            WindowPartition windows = WindowPartition.of(grids, config);
            windowIndex = windows.windowIndex();
            windowSegments = windows.cuWindowSeqlens();
            trace.record("window_index", scope.create(toLongs(windowIndex)));
            trace.record("cu_window_seqlens", scope.create(toLongs(windowSegments)));
            NDArray order = scope.create(windowIndex);
            NDArray embedded = hidden;
            hidden = permuteGroups(embedded, order, unit);
            embedded.close();
            order.close();
            rotary = permuteRows(rotary, windowIndex, unit);
        }
        // each (P, 2, 1, headDim); the q tables carry 1/sqrt(headDim)
        NDArray[] cosSin = VisionAttention.cosSin(scope, flatten(rotary), totalPatches,
                (float) (1.0 / Math.sqrt(config.headDim())));

        try (LayerMatrices.Pass pass = matrices.begin()) {
            for (int b = 0; b < blocks.size(); b++) {
                int[] segments = config.isFullAttention(b) ? imageSegments : windowSegments;
                Checkpoints.reached(CancellationToken.Checkpoint.VISION_BLOCK, b);
                pass.prepare(b);
                Block weights = blocks.get(b);
                // the block's input and intermediates are freed when it is done (the input is always ours: the
                // patch embedding, a permuted copy of it, or the previous block's output; a trace copies what it keeps)
                hidden = Scopes.run(scope, hidden, true, x -> block(weights, x, cosSin[0], cosSin[1], segments));
                trace.record("block_" + b, hidden);
            }
        }
        NDArray normed = config.qwen25()
                ? Ops.rmsNorm(hidden, mergerNormWeight, NORM_EPS)
                : Ops.layerNorm(hidden, mergerNormWeight, mergerNormBias, NORM_EPS);
        NDArray merged = normed.reshape(totalPatches / unit, (long) config.hiddenSize() * unit); // (P/4, 4D)
        NDArray out = Ops.linear(Ops.gelu(Ops.linear(merged, mergerFc1Weight, mergerFc1Bias)), mergerFc2Weight, mergerFc2Bias);
        trace.record("merger_raw", out);
        if (windowIndex != null) {
            out = out.get(scope.create(inverse(windowIndex)));
        }
        return out;
    }

    /**
     * One ViT block, {@code h = x + attention(norm1(x)); h + mlp(norm2(h))}, with both sums made in place in x: the
     * attention's output projection is added into x's rows block of query rows by block, the MLP row block by row
     * block ({@link RowBlocks}), and intermediates are freed as soon as they are used, so that few whole-image tensors
     * are alive at once.
     *
     * @param x the block's input (P, D), owned by the block: it becomes the output
     */
    private NDArray block(Block w, NDArray x, NDArray cos, NDArray sin, int[] segments) {
        boolean q25 = config.qwen25();
        NDManager blockScope = x.getManager();
        // each half in its own scope, so that everything it made (views included: a view keeps its base's memory,
        // e.g. qkv's 106 MB at 1344x1008) is freed before the other half runs
        NDArray h = Scopes.run(blockScope, x, false, in -> {
            NDArray normed = q25 ? Ops.rmsNorm(in, w.norm1Weight(), NORM_EPS)
                    : Ops.layerNorm(in, w.norm1Weight(), w.norm1Bias(), NORM_EPS);
            attendInto(in, w, normed, cos, sin, segments);
            return in;
        });
        return Scopes.run(blockScope, h, false, in -> mlpInto(w, in));
    }

    /** {@code in + mlp(norm2(in))}, added into {@code in}. */
    private NDArray mlpInto(Block w, NDArray in) {
        boolean q25 = config.qwen25();
        NDArray normed2 = q25 ? Ops.rmsNorm(in, w.norm2Weight(), NORM_EPS)
                : Ops.layerNorm(in, w.norm2Weight(), w.norm2Bias(), NORM_EPS);
        // in row blocks for large images (RowBlocks): fc1's (P, I) output is the block's largest tensor
        return RowBlocks.addLayer(tuning.mlpBlockElements(), in, normed2, w.fc1Weight().getShape().get(0), rows -> {
            if (q25) {
                return Ops.gatedSiluMlp(rows, w.fc1Weight(), w.fc1Bias(), w.upWeight(), w.upBias(), w.fc2Weight(),
                        w.fc2Bias());
            }
            return Ops.linear(Ops.quickGelu(Ops.linear(rows, w.fc1Weight(), w.fc1Bias())), w.fc2Weight(), w.fc2Bias());
        });
    }

    /**
     * Adds {@code proj(attention(normed))} into {@code residual} (P, D), self-attention restricted to each
     * [segments[k], segments[k+1]) range of rows ({@link VisionAttention}: heads in groups for large images, blocks
     * of query rows).
     *
     * @param normed the block's normed input (P, D); closed once q, k and v are computed from it
     */
    private void attendInto(NDArray residual, Block w, NDArray normed, NDArray cos, NDArray sin, int[] segments) {
        VisionAttention.addInto(residual, normed, w.qkvWeight(), w.qkvBias(), w.projWeight(), w.projBias(),
                config.numHeads(), config.headDim(), cos, sin, segments, tuning.mlpBlockElements(),
                tuning.visionAttentionBlockElements());
    }

    /** Per-patch (h, w) rotary angles in the processor's patch order (2×2 blocks row-major). */
    private float[][] rotaryAngles(List<ImageGrid> grids) {
        int m = config.spatialMergeSize();
        int f = inverseFrequencies.length;
        List<float[]> rows = new ArrayList<>();
        for (ImageGrid g : grids) {
            for (int t = 0; t < g.t(); t++) {
                for (int bh = 0; bh < g.h() / m; bh++) {
                    for (int bw = 0; bw < g.w() / m; bw++) {
                        for (int ih = 0; ih < m; ih++) {
                            for (int iw = 0; iw < m; iw++) {
                                int h = bh * m + ih;
                                int wpos = bw * m + iw;
                                float[] row = new float[2 * f];
                                for (int j = 0; j < f; j++) {
                                    // torch.outer(arange(float32), inv_freq): one float32 product, as here
                                    row[j] = (float) h * inverseFrequencies[j];
                                    row[f + j] = (float) wpos * inverseFrequencies[j];
                                }
                                rows.add(row);
                            }
                        }
                    }
                }
            }
        }
        return rows.toArray(new float[0][]);
    }

    private static int[] imageSegments(List<ImageGrid> grids) {
        List<Integer> cu = new ArrayList<>();
        cu.add(0);
        int total = 0;
        for (ImageGrid g : grids) {
            for (int t = 0; t < g.t(); t++) {
                total += g.h() * g.w();
                cu.add(total);
            }
        }
        return cu.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Rows grouped by {@code unit} consecutive rows, reordered group-wise by {@code order}. */
    private static NDArray permuteGroups(NDArray x, NDArray order, int unit) {
        Shape s = x.getShape();
        long groups = s.get(0) / unit;
        return x.reshape(groups, unit, s.get(1)).get(order).reshape(s);
    }

    private static float[][] permuteRows(float[][] rows, int[] order, int unit) {
        float[][] out = new float[rows.length][];
        for (int g = 0; g < order.length; g++) {
            for (int u = 0; u < unit; u++) {
                out[g * unit + u] = rows[order[g] * unit + u];
            }
        }
        return out;
    }

    static int[] inverse(int[] permutation) {
        int[] inv = new int[permutation.length];
        for (int i = 0; i < permutation.length; i++) {
            inv[permutation[i]] = i;
        }
        return inv;
    }

    private static float[] flatten(float[][] rows) {
        int width = rows[0].length;
        float[] out = new float[rows.length * width];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, out, r * width, width);
        }
        return out;
    }

    private static long[] toLongs(int[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    /** Unused dtype guard: the tower computes in the loader's dtype. */
    static boolean isFloat(NDArray a) {
        return a.getDataType() == DataType.FLOAT32;
    }
}
