package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.nn.Trace;
import io.github.qwenvl.nn.KvCache;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.qwenvl.generate.DecodeBatcher;
import io.github.qwenvl.generate.DecodingSession;

import java.util.List;

/**
 * One Qwen2-VL request: the prompt (with image embeddings already computed) and its KV cache.
 * Every step's intermediates live in a scope manager closed at the end of the step, so native memory
 * stays at weights + KV cache however long the generation.
 */
public final class Qwen2VlDecodingSession implements DecodingSession {

    private final Qwen2VlNetwork network;
    private final NDManager requestManager;
    private final int[] promptIds;
    private final List<ImageGrid> grids;
    private final NDArray imageEmbeds; // (N, H) owned by requestManager, null without images
    private final KvCache cache;
    /** Non-null when decode steps run in Java: the decoder and this request's Java-side cache. */
    private final Qwen2JavaDecoder decoder;
    private final Qwen2JavaDecoder.State javaState;
    /** Shares decode steps with the model's other running sequences; null: steps run alone. */
    private final DecodeBatcher<Qwen2JavaDecoder.State> batcher;
    private DecodeBatcher<Qwen2JavaDecoder.State>.Sequence sequence; // joined at the first decode step
    private long ropeDelta;

    /**
     * @param imageEmbeds merged image tokens for the prompt's image pads, attached to a manager this
     *                    session may close (it is moved into the session's own manager)
     */
    public Qwen2VlDecodingSession(Qwen2VlNetwork network, NDManager parent, int[] promptIds, List<ImageGrid> grids,
                                  NDArray imageEmbeds, int capacity) {
        this(network, parent, promptIds, grids, imageEmbeds, capacity, network.decodeMode(), null);
    }

    /** Decode steps alone (no batcher). */
    public Qwen2VlDecodingSession(Qwen2VlNetwork network, NDManager parent, int[] promptIds, List<ImageGrid> grids,
                                  NDArray imageEmbeds, int capacity, io.github.qwenvl.QwenVlOptions.DecodeMode decodeMode) {
        this(network, parent, promptIds, grids, imageEmbeds, capacity, decodeMode, null);
    }

    /**
     * @param decodeMode ENGINE: decode steps on the engine; JAVA (or JAVA_INT8): in Java (the network must have a
     *                   Java decoder, BF16 or int8 as it was loaded); AUTO: in Java when the network has a Java decoder
     * @param batcher    the network's Java decoder's batcher: Java decode steps are shared with the other running
     *                   sequences; null: each step runs alone
     */
    public Qwen2VlDecodingSession(Qwen2VlNetwork network, NDManager parent, int[] promptIds, List<ImageGrid> grids,
                                  NDArray imageEmbeds, int capacity, io.github.qwenvl.QwenVlOptions.DecodeMode decodeMode,
                                  DecodeBatcher<Qwen2JavaDecoder.State> batcher) {
        if (decodeMode != null && decodeMode.requiresJavaDecoder() && network.javaDecoder() == null) {
            throw new IllegalStateException("decode mode " + decodeMode + ", but this network has no Java decoder (loaded with "
                    + network.decodeMode() + ")");
        }
        this.decoder = decodeMode == io.github.qwenvl.QwenVlOptions.DecodeMode.ENGINE ? null : network.javaDecoder();
        this.javaState = decoder == null ? null : decoder.newState(capacity);
        this.batcher = decoder == null ? null : batcher;
        this.network = network;
        this.requestManager = parent.newSubManager();
        this.promptIds = promptIds.clone();
        this.grids = List.copyOf(grids);
        if (imageEmbeds != null) {
            imageEmbeds.attach(requestManager);
        }
        this.imageEmbeds = imageEmbeds;
        var c = network.text().config();
        if (decoder == null) {
            this.cache = new KvCache(requestManager, c.numLayers(), 1, c.numKeyValueHeads(), c.headDim(), capacity,
                    network.text().dataTypeForCache());
        } else {
            // with Java decode the engine's cache only holds the prompt, one layer at a time: each layer is handed
            // over to the Java decoder's cache as soon as the prefill has run it, and freed
            this.cache = new KvCache(requestManager, c.numLayers(), c.numKeyValueHeads(), c.headDim(),
                    Math.min(capacity, promptIds.length), network.text().dataTypeForCache(), javaState::load);
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
        long[] ids = new long[promptIds.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = promptIds[i];
        }
        try (NDManager step = requestManager.newSubManager()) {
            NDArray embeds = network.embedPrompt(step, new long[][] {ids}, imageEmbeds);
            NDArray hidden = network.text().forward(embeds, positions, null, cache, Trace.NONE);
            float[] logits = lastLogits(hidden);
            if (decoder != null) {
                cache.close(); // every layer was handed over to javaState as the prefill ran it
            }
            return logits;
        } finally {
            if (imageEmbeds != null) {
                imageEmbeds.close(); // only needed for the prompt
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
        long position = cache.length() + ropeDelta; // all three axes, as cache_position + rope_deltas
        long[][][] positions = {{{position}}, {{position}}, {{position}}};
        try (NDManager step = requestManager.newSubManager()) {
            NDArray embeds = network.text().embed(step, new long[][] {{token}});
            return lastLogits(network.text().forward(embeds, positions, null, cache, Trace.NONE));
        }
    }

    private float[] lastLogits(NDArray hidden) {
        long s = hidden.getShape().get(1);
        NDArray last = hidden.get(":, {}:{}", s - 1, s); // (1, 1, H)
        return network.text().logits(last).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
    }

    /** Tokens held in the KV cache. */
    public int cachedTokens() {
        return decoder != null ? javaState.length() : cache.length();
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
