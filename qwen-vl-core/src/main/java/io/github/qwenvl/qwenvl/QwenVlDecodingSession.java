package io.github.qwenvl.qwenvl;

import io.github.qwenvl.nn.KvCache;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.generate.DecodingSession;
import io.github.qwenvl.nn.Trace;

/**
 * One Qwen-VL request: the prompt (image embeddings already computed) and its KV cache. The dynamic-NTK alpha is
 * chosen at prefill from the prompt length and reused for every cached step, as modeling_qwen.py does
 * ({@code _ntk_alpha_cached}), even when the total length later crosses a threshold.
 */
public final class QwenVlDecodingSession implements DecodingSession {

    private final QwenVlNetwork network;
    private final NDManager requestManager;
    private final int[] promptIds;
    private final NDArray images;
    private final KvCache cache;
    private double alpha = 1.0;

    public QwenVlDecodingSession(QwenVlNetwork network, NDManager parent, int[] promptIds, NDArray images, int capacity) {
        this.network = network;
        this.requestManager = parent.newSubManager();
        this.promptIds = promptIds.clone();
        if (images != null) {
            images.attach(requestManager);
        }
        this.images = images;
        QwenVlConfig c = network.config();
        this.cache = new KvCache(requestManager, c.numLayers(), 1, c.numHeads(), c.headDim(), capacity,
                network.text().cacheType());
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    /** The NTK alpha in use (1 until prefill). */
    public double ntkAlpha() {
        return alpha;
    }

    @Override
    public float[] prefill() {
        return prefill(Trace.NONE);
    }

    public float[] prefill(Trace trace) {
        alpha = network.text().ntkAlpha(promptIds.length);
        try (NDManager step = requestManager.newSubManager()) {
            NDArray embeds = network.embedPrompt(step, promptIds, images);
            return lastLogits(network.text().forward(embeds, cache, alpha, trace));
        } finally {
            if (images != null) {
                images.close();
            }
        }
    }

    @Override
    public float[] next(int token) {
        try (NDManager step = requestManager.newSubManager()) {
            NDArray embeds = network.text().embed(step, new int[] {token}).expandDims(0);
            return lastLogits(network.text().forward(embeds, cache, alpha, Trace.NONE));
        }
    }

    private float[] lastLogits(NDArray hidden) {
        long s = hidden.getShape().get(1);
        NDArray last = hidden.get(":, {}:{}", s - 1, s);
        return network.text().logits(last).toType(DataType.FLOAT32, false).toFloatArray();
    }

    public int cachedTokens() {
        return cache.length();
    }

    @Override
    public void close() {
        requestManager.close();
    }
}
