package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.generate.DecodeBatcher;
import io.github.qwenvl.generate.DecodingSession;
import io.github.qwenvl.nn.KvCache;
import io.github.qwenvl.qwen2vl.ImageGrid;
import io.github.qwenvl.qwen2vl.Qwen2JavaDecoder;
import io.github.qwenvl.qwen2vl.RopeIndex;
import io.github.qwenvl.nn.Trace;

import java.util.ArrayList;
import java.util.List;

/**
 * One Qwen3-VL request: the prompt (with image embeddings and DeepStack features already computed) and its KV cache.
 * The prefill runs on the engine with the DeepStack additions; decode steps on the Java decoder or the engine.
 */
public final class Qwen3VlDecodingSession implements DecodingSession {

    private final Qwen3VlNetwork network;
    private final NDManager requestManager;
    private final int[] promptIds;
    private final List<ImageGrid> grids;
    private final NDArray imageEmbeds; // (N, H) owned by requestManager, null without images
    private final List<NDArray> deepstack; // (N, H) per level, owned by requestManager
    private final KvCache cache;
    private final Qwen2JavaDecoder decoder;
    private final Qwen2JavaDecoder.State javaState;
    /** Shares decode steps with the model's other running sequences; null: steps run alone. */
    private final DecodeBatcher<Qwen2JavaDecoder.State> batcher;
    private DecodeBatcher<Qwen2JavaDecoder.State>.Sequence sequence; // joined at the first decode step
    private long ropeDelta;

    /**
     * @param imageEmbeds merged image tokens for the prompt's image pads (or null), and {@code deepstack} their
     *                    DeepStack features: attached to a manager this session may close (they move into the
     *                    session's own manager)
     * @param decodeMode  ENGINE: decode steps on the engine; JAVA / JAVA_INT8: in Java (the network must have a Java
     *                    decoder); AUTO or null: in Java when the network has a Java decoder
     */
    public Qwen3VlDecodingSession(Qwen3VlNetwork network, NDManager parent, int[] promptIds, List<ImageGrid> grids,
                                  NDArray imageEmbeds, List<NDArray> deepstack, int capacity,
                                  QwenVlOptions.DecodeMode decodeMode) {
        this(network, parent, promptIds, grids, imageEmbeds, deepstack, capacity, decodeMode, null);
    }

    /**
     * As above, Java decode steps shared through {@code batcher} (the network's Java decoder's) with the model's other
     * running sequences; null: each step runs alone.
     */
    public Qwen3VlDecodingSession(Qwen3VlNetwork network, NDManager parent, int[] promptIds, List<ImageGrid> grids,
                                  NDArray imageEmbeds, List<NDArray> deepstack, int capacity,
                                  QwenVlOptions.DecodeMode decodeMode, DecodeBatcher<Qwen2JavaDecoder.State> batcher) {
        if (decodeMode != null && decodeMode.requiresJavaDecoder() && network.javaDecoder() == null) {
            throw new IllegalStateException("decode mode " + decodeMode + ", but this network has no Java decoder"
                    + " (loaded with " + network.decodeMode() + ")");
        }
        this.network = network;
        this.decoder = decodeMode == QwenVlOptions.DecodeMode.ENGINE ? null : network.javaDecoder();
        this.javaState = decoder == null ? null : decoder.newState(capacity);
        this.batcher = decoder == null ? null : batcher;
        this.requestManager = parent.newSubManager();
        this.promptIds = promptIds.clone();
        this.grids = List.copyOf(grids);
        if (imageEmbeds != null) {
            imageEmbeds.attach(requestManager);
        }
        this.imageEmbeds = imageEmbeds;
        List<NDArray> levels = new ArrayList<>();
        if (deepstack != null) {
            for (NDArray level : deepstack) {
                level.attach(requestManager);
                levels.add(level);
            }
        }
        this.deepstack = List.copyOf(levels);
        var c = network.text().config();
        DataType cacheType = network.text().dataTypeForCache();
        if (decoder == null) {
            this.cache = new KvCache(requestManager, c.numLayers(), 1, c.numKeyValueHeads(), c.headDim(), capacity,
                    cacheType);
        } else {
            // the engine's cache holds the prompt one layer at a time, handed over to the Java decoder's cache
            this.cache = new KvCache(requestManager, c.numLayers(), c.numKeyValueHeads(), c.headDim(),
                    Math.min(capacity, promptIds.length), cacheType, javaState::load);
        }
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    @Override
    public float[] prefill() {
        RopeIndex rope = network.ropeIndex(promptIds, null, grids);
        ropeDelta = rope.ropeDelta();
        long[][][] positions = new long[3][1][];
        for (int a = 0; a < 3; a++) {
            positions[a][0] = rope.positions()[a];
        }
        long[][] ids = new long[1][promptIds.length];
        for (int i = 0; i < promptIds.length; i++) {
            ids[0][i] = promptIds[i];
        }
        try (NDManager step = requestManager.newSubManager()) {
            NDArray embeds = network.embedPrompt(step, ids, imageEmbeds);
            NDArray hidden = network.text().forward(embeds, positions, null, cache, Trace.NONE,
                    network.deepstackHook(ids, deepstack));
            float[] logits = lastLogits(hidden);
            if (decoder != null) {
                cache.close(); // every layer was handed over to javaState as the prefill ran it
            }
            return logits;
        } finally {
            if (imageEmbeds != null) {
                imageEmbeds.close(); // only needed for the prompt
            }
            for (NDArray level : deepstack) {
                level.close();
            }
        }
    }

    @Override
    public float[] next(int token) {
        if (decoder != null) {
            // all three M-RoPE axes hold cache_position + rope_deltas: plain RoPE at that position
            long position = javaState.length() + ropeDelta;
            if (batcher != null) {
                if (sequence == null) {
                    sequence = batcher.join(javaState);
                }
                return sequence.next(token, position);
            }
            return decoder.step(javaState, token, position).clone();
        }
        long position = cache.length() + ropeDelta;
        long[][][] positions = {{{position}}, {{position}}, {{position}}};
        try (NDManager step = requestManager.newSubManager()) {
            NDArray embeds = network.text().embed(step, new long[][] {{token}});
            return lastLogits(network.text().forward(embeds, positions, null, cache, Trace.NONE));
        }
    }

    private float[] lastLogits(NDArray hidden) {
        long s = hidden.getShape().get(1);
        NDArray last = hidden.get(":, {}:{}", s - 1, s);
        return network.text().logits(last).toType(DataType.FLOAT32, false).toFloatArray();
    }

    /** True when this session's decode steps run in Java. */
    public boolean javaDecode() {
        return decoder != null;
    }

    @Override
    public void close() {
        if (sequence != null) {
            sequence.close();
        }
        requestManager.close();
    }
}
