package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.nn.KvCache;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.QwenVlException;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.nn.LayerMatrices;
import io.github.qwenvl.nn.cpu.Kernels;

import java.util.List;

/**
 * The Qwen2-VL / Qwen2.5-VL network: vision tower + Qwen2 decoder, and the glue between them
 * (image embeddings scattered into the {@code <|image_pad|>} positions, M-RoPE position ids).
 * Holds weights only; per-request state lives in {@link KvCache} and the caller's scope manager.
 */
public final class Qwen2VlNetwork {

    private final ModelConfig config;
    private final Qwen2VisionTower vision;
    private final Qwen2TextModel text;
    private final long parameterCount;
    private final long weightBytes;
    private final QwenVlOptions.DecodeMode decodeMode;
    private final WeightPlacement placement;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Qwen2VlNetwork.class);

    public Qwen2VlNetwork(ModelConfig config, SafetensorsCheckpoint checkpoint, NDManager manager, DataType dataType) {
        this(config, checkpoint, manager, dataType, QwenVlOptions.DecodeMode.AUTO, null);
    }

    /**
     * @param decodeMode where decode steps run by default (see {@link QwenVlOptions#decodeMode()}); with AUTO or
     *                   JAVA the Java decoder maps the language model's weights when it can read them
     * @param threads    threads of the Java decoder (null = available processors, as the engine)
     */
    public Qwen2VlNetwork(ModelConfig config, SafetensorsCheckpoint checkpoint, NDManager manager, DataType dataType,
                          QwenVlOptions.DecodeMode decodeMode, Integer threads) {
        this(config, checkpoint, null, manager, dataType, decodeMode, threads);
    }

    /** @param float32Cache float32 copies of the checkpoint's 16-bit tensors to map instead of widening (or null) */
    public Qwen2VlNetwork(ModelConfig config, SafetensorsCheckpoint checkpoint, SafetensorsCheckpoint float32Cache,
                          NDManager manager, DataType dataType, QwenVlOptions.DecodeMode decodeMode, Integer threads) {
        this(config, checkpoint, float32Cache, manager, dataType, decodeMode, threads, QwenVlOptions.WeightMode.AUTO);
    }

    /** @param weightMode how the engine's float32 weights are held (see {@link QwenVlOptions#weightMode()}) */
    public Qwen2VlNetwork(ModelConfig config, SafetensorsCheckpoint checkpoint, SafetensorsCheckpoint float32Cache,
                          NDManager manager, DataType dataType, QwenVlOptions.DecodeMode decodeMode, Integer threads,
                          QwenVlOptions.WeightMode weightMode) {
        this(config, checkpoint, float32Cache, manager, dataType, decodeMode, threads, weightMode,
                io.github.qwenvl.EngineTuning.DEFAULTS);
    }

    /** @param tuning block sizes of the load, the prefill, the vision tower and the Java KV cache */
    public Qwen2VlNetwork(ModelConfig config, SafetensorsCheckpoint checkpoint, SafetensorsCheckpoint float32Cache,
                          NDManager manager, DataType dataType, QwenVlOptions.DecodeMode decodeMode, Integer threads,
                          QwenVlOptions.WeightMode weightMode, io.github.qwenvl.EngineTuning tuning) {
        this.config = config;
        int count = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        this.decodeMode = decodeMode == null ? QwenVlOptions.DecodeMode.AUTO : decodeMode;
        Qwen2VlConfig qwen2 = Qwen2VlConfig.of(config);
        WeightPlacement placed = null;
        // closing the loader waits for its fill threads, also when a constructor below fails: only then may
        // the caller close the manager that owns the tensors being filled
        try (WeightLoader weights = new WeightLoader(checkpoint, float32Cache, manager, dataType, count,
                tuning.loadSliceElements())) {
            placed = new WeightPlacement(qwen2.text(), weights, checkpoint, float32Cache != null, manager, dataType,
                    this.decodeMode, weightMode, count, tuning);
            this.placement = placed;
            LayerMatrices visionMatrices = placed.matrices(weights, "visual.blocks.");
            LayerMatrices textMatrices = placed.matrices(weights, "model.layers.");
            this.vision = new Qwen2VisionTower(qwen2.vision(), weights, visionMatrices, tuning);
            this.text = new Qwen2TextModel(qwen2.text(), weights, textMatrices, placed.handOverDecoder(),
                    placed.inverseFrequencies(), tuning);
            weights.countHeld(visionMatrices.slotBytes() + textMatrices.slotBytes());
            weights.finish();
            this.parameterCount = weights.parameterCount();
            this.weightBytes = placed.weightBytes(weights);
            placed.log(LOG, visionMatrices.slotBytes() + textMatrices.slotBytes());
        } catch (RuntimeException e) {
            // a missing or misshapen weight of the towers: the threads started above would otherwise outlive us
            if (placed != null) {
                placed.close();
            }
            throw e;
        }
    }

    /** Why this network gets no Java decoder (null: it gets one); throws where decodeMode demands one that cannot be. */
    public static String javaDecoderReason(io.github.qwenvl.config.Qwen2TextConfig text, WeightLoader weights,
                                           NDManager manager, DataType dataType, QwenVlOptions.DecodeMode mode) {
        if (mode == QwenVlOptions.DecodeMode.ENGINE) {
            return "decodeMode ENGINE";
        }
        String reason = null;
        if (manager.getDevice().isGpu()) {
            reason = "the model runs on " + manager.getDevice();
        } else if (dataType != DataType.FLOAT32) {
            reason = "matrices are held as " + dataType;
        } else {
            reason = Qwen2JavaDecoder.unsupportedReason(text, weights);
        }
        if (reason == null && mode == QwenVlOptions.DecodeMode.AUTO && !Kernels.vectorized()) {
            reason = "the Vector API is not enabled (add --add-modules jdk.incubator.vector to the JVM options);"
                    + " the engine is faster than scalar Java kernels";
        }
        if (reason != null) {
            if (mode.requiresJavaDecoder()) {
                throw new QwenVlException("decodeMode " + mode + " is not possible: " + reason);
            }
            LOG.info("Decode on the engine (f32): {}", reason);
        }
        return reason;
    }

    /** How the engine's float32 weights are held: FLOAT32_COPIES or WIDEN_PER_LAYER (never AUTO). */
    public QwenVlOptions.WeightMode weightMode() {
        return placement.weightMode();
    }

    /** The default decode mode this network was loaded with. */
    public QwenVlOptions.DecodeMode decodeMode() {
        return decodeMode;
    }

    /** The Java decoder, or null when decode runs on the engine only. */
    public Qwen2JavaDecoder javaDecoder() {
        return placement.javaDecoder();
    }

    /** Stops the Java decoder's and the widening's threads (float32 copies stay usable by the engine). */
    public void close() {
        placement.close();
    }

    /** Parameters loaded. */
    public long parameterCount() {
        return parameterCount;
    }

    /** Bytes of weights held, in the dtypes held. */
    public long weightBytes() {
        return weightBytes;
    }

    public ModelConfig config() {
        return config;
    }

    public Qwen2VisionTower vision() {
        return vision;
    }

    public Qwen2TextModel text() {
        return text;
    }

    /**
     * Token embeddings with image embeddings in place of the image pads.
     *
     * @param ids         (B, S) token ids
     * @param imageEmbeds (N, H) merged image tokens of all images of the batch in order, or null;
     *                    N must equal the number of {@code <|image_pad|>} ids
     * @return (B, S, H)
     */
    public NDArray embedPrompt(NDManager scope, long[][] ids, NDArray imageEmbeds) {
        return embedPrompt(text, scope, ids, Qwen2VlConfig.of(config).text().imageTokenId(), imageEmbeds);
    }

    /**
     * {@code text}'s token embeddings of {@code ids} with {@code imageEmbeds} in place of the {@code imageToken} ids,
     * as {@link #embedPrompt(NDManager, long[][], NDArray)} (shared by the architectures on the Qwen2-style decoder).
     */
    public static NDArray embedPrompt(Qwen2TextModel text, NDManager scope, long[][] ids, int imageToken,
                                      NDArray imageEmbeds) {
        NDArray embeds = text.embed(scope, ids);
        int b = ids.length;
        int s = ids[0].length;
        long[] source = new long[b * s];
        int next = 0;
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < s; i++) {
                source[r * s + i] = ids[r][i] == imageToken ? (long) b * s + next++ : (long) r * s + i;
            }
        }
        long available = imageEmbeds == null ? 0 : imageEmbeds.getShape().get(0);
        if (next != available) {
            throw new IllegalArgumentException("Image features and image tokens do not match: tokens " + next
                    + ", features " + available);
        }
        if (next == 0) {
            return embeds;
        }
        long h = embeds.getShape().get(2);
        NDArray rows = NDArrays.concat(new ai.djl.ndarray.NDList(embeds.reshape(-1, h), imageEmbeds.toType(embeds.getDataType(), false)), 0);
        return rows.get(scope.create(source)).reshape(b, s, h);
    }

    /** M-RoPE positions for one row of ids. */
    public RopeIndex ropeIndex(int[] ids, int[] attentionMask, List<ImageGrid> grids) {
        return RopeIndex.compute(ids, attentionMask, grids, Qwen2VlConfig.of(config).text().imageTokenId(), Qwen2VlConfig.of(config).vision().spatialMergeSize());
    }
}
