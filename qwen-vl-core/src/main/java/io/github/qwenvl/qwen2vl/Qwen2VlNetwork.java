package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.nn.WeightLoader;

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

    public Qwen2VlNetwork(ModelConfig config, SafetensorsCheckpoint checkpoint, NDManager manager, DataType dataType) {
        this.config = config;
        WeightLoader weights = new WeightLoader(checkpoint, manager, dataType);
        this.vision = new Qwen2VisionTower(config.vision(), weights);
        this.text = new Qwen2TextModel(config.text(), weights);
        this.parameterCount = weights.parameterCount();
        this.weightBytes = weights.loadedBytes();
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
        NDArray embeds = text.embed(scope, ids);
        int imageToken = config.text().imageTokenId();
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
        return RopeIndex.compute(ids, attentionMask, grids, config.text().imageTokenId(), config.vision().spatialMergeSize());
    }
}
