package io.github.qwenvl.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.checkpoint.TensorStore;

import java.util.ArrayList;
import java.util.List;

/** Visual encoder + decoder of a Qwen-VL checkpoint, and the prompt embedding with images spliced in. */
public final class QwenVlNetwork {

    private final QwenVlConfig config;
    private final QwenVlVisionTower vision;
    private final QwenVlTextModel text;
    private final long parameters;
    private final long bytes;

    /** @param visualOnly load only {@code transformer.visual.*} (visual-encoder-only checkpoints) */
    public QwenVlNetwork(QwenVlConfig config, TensorStore store, NDManager manager, DataType matrixType, boolean visualOnly) {
        this(config, store, null, manager, matrixType, visualOnly, 1, io.github.qwenvl.EngineTuning.DEFAULTS);
    }

    /**
     * @param float32Cache float32 copies of the store's 16-bit tensors to map instead of widening ({@link
     *                     io.github.qwenvl.checkpoint.Float32WeightCache}), or null
     * @param fillThreads  threads that widen 16-bit weights while loading
     * @param tuning       block sizes (the prefill's attention blocks)
     */
    public QwenVlNetwork(QwenVlConfig config, TensorStore store, io.github.qwenvl.checkpoint.SafetensorsCheckpoint float32Cache,
                         NDManager manager, DataType matrixType, boolean visualOnly, int fillThreads,
                         io.github.qwenvl.EngineTuning tuning) {
        this.config = config;
        // closing the loader waits for its fill threads, also when a constructor below fails: only then may the
        // caller close the manager that owns the tensors being filled
        try (QwenVlWeights w = new QwenVlWeights(store, float32Cache, manager, matrixType, fillThreads)) {
            this.vision = new QwenVlVisionTower(config.visual(), w);
            this.text = visualOnly ? null : new QwenVlTextModel(config, w, tuning);
            w.finish();
            this.parameters = w.parameters();
            this.bytes = w.bytes();
        }
    }

    public QwenVlConfig config() {
        return config;
    }

    public QwenVlVisionTower vision() {
        return vision;
    }

    public QwenVlTextModel text() {
        return text;
    }

    public long parameterCount() {
        return parameters;
    }

    public long weightBytes() {
        return bytes;
    }

    /**
     * (1, T, H) prompt embeddings: token embeddings, with the rows strictly between each {@code <img>} and the
     * following {@code </img>} replaced by that image's embeddings (images in span order).
     *
     * @param images (B, Q, E) or null when the prompt has no spans
     */
    public NDArray embedPrompt(NDManager scope, int[] ids, NDArray images) {
        int start = config.visual().imageStartId();
        int end = start + 1;
        int q = config.visual().nQueries();
        List<NDArray> pieces = new ArrayList<>();
        int from = 0;
        int image = 0;
        for (int a = 0; a < ids.length; a++) {
            if (ids[a] != start) {
                continue;
            }
            int b = a + 1;
            while (b < ids.length && ids[b] != end) {
                b++;
            }
            if (b >= ids.length) {
                throw new IllegalArgumentException("<img> at " + a + " has no </img>");
            }
            if (b - a - 1 != q) {
                throw new IllegalArgumentException("image span at " + a + " holds " + (b - a - 1) + " ids, not " + q);
            }
            if (images == null || image >= images.getShape().get(0)) {
                throw new IllegalArgumentException("prompt has more image spans than images");
            }
            pieces.add(text.embed(scope, java.util.Arrays.copyOfRange(ids, from, a + 1)));
            pieces.add(images.get(image++));
            from = b;
            a = b;
        }
        if (images != null && image != images.getShape().get(0)) {
            throw new IllegalArgumentException(images.getShape().get(0) + " images for " + image + " image spans");
        }
        if (from < ids.length) {
            pieces.add(text.embed(scope, java.util.Arrays.copyOfRange(ids, from, ids.length)));
        }
        NDArray all = pieces.size() == 1 ? pieces.get(0) : concat(pieces);
        return all.expandDims(0);
    }

    private static NDArray concat(List<NDArray> pieces) {
        return new ai.djl.ndarray.NDList(pieces.toArray(new NDArray[0])).stream().reduce((x, y) -> x.concat(y, 0)).orElseThrow();
    }
}
