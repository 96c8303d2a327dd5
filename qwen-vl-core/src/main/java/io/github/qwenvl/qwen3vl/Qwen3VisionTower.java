package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.image.ProcessedImage;
import io.github.qwenvl.nn.LayerMatrices;
import io.github.qwenvl.nn.Ops;
import io.github.qwenvl.nn.RowBlocks;
import io.github.qwenvl.nn.Scopes;
import io.github.qwenvl.nn.Tensors;
import io.github.qwenvl.nn.VisionAttention;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.qwen2vl.ImageGrid;
import io.github.qwenvl.nn.Trace;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The Qwen3-VL vision transformer with DeepStack (transformers 5.x {@code Qwen3VLVisionModel}).
 *
 * <p>Data flow for P patches of all images together (D = vision width, O = text width, M = merge 2):
 * pixel values (P, 3·2·16·16) → patch embedding (Conv3d with bias, as a matmul) (P, D) + the learned
 * {@code pos_embed} table (G × G, G = 48 published) bilinearly interpolated (align_corners) to each image's patch
 * grid, rows in merge-block order → blocks (LayerNorm, attention with q/k/v and projection biases and 2-D rotary,
 * full attention within each image; LayerNorm, MLP with tanh-GELU) → merger: LayerNorm (D), 2×2 concat
 * (P/4, 4D), fc1, GELU, fc2 → (P/4, O). After each block named in {@code deepstack_visual_indexes}, its output goes
 * through that level's own merger (2×2 concat first, then LayerNorm over 4D, fc1, GELU, fc2) → (P/4, O).
 *
 * <p>API for the backend: build it once from the checkpoint ({@link #Qwen3VisionTower(Qwen3VisionConfig,
 * WeightLoader, LayerMatrices)}; weight names {@code visual.*}, also found under {@code model.visual.*}), then per
 * request call {@link #forward(NDManager, List, Runnable)} with the request's {@link ProcessedImage}s (their pixel
 * rows written straight into the engine tensor), {@link #forward(NDManager, List, Consumer)} with a writer of the
 * rows, or {@link #forward(NDManager, NDArray, List, Trace)} with a pixel tensor. The {@link Output} holds the image
 * embeddings (P/4, O), image after image, 2×2 blocks in raster order — the rows that replace the prompt's image-pad
 * tokens in order — and one (P/4, O) DeepStack tensor per level, to be added at the same image-token positions to the
 * decoder's hidden states after decoder layer j (j = 0, 1, …) during prefill. All are attached to the given scope.
 *
 * <p>Thread-safe after construction: weights are read-only, every call owns its tensors. The blocks run one after
 * the other in a loop ({@link #blockCount()}); {@link #forward(NDManager, List, Consumer, Runnable)} runs the caller's
 * {@code betweenBlocks} (a cancellation check) before each of them.
 */
public final class Qwen3VisionTower {

    /** The tower's result: image embeddings and the DeepStack features, each (P / merge², outHiddenSize). */
    public record Output(NDArray embeddings, List<NDArray> deepstack) {
        public Output {
            deepstack = List.copyOf(deepstack);
        }
    }

    /** Weights of one block. */
    private record Block(
            NDArray norm1Weight, NDArray norm1Bias, // (D)
            NDArray norm2Weight, NDArray norm2Bias, // (D)
            NDArray qkvWeight, NDArray qkvBias,     // (3D, D), (3D)
            NDArray projWeight, NDArray projBias,   // (D, D), (D)
            NDArray fc1Weight, NDArray fc1Bias,     // (I, D), (I)
            NDArray fc2Weight, NDArray fc2Bias) {   // (D, I), (D)
    }

    /** Weights of a patch merger; {@code postShuffleNorm}: the norm runs over the 4D concatenation (DeepStack). */
    private record Merger(boolean postShuffleNorm, NDArray normWeight, NDArray normBias, NDArray fc1Weight,
                          NDArray fc1Bias, NDArray fc2Weight, NDArray fc2Bias) {
    }

    private static final double NORM_EPS = 1e-6;
    private static final float GELU_TANH_BETA = (float) (Math.sqrt(2.0) * (2.0 / Math.sqrt(Math.PI)) * 0.5);
    private static final float GELU_TANH_KAPPA = 0.044715f;

    private final Qwen3VisionConfig config;
    private final NDArray patchEmbedWeight; // (D, patchDim)
    private final NDArray patchEmbedBias;   // (D)
    private final float[] positionTable;    // (G², D) row-major
    private final LayerMatrices matrices;
    private final List<Block> blocks;
    private final Merger merger;
    private final List<Merger> deepstackMergers;
    private final int[] deepstackIndexes;
    private final float[] inverseFrequencies; // (headDim/4): rotary over (h, w), each half of headDim/2

    private final io.github.qwenvl.EngineTuning tuning;

    /** Float32 copies of every weight. */
    public Qwen3VisionTower(Qwen3VisionConfig config, WeightLoader weights) {
        this(config, weights, LayerMatrices.copies(weights, "visual.blocks."));
    }

    /** @param matrices how the blocks' matrices are held (float32 copies, or widened per block) */
    public Qwen3VisionTower(Qwen3VisionConfig config, WeightLoader weights, LayerMatrices matrices) {
        this(config, weights, matrices, io.github.qwenvl.EngineTuning.DEFAULTS);
    }

    /** @param tuning block sizes of the attention, the rotation and the MLPs */
    public Qwen3VisionTower(Qwen3VisionConfig config, WeightLoader weights, LayerMatrices matrices,
                            io.github.qwenvl.EngineTuning tuning) {
        this.tuning = tuning;
        this.config = config;
        this.matrices = matrices;
        long d = config.hiddenSize();
        long i = config.intermediateSize();
        this.patchEmbedWeight = weights.loadLinear("visual.patch_embed.proj.weight",
                d, config.inChannels(), config.temporalPatchSize(), config.patchSize(), config.patchSize())
                .reshape(d, config.patchDim());
        this.patchEmbedBias = weights.loadLinear("visual.patch_embed.proj.bias", d);
        try (NDArray table = weights.load("visual.pos_embed.weight", config.numPositionEmbeddings(), d)) {
            this.positionTable = table.toFloatArray();
        }
        List<Block> list = new ArrayList<>();
        for (int b = 0; b < config.depth(); b++) {
            String p = "visual.blocks." + b + ".";
            list.add(new Block(
                    weights.load(p + "norm1.weight", d), weights.load(p + "norm1.bias", d),
                    weights.load(p + "norm2.weight", d), weights.load(p + "norm2.bias", d),
                    matrices.matrix(b, "attn.qkv.weight", 3 * d, d), weights.loadLinear(p + "attn.qkv.bias", 3 * d),
                    matrices.matrix(b, "attn.proj.weight", d, d), weights.loadLinear(p + "attn.proj.bias", d),
                    matrices.matrix(b, "mlp.linear_fc1.weight", i, d), weights.loadLinear(p + "mlp.linear_fc1.bias", i),
                    matrices.matrix(b, "mlp.linear_fc2.weight", d, i), weights.loadLinear(p + "mlp.linear_fc2.bias", d)));
        }
        this.blocks = List.copyOf(list);
        this.merger = merger(weights, "visual.merger.", false);
        this.deepstackIndexes = config.deepstackVisualIndexes();
        List<Merger> levels = new ArrayList<>();
        for (int j = 0; j < deepstackIndexes.length; j++) {
            levels.add(merger(weights, "visual.deepstack_merger_list." + j + ".", true));
        }
        this.deepstackMergers = List.copyOf(levels);
        this.inverseFrequencies = inverseFrequencies(weights.manager(), config.headDim() / 2, 10000.0);
    }

    private Merger merger(WeightLoader weights, String prefix, boolean postShuffleNorm) {
        long d = config.hiddenSize();
        long merged = d * config.spatialMergeSize() * config.spatialMergeSize();
        long normWidth = postShuffleNorm ? merged : d;
        return new Merger(postShuffleNorm,
                weights.load(prefix + "norm.weight", normWidth), weights.load(prefix + "norm.bias", normWidth),
                weights.loadLinear(prefix + "linear_fc1.weight", merged, merged),
                weights.loadLinear(prefix + "linear_fc1.bias", merged),
                weights.loadLinear(prefix + "linear_fc2.weight", config.outHiddenSize(), merged),
                weights.loadLinear(prefix + "linear_fc2.bias", config.outHiddenSize()));
    }

    public Qwen3VisionConfig config() {
        return config;
    }

    /** Number of ViT blocks. */
    public int blockCount() {
        return blocks.size();
    }

    /**
     * Encodes images.
     *
     * @param scope       manager owning the result and all intermediates
     * @param pixelValues (P, patchDim), all images concatenated in order (the processor's rows)
     * @param grids       one grid per image, in the same order
     * @param trace       receives intermediates (may be {@link Trace#NONE})
     */
    public Output forward(NDManager scope, NDArray pixelValues, List<ImageGrid> grids, Trace trace) {
        int totalPatches = grids.stream().mapToInt(ImageGrid::patches).sum();
        Shape pixels = pixelValues.getShape();
        if (pixels.get(0) != totalPatches || pixels.get(1) != config.patchDim()) {
            throw new IllegalArgumentException("pixel values " + pixels + " do not match grids " + grids);
        }
        return encode(scope, Ops.linear(pixelValues, patchEmbedWeight, patchEmbedBias), grids, trace, () -> {
        });
    }

    /**
     * Encodes images whose pixel values (P · patchDim, row-major) {@code writePixels} writes into the input tensor,
     * which is freed as soon as the patches are embedded.
     */
    public Output forward(NDManager scope, List<ImageGrid> grids, Consumer<FloatBuffer> writePixels) {
        return forward(scope, grids, writePixels, () -> {
        });
    }

    /**
     * As {@link #forward(NDManager, List, Consumer)}, running {@code betweenBlocks} before every block (a
     * cancellation check may throw from it; the scope's tensors are then the caller's to close).
     */
    public Output forward(NDManager scope, List<ImageGrid> grids, Consumer<FloatBuffer> writePixels,
                          Runnable betweenBlocks) {
        long totalPatches = grids.stream().mapToLong(ImageGrid::patches).sum();
        NDArray embedded;
        try (NDArray input = Tensors.floats(scope, new Shape(totalPatches, config.patchDim()), writePixels)) {
            embedded = Ops.linear(input, patchEmbedWeight, patchEmbedBias);
        }
        return encode(scope, embedded, grids, Trace.NONE, betweenBlocks);
    }

    /**
     * Encodes processed images (from {@code Qwen2VlImageProcessor} with the checkpoint's preprocessor config): their
     * patch rows are written straight into the input tensor, image after image.
     */
    public Output forward(NDManager scope, List<ProcessedImage> images, Runnable betweenBlocks) {
        List<ImageGrid> grids = new ArrayList<>(images.size());
        for (ProcessedImage image : images) {
            if (image.patchDim() != config.patchDim() || image.mergeSize() != config.spatialMergeSize()) {
                throw new IllegalArgumentException("image patches of " + image.patchDim() + " values, merge "
                        + image.mergeSize() + "; the tower takes " + config.patchDim() + ", merge "
                        + config.spatialMergeSize());
            }
            grids.add(new ImageGrid(image.gridT(), image.gridH(), image.gridW()));
        }
        return forward(scope, grids, buffer -> {
            for (ProcessedImage image : images) {
                image.writePixelValues(buffer);
            }
        }, betweenBlocks);
    }

    /** The tower from the patch embeddings (P, D) on, which it owns. */
    private Output encode(NDManager scope, NDArray hidden, List<ImageGrid> grids, Trace trace, Runnable betweenBlocks) {
        int totalPatches = grids.stream().mapToInt(ImageGrid::patches).sum();
        trace.record("patch_embed", hidden);
        NDArray positions = Tensors.floats(scope, new Shape(totalPatches, config.hiddenSize()),
                out -> writeInterpolatedPositions(grids, out));
        trace.record("pos_embed_interp", positions);
        hidden.addi(positions);
        positions.close();
        trace.record("hidden_after_pos", hidden);

        int[][] coordinates = patchCoordinates(grids); // [2][P]: row, column
        if (trace.enabled()) {
            long[] ids = new long[2 * totalPatches];
            for (int r = 0; r < 2; r++) {
                for (int p = 0; p < totalPatches; p++) {
                    ids[r * totalPatches + p] = coordinates[r][p];
                }
            }
            trace.record("vision_position_ids", scope.create(ids, new Shape(2, totalPatches)));
        }
        float[] angles = rotaryAngles(coordinates);
        if (trace.enabled()) {
            trace.record("rotary_pos_emb", scope.create(angles, new Shape(totalPatches, angles.length / totalPatches)));
        }
        int[] segments = imageSegments(grids);
        if (trace.enabled()) {
            long[] cu = new long[segments.length];
            for (int k = 0; k < cu.length; k++) {
                cu[k] = segments[k];
            }
            trace.record("cu_seqlens", scope.create(cu));
        }
        NDArray[] cosSin = VisionAttention.cosSin(scope, angles, totalPatches,
                (float) (1.0 / Math.sqrt(config.headDim())));

        List<NDArray> deepstack = new ArrayList<>();
        try (LayerMatrices.Pass pass = matrices.begin()) {
            for (int b = 0; b < blocks.size(); b++) {
                betweenBlocks.run();
                io.github.qwenvl.engine.Checkpoints.reached(io.github.qwenvl.CancellationToken.Checkpoint.VISION_BLOCK, b);
                pass.prepare(b);
                Block weights = blocks.get(b);
                hidden = Scopes.run(scope, hidden, true, x -> block(weights, x, cosSin[0], cosSin[1], segments));
                trace.record("block_" + b, hidden);
                for (int j = 0; j < deepstackIndexes.length; j++) {
                    if (deepstackIndexes[j] == b) {
                        Merger level = deepstackMergers.get(j);
                        NDArray feature = Scopes.run(scope, hidden, false, x -> merge(level, x));
                        trace.record("deepstack_" + j, feature);
                        deepstack.add(feature);
                    }
                }
            }
        }
        cosSin[0].close();
        cosSin[1].close();
        trace.record("last_hidden_state", hidden);
        NDArray out = Scopes.run(scope, hidden, true, x -> merge(merger, x));
        trace.record("output", out);
        return new Output(out, deepstack);
    }

    /** {@code fc2(GELU(fc1(shuffle(norm(x)))))}, or with the norm after the 2×2 shuffle. */
    private NDArray merge(Merger m, NDArray x) {
        long unit = (long) config.spatialMergeSize() * config.spatialMergeSize();
        long rows = x.getShape().get(0) / unit;
        long width = config.hiddenSize() * unit;
        NDArray merged = m.postShuffleNorm()
                ? Ops.layerNorm(x.reshape(rows, width), m.normWeight(), m.normBias(), NORM_EPS)
                : Ops.layerNorm(x, m.normWeight(), m.normBias(), NORM_EPS).reshape(rows, width);
        return Ops.linear(Ops.gelu(Ops.linear(merged, m.fc1Weight(), m.fc1Bias())), m.fc2Weight(), m.fc2Bias());
    }

    /** One ViT block, {@code h = x + attention(norm1(x)); h + mlp(norm2(h))}, both sums made in place in x. */
    private NDArray block(Block w, NDArray x, NDArray cos, NDArray sin, int[] segments) {
        NDManager blockScope = x.getManager();
        NDArray h = Scopes.run(blockScope, x, false, in -> {
            NDArray normed = Ops.layerNorm(in, w.norm1Weight(), w.norm1Bias(), NORM_EPS);
            VisionAttention.addInto(in, normed, w.qkvWeight(), w.qkvBias(), w.projWeight(), w.projBias(),
                    config.numHeads(), config.headDim(), cos, sin, segments, tuning.mlpBlockElements(),
                    tuning.visionAttentionBlockElements());
            return in;
        });
        return Scopes.run(blockScope, h, false, in -> {
            NDArray normed2 = Ops.layerNorm(in, w.norm2Weight(), w.norm2Bias(), NORM_EPS);
            return RowBlocks.addLayer(tuning.mlpBlockElements(), in, normed2, w.fc1Weight().getShape().get(0), rows ->
                    Ops.linear(activation(Ops.linear(rows, w.fc1Weight(), w.fc1Bias())), w.fc2Weight(), w.fc2Bias()));
        });
    }

    private NDArray activation(NDArray x) {
        return config.hiddenAct().equals("gelu") ? Ops.gelu(x) : geluTanh(x);
    }

    /** {@code gelu(x, approximate="tanh")}: {@code 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))} in float32. */
    static NDArray geluTanh(NDArray x) {
        NDManager owner = x.getManager();
        try (NDManager scope = owner.newSubManager()) {
            scope.tempAttachAll(x);
            NDArray cube = x.mul(x).muli(x);
            NDArray inner = cube.muli(GELU_TANH_KAPPA).addi(x).muli(GELU_TANH_BETA);
            NDArray gate = inner.tanh().addi(1f);
            NDArray out = x.mul(0.5f).muli(gate);
            out.attach(owner);
            return out;
        }
    }

    /**
     * The learned (G × G, D) table bilinearly interpolated (align_corners) to each image's (h, w) patch grid, rows in
     * merge-block order, repeated over t — written row by row, as transformers' {@code fast_pos_embed_interpolate}
     * computes it in float32: the four corner rows weighted by {@code (1−dh)(1−dw)}, {@code (1−dh)dw},
     * {@code dh(1−dw)}, {@code dh·dw} and summed in that order.
     */
    private void writeInterpolatedPositions(List<ImageGrid> grids, FloatBuffer out) {
        int side = config.gridPerSide();
        int d = config.hiddenSize();
        int m = config.spatialMergeSize();
        float[] row = new float[d];
        for (ImageGrid g : grids) {
            float[] hIdx = linspace(side - 1, g.h());
            float[] wIdx = linspace(side - 1, g.w());
            for (int t = 0; t < g.t(); t++) {
                for (int bh = 0; bh < g.h() / m; bh++) {
                    for (int bw = 0; bw < g.w() / m; bw++) {
                        for (int ih = 0; ih < m; ih++) {
                            for (int iw = 0; iw < m; iw++) {
                                float hy = hIdx[bh * m + ih];
                                float wx = wIdx[bw * m + iw];
                                int h0 = (int) hy;
                                int w0 = (int) wx;
                                int h1 = Math.min(h0 + 1, side - 1);
                                int w1 = Math.min(w0 + 1, side - 1);
                                float dh = hy - h0;
                                float dw = wx - w0;
                                float a = (1 - dh) * (1 - dw);
                                float b = (1 - dh) * dw;
                                float c = dh * (1 - dw);
                                float e = dh * dw;
                                int r00 = (h0 * side + w0) * d;
                                int r01 = (h0 * side + w1) * d;
                                int r10 = (h1 * side + w0) * d;
                                int r11 = (h1 * side + w1) * d;
                                for (int k = 0; k < d; k++) {
                                    row[k] = positionTable[r00 + k] * a + positionTable[r01 + k] * b
                                            + positionTable[r10 + k] * c + positionTable[r11 + k] * e;
                                }
                                out.put(row);
                            }
                        }
                    }
                }
            }
        }
    }

    /** {@code torch.linspace(0, end, steps)} in float32 (the first half counted from 0, the second from the end). */
    static float[] linspace(float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            return out;
        }
        float step = end / (float) (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++) {
            out[i] = i < halfway ? 0f + step * (float) i : end - step * (float) (steps - i - 1);
        }
        return out;
    }

    /** [2][P]: the (row, column) of every patch in the processor's order (merge blocks row-major, then inside). */
    private int[][] patchCoordinates(List<ImageGrid> grids) {
        int m = config.spatialMergeSize();
        int total = grids.stream().mapToInt(ImageGrid::patches).sum();
        int[][] out = new int[2][total];
        int p = 0;
        for (ImageGrid g : grids) {
            for (int t = 0; t < g.t(); t++) {
                for (int bh = 0; bh < g.h() / m; bh++) {
                    for (int bw = 0; bw < g.w() / m; bw++) {
                        for (int ih = 0; ih < m; ih++) {
                            for (int iw = 0; iw < m; iw++) {
                                out[0][p] = bh * m + ih;
                                out[1][p] = bw * m + iw;
                                p++;
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** (P, headDim/2) row-major: {@code cat(row · inv_freq, col · inv_freq)}, one float32 product each. */
    private float[] rotaryAngles(int[][] coordinates) {
        int f = inverseFrequencies.length;
        int total = coordinates[0].length;
        float[] out = new float[total * 2 * f];
        for (int p = 0; p < total; p++) {
            for (int j = 0; j < f; j++) {
                out[p * 2 * f + j] = (float) coordinates[0][p] * inverseFrequencies[j];
                out[p * 2 * f + f + j] = (float) coordinates[1][p] * inverseFrequencies[j];
            }
        }
        return out;
    }

    /** cu_seqlens: one segment per image frame (full attention within each image). */
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

    /**
     * {@code 1 / theta^(arange(0, dim, 2) / dim)} in float32 — (dim/2) values, computed by libtorch so the float32
     * {@code pow} rounds exactly as in transformers.
     */
    private static float[] inverseFrequencies(NDManager manager, int dim, double theta) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray exponents = scope.arange(0, dim, 2).toType(DataType.FLOAT32, false).div((float) dim);
            NDArray powers = exponents.getNDArrayInternal().rpow((float) theta);
            return powers.getNDArrayInternal().rdiv(1.0f).toFloatArray();
        }
    }
}
