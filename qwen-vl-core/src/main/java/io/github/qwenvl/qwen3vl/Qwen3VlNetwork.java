package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.nn.LayerMatrices;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.qwen2vl.ImageGrid;
import io.github.qwenvl.qwen2vl.Qwen2JavaDecoder;
import io.github.qwenvl.qwen2vl.Qwen2TextModel;
import io.github.qwenvl.qwen2vl.Qwen2VlNetwork;
import io.github.qwenvl.qwen2vl.RopeIndex;
import io.github.qwenvl.qwen2vl.WeightPlacement;

import java.util.List;

/**
 * The Qwen3-VL network: the vision tower ({@link Qwen3VisionTower}, image embeddings and DeepStack features), the
 * Qwen3 decoder (the shared {@link Qwen2TextModel} with no attention biases, per-head q/k
 * RMSNorm and interleaved M-RoPE; the {@link Qwen2JavaDecoder} for decode steps) and the glue to the vision tower's
 * output: image embeddings scattered into the {@code <|image_pad|>} positions, the rope index, and DeepStack (the
 * tower's deepstack features added to the hidden states at the image positions after decoder layers 0, 1, ...).
 * Holds weights only; per-request state lives in the session.
 */
public final class Qwen3VlNetwork {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Qwen3VlNetwork.class);

    private final ModelConfig config;
    private final Qwen3VlConfig qwen3;
    private final Qwen2TextModel text;
    private final Qwen3VisionTower vision;
    private final QwenVlOptions.DecodeMode decodeMode;
    private final WeightPlacement placement;
    private final long parameterCount;
    private final long weightBytes;

    /**
     * @param float32Cache float32 copies of the checkpoint's 16-bit tensors to map instead of widening (or null)
     * @param decodeMode   where decode steps run by default (see {@link QwenVlOptions#decodeMode()})
     * @param threads      threads of the Java decoder and the widening (null = available processors)
     * @param weightMode   how the engine's float32 weights are held (see {@link QwenVlOptions#weightMode()})
     */
    public Qwen3VlNetwork(ModelConfig config, SafetensorsCheckpoint checkpoint, SafetensorsCheckpoint float32Cache,
                          NDManager manager, DataType dataType, QwenVlOptions.DecodeMode decodeMode, Integer threads,
                          QwenVlOptions.WeightMode weightMode) {
        this(config, checkpoint, float32Cache, manager, dataType, decodeMode, threads, weightMode,
                io.github.qwenvl.EngineTuning.DEFAULTS);
    }

    /** @param tuning block sizes, KV-cache pages and load slices (see {@link io.github.qwenvl.EngineTuning}) */
    public Qwen3VlNetwork(ModelConfig config, SafetensorsCheckpoint checkpoint, SafetensorsCheckpoint float32Cache,
                          NDManager manager, DataType dataType, QwenVlOptions.DecodeMode decodeMode, Integer threads,
                          QwenVlOptions.WeightMode weightMode, io.github.qwenvl.EngineTuning tuning) {
        this.config = config;
        this.qwen3 = Qwen3VlConfig.of(config);
        int count = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        this.decodeMode = moeDecodeMode(qwen3.moe(), decodeMode == null ? QwenVlOptions.DecodeMode.AUTO : decodeMode);
        WeightPlacement placed = null;
        try (WeightLoader weights = new WeightLoader(checkpoint, float32Cache, manager, dataType, count,
                tuning.loadSliceElements())) {
            placed = new WeightPlacement(qwen3.text(), weights, checkpoint, float32Cache != null, manager, dataType,
                    this.decodeMode, weightMode, count, tuning);
            this.placement = placed;
            LayerMatrices visionMatrices = placed.matrices(weights, "visual.blocks.");
            this.vision = new Qwen3VisionTower(qwen3.vision(), weights, visionMatrices, tuning);
            LayerMatrices textMatrices = placed.matrices(weights, "model.layers.");
            Qwen3MoeConfig moe = qwen3.moe();
            long hidden = qwen3.text().hiddenSize();
            this.text = new Qwen2TextModel(qwen3.text(), weights, textMatrices, placed.handOverDecoder(),
                    placed.inverseFrequencies(), tuning,
                    layer -> moe != null && moe.sparse(layer) ? new Qwen3MoeMlp(moe, weights, layer, hidden) : null);
            weights.countHeld(visionMatrices.slotBytes() + textMatrices.slotBytes());
            weights.finish();
            this.parameterCount = weights.parameterCount();
            this.weightBytes = placed.weightBytes(weights);
            placed.log(LOG, visionMatrices.slotBytes() + textMatrices.slotBytes());
        } catch (RuntimeException e) {
            if (placed != null) {
                placed.close();
            }
            throw e;
        }
    }

    /**
     * The decode mode of a MoE checkpoint: the Java decoder has no mixture-of-experts layers, so its decode steps run
     * on the engine (AUTO becomes ENGINE; JAVA and JAVA_INT8 are refused). A dense checkpoint keeps {@code mode}.
     */
    static QwenVlOptions.DecodeMode moeDecodeMode(Qwen3MoeConfig moe, QwenVlOptions.DecodeMode mode) {
        if (moe == null || mode == QwenVlOptions.DecodeMode.ENGINE) {
            return mode;
        }
        if (mode.requiresJavaDecoder()) {
            throw new io.github.qwenvl.QwenVlException("decodeMode " + mode + " is not possible: the Java decoder has"
                    + " no mixture-of-experts layers (Qwen3-VL MoE decodes on the engine)");
        }
        LOG.info("Decode on the engine (f32): the checkpoint's MLPs are a mixture of {} experts", moe.experts());
        return QwenVlOptions.DecodeMode.ENGINE;
    }

    public ModelConfig config() {
        return config;
    }

    public Qwen3VlConfig qwen3() {
        return qwen3;
    }

    public Qwen2TextModel text() {
        return text;
    }

    public Qwen3VisionTower vision() {
        return vision;
    }

    /** The Java decoder, or null when decode runs on the engine only. */
    public Qwen2JavaDecoder javaDecoder() {
        return placement.javaDecoder();
    }

    public QwenVlOptions.DecodeMode decodeMode() {
        return decodeMode;
    }

    public QwenVlOptions.WeightMode weightMode() {
        return placement.weightMode();
    }

    public long parameterCount() {
        return parameterCount;
    }

    public long weightBytes() {
        return weightBytes;
    }

    /** Stops the Java decoder's and the widening's threads. */
    public void close() {
        placement.close();
    }

    /**
     * Token embeddings with image embeddings in place of the image pads.
     *
     * @param ids         (B, S) token ids
     * @param imageEmbeds (N, H) merged image tokens of all images of the batch in order, or null; N must equal the
     *                    number of {@code <|image_pad|>} ids
     * @return (B, S, H)
     */
    public NDArray embedPrompt(NDManager scope, long[][] ids, NDArray imageEmbeds) {
        return Qwen2VlNetwork.embedPrompt(text, scope, ids, qwen3.text().imageTokenId(), imageEmbeds);
    }

    /**
     * Interleaved M-RoPE positions for one row of ids, as Qwen3-VL's get_rope_index: padding positions hold 0, and the
     * rope delta is max position + 1 − the number of real (unpadded) tokens.
     */
    public RopeIndex ropeIndex(int[] ids, int[] attentionMask, List<ImageGrid> grids) {
        RopeIndex index = RopeIndex.compute(ids, attentionMask, grids, qwen3.text().imageTokenId(),
                qwen3.spatialMergeSize(), 0);
        int padding = 0;
        if (attentionMask != null) {
            for (int m : attentionMask) {
                padding += m == 0 ? 1 : 0;
            }
        }
        return padding == 0 ? index : new RopeIndex(index.positions(), index.ropeDelta() + padding);
    }

    /**
     * DeepStack: after decoder layer j (j &lt; {@code deepstack.size()}), adds level j's features (N, H) to the hidden
     * states at the image-token positions of {@code ids}, in order ({@code hidden[visual_pos_masks] += embeds}).
     *
     * @param deepstack the vision tower's deepstack features, one (N, H) tensor per level; empty: no hook
     */
    public Qwen2TextModel.LayerHook deepstackHook(long[][] ids, List<NDArray> deepstack) {
        if (deepstack == null || deepstack.isEmpty()) {
            return Qwen2TextModel.LayerHook.NONE;
        }
        int imageToken = qwen3.text().imageTokenId();
        return (layer, hidden) -> {
            if (layer >= deepstack.size()) {
                return;
            }
            NDArray features = deepstack.get(layer);
            long next = 0;
            for (int r = 0; r < ids.length; r++) {
                int i = 0;
                while (i < ids[r].length) {
                    if (ids[r][i] != imageToken) {
                        i++;
                        continue;
                    }
                    int from = i;
                    while (i < ids[r].length && ids[r][i] == imageToken) {
                        i++;
                    }
                    long rows = i - from;
                    try (NDManager run = hidden.getManager().newSubManager()) {
                        NDArray target = hidden.get("{}, {}:{}", r, from, i); // a view: written through
                        target.attach(run);
                        NDArray add = features.get("{}:{}", next, next + rows);
                        add.attach(run);
                        target.addi(add.toType(target.getDataType(), false));
                    }
                    next += rows;
                }
            }
            if (next != features.getShape().get(0)) {
                throw new IllegalArgumentException("DeepStack level " + layer + " has " + features.getShape().get(0)
                        + " rows for " + next + " image tokens");
            }
        };
    }
}
