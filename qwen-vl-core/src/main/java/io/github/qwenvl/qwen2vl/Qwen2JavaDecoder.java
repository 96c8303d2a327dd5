package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import io.github.qwenvl.QwenVlException;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.checkpoint.TensorDType;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.nn.cpu.DecodeThreads;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.MappedMatrices;
import io.github.qwenvl.nn.cpu.MatVec;
import io.github.qwenvl.nn.cpu.WeightMatrix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decode steps (one new token) of the Qwen2 decoder in plain Java over the checkpoint's memory-mapped weights,
 * in their stored BF16 (or F32): the decode of a 2B model is memory-bound, and reading BF16 halves the bytes
 * per token compared with the engine's widened f32 copies (opt-in: int8 copies made at load read about half of that,
 * with approximate logits). Prefill and the vision tower stay on the engine
 * (compute-bound matrix products); the prefill's KV cache is copied into a {@link State} once.
 *
 * <p>Same arithmetic as {@link Qwen2TextModel#forward} for one token, in float32: RMSNorm, q/k/v (with biases where
 * the config has them), per-head q/k RMSNorm where the config has it (Qwen3), rotary embedding at position p (during decode all three M-RoPE axes hold the same position, so the mrope
 * sections select between equal angles: plain RoPE), grouped-query attention over the cache scaled by
 * 1/sqrt(head_dim) with a float softmax, o_proj, residual, RMSNorm, SiLU-gated MLP, residual; final RMSNorm and
 * the (tied or untied) LM head. Weights are shared by all requests; every request holds its own {@link State}.
 */
public final class Qwen2JavaDecoder implements AutoCloseable {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Qwen2JavaDecoder.class);

    /** qBias/kBias/vBias null without attention biases; qNorm/kNorm null without per-head q/k norms. */
    record Layer(float[] inputNorm, WeightMatrix[] qkv, float[] qBias, float[] kBias, float[] vBias,
                 float[] qNorm, float[] kNorm,
                 WeightMatrix o, float[] postNorm, WeightMatrix[] gateUp, WeightMatrix down) {
    }

    private final Qwen2TextConfig config;
    private final WeightMatrix embed;
    private final WeightMatrix lmHead;
    private final WeightMatrix storedHead; // the LM head as stored (== lmHead unless int8): prefill logits
    private final List<Layer> layers;
    private final float[] finalNorm;
    private final float[] inverseFrequencies;
    private final MatVec matVec;
    private final DecodeThreads threads;
    private final long bytesPerToken;

    private Qwen2JavaDecoder(Qwen2TextConfig config, WeightMatrix embed, WeightMatrix lmHead, WeightMatrix storedHead,
                             List<Layer> layers, float[] finalNorm, float[] inverseFrequencies, Kernels kernels,
                             int threadCount, int pageElements) {
        this.config = config;
        this.pageElements = pageElements;
        this.embed = embed;
        this.lmHead = lmHead;
        this.storedHead = storedHead;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.inverseFrequencies = inverseFrequencies;
        this.threads = new DecodeThreads(threadCount);
        this.matVec = new MatVec(kernels, threads);
        long bytes = lmHead.bytes();
        for (Layer l : layers) {
            for (WeightMatrix m : l.qkv()) {
                bytes += m.bytes();
            }
            for (WeightMatrix m : l.gateUp()) {
                bytes += m.bytes();
            }
            bytes += l.o().bytes() + l.down().bytes();
        }
        this.bytesPerToken = bytes;
    }

    /**
     * Why the Java decoder cannot read these weights in place (a matrix stored other than BF16/F32, a big-endian
     * platform), or null when it can.
     */
    public static String unsupportedReason(Qwen2TextConfig config, WeightLoader weights) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            return "big-endian platform";
        }
        for (String name : matrixNames(config, weights)) {
            if (name == null) {
                continue; // missing: create() and the engine's loader say so
            }
            TensorDType dtype = weights.checkpoint().info(name).dtype();
            if (!MappedMatrices.readable(dtype)) {
                return "'" + name + "' is stored as " + dtype + " (the Java decoder reads BF16 and F32)";
            }
        }
        return null;
    }

    private static List<String> matrixNames(Qwen2TextConfig config, WeightLoader weights) {
        List<String> names = new ArrayList<>();
        names.add(weights.resolve("model.embed_tokens.weight"));
        String head = weights.resolve("lm_head.weight");
        if (head != null) {
            names.add(head);
        }
        for (int l = 0; l < config.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            for (String n : new String[] {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                    "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}) {
                names.add(weights.resolve(p + n));
            }
        }
        return names;
    }

    /**
     * Maps the language model's weights, resolved and shape-checked by {@code weights} (a missing or misshapen one is
     * the loader's {@link io.github.qwenvl.checkpoint.CheckpointException}). {@code inverseFrequencies} are the
     * engine's rotary frequencies, so both paths rotate identically.
     */
    static Qwen2JavaDecoder create(Qwen2TextConfig config, WeightLoader weights, float[] inverseFrequencies,
                                   Kernels kernels, int threadCount, boolean int8) {
        return create(config, weights, inverseFrequencies, kernels, threadCount,
                int8 ? WeightMatrix.Format.Q8 : null, new MappedMatrices(weights.checkpoint()),
                io.github.qwenvl.EngineTuning.DEFAULTS.kvPageElements());
    }

    /**
     * As above, mapping the stored matrices through {@code mapped} (shared with the prefill's layer widening). With
     * {@code int8} the matrices (and the LM head) are read from 8-bit copies ({@link
     * WeightMatrix.Format#Q8}) made here from the stored weights, in native memory owned by the weights' manager:
     * about 1.06 bytes per parameter read per token instead of 2 (BF16). Embedding lookups stay exact (stored rows).
     * KV cache pages hold {@code pageElements} floats. With {@code copies} {@link WeightMatrix.Format#Q4} the layers'
     * copies are 4-bit instead ({@link #q4GroupSize groups of 128} along each row where the width allows) and the LM
     * head's 8-bit.
     *
     * @param copies Q8 or Q4 for quantised copies of the matrices, null to read them as stored
     */
    public static Qwen2JavaDecoder create(Qwen2TextConfig config, WeightLoader weights, float[] inverseFrequencies,
                                          Kernels kernels, int threadCount, WeightMatrix.Format copies,
                                          MappedMatrices mapped, int pageElements) {
        if (copies != null && copies != WeightMatrix.Format.Q8 && copies != WeightMatrix.Format.Q4) {
            throw new IllegalArgumentException("quantised copies are Q8 or Q4, not " + copies);
        }
        boolean quantized = copies != null;
        String reason = unsupportedReason(config, weights);
        if (reason != null) {
            throw new IllegalStateException("Java decode unavailable: " + reason);
        }
        SafetensorsCheckpoint ckpt = weights.checkpoint();
        int h = config.hiddenSize();
        int q = config.numHeads() * config.headDim();
        int kv = config.numKeyValueHeads() * config.headDim();
        int i = config.intermediateSize();
        // matrices by their config names: resolved and shape-checked by the loader, mapped once each
        MatrixSource stored = (name, rows, cols) -> mapped.get(weights.checkedInfo(name, rows, cols).name(), rows, cols);
        String embedName = "model.embed_tokens.weight";
        String headName = weights.contains("lm_head.weight") ? "lm_head.weight" : embedName; // tied: the embedding
        WeightMatrix embed = stored.get(embedName, config.vocabSize(), h); // lookups read the stored rows, also with int8
        // mapped only; its pages are read (and resident) only if prefill logits are asked of this decoder
        WeightMatrix storedHead = stored.get(headName, config.vocabSize(), h);
        long t0 = System.nanoTime();
        List<Layer> layers = new ArrayList<>();
        WeightMatrix lmHead;
        try (DecodeThreads quantizers = quantized ? new DecodeThreads(threadCount) : null) {
            // the matrices as stored (mapped in place), or their int8 / 4-bit copies
            Quantizer quantizer = quantized ? new Quantizer(ckpt, weights.manager(), quantizers, copies) : null;
            MatrixSource source = quantized
                    ? (name, rows, cols) -> quantizer.quantize(weights.checkedInfo(name, rows, cols).name(), rows, cols)
                    : stored;
            // 4-bit layers keep an 8-bit LM head (as llama.cpp's Q4_K_M keeps its output matrix at 6 bits): the head's
            // error reaches every logit directly, and it is a sixth of a 2B model's bytes per token
            lmHead = !quantized ? storedHead : copies == WeightMatrix.Format.Q4
                    ? quantizer.quantize(weights.checkedInfo(headName, config.vocabSize(), h).name(), config.vocabSize(),
                    h, WeightMatrix.Format.Q8)
                    : source.get(headName, config.vocabSize(), h);
            for (int l = 0; l < config.numLayers(); l++) {
                String p = "model.layers." + l + ".";
                layers.add(new Layer(
                        floats(ckpt, weights, p + "input_layernorm.weight", h),
                        new WeightMatrix[] {
                                source.get(p + "self_attn.q_proj.weight", q, h),
                                source.get(p + "self_attn.k_proj.weight", kv, h),
                                source.get(p + "self_attn.v_proj.weight", kv, h)},
                        config.attentionBias() ? floats(ckpt, weights, p + "self_attn.q_proj.bias", q) : null,
                        config.attentionBias() ? floats(ckpt, weights, p + "self_attn.k_proj.bias", kv) : null,
                        config.attentionBias() ? floats(ckpt, weights, p + "self_attn.v_proj.bias", kv) : null,
                        config.qkNorm() ? floats(ckpt, weights, p + "self_attn.q_norm.weight", config.headDim()) : null,
                        config.qkNorm() ? floats(ckpt, weights, p + "self_attn.k_norm.weight", config.headDim()) : null,
                        source.get(p + "self_attn.o_proj.weight", h, q),
                        floats(ckpt, weights, p + "post_attention_layernorm.weight", h),
                        new WeightMatrix[] {
                                source.get(p + "mlp.gate_proj.weight", i, h),
                                source.get(p + "mlp.up_proj.weight", i, h)},
                        source.get(p + "mlp.down_proj.weight", h, i)));
            }
        }
        if (copies == WeightMatrix.Format.Q8) {
            LOG.info("Java decode weights quantized to int8 (Q8, blocks of {}) in {} s", WeightMatrix.Q8_BLOCK,
                    String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9));
        } else if (copies == WeightMatrix.Format.Q4) {
            LOG.info("Java decode weights quantized to 4 bits (Q4, groups of up to {}) in {} s", Q4_GROUP,
                    String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9));
        }
        float[] finalNorm = floats(ckpt, weights, "model.norm.weight", h);
        Qwen2JavaDecoder decoder = new Qwen2JavaDecoder(config, embed, lmHead, storedHead, List.copyOf(layers),
                finalNorm, inverseFrequencies.clone(), kernels, threadCount, pageElements);
        LOG.info("Java decode enabled: {} kernels, {} threads, {} MB of {} weights read per token", kernels.name(),
                threadCount, decoder.bytesPerToken() / 1_000_000, decoder.weightFormat());
        return decoder;
    }

    /** Values per scale of the Q4 copies of {@code JAVA_INT4}: the group size of most AWQ / GPTQ checkpoints. */
    static final int Q4_GROUP = 128;

    /**
     * The Q4 group size for rows of {@code cols} values: {@link #Q4_GROUP}, or the largest power of two below it that
     * divides {@code cols} (narrow test models), at least 2.
     */
    static int q4GroupSize(int cols) {
        for (int g = Q4_GROUP; g >= 2; g /= 2) {
            if (cols % g == 0) {
                return g;
            }
        }
        throw new QwenVlException("int4 decode: rows of " + cols + " values cannot be cut into groups of 2 to "
                + Q4_GROUP);
    }

    /**
     * Q8 (or Q4) copies of checkpoint matrices, in int8 and float32 tensors of {@code owner} (native memory, freed
     * with it).
     * The values come by positional reads, not through the mapped tensors: pages of a mapping that have been read stay
     * resident, and count in the process's RSS, while it is mapped, although the decoder never reads them again.
     */
    private static final class Quantizer {
        private static final int ROWS_PER_TASK = 64;
        private final SafetensorsCheckpoint ckpt;
        private final NDManager owner;
        private final DecodeThreads threads;
        private final ByteBuffer[] blocks; // per worker: rows read as float32
        private final float[][] values;
        private final WeightMatrix.Format format;

        Quantizer(SafetensorsCheckpoint ckpt, NDManager owner, DecodeThreads threads, WeightMatrix.Format format) {
            this.ckpt = ckpt;
            this.owner = owner;
            this.threads = threads;
            this.format = format;
            this.blocks = new ByteBuffer[threads.threads()];
            this.values = new float[threads.threads()][];
        }

        /** Stored tensor {@code name}, already checked to be (rows, cols). */
        WeightMatrix quantize(String name, int rows, int cols) {
            return quantize(name, rows, cols, format);
        }

        /** As {@link #quantize(String, int, int)} into {@code format} (Q8 or Q4). */
        WeightMatrix quantize(String name, int rows, int cols, WeightMatrix.Format format) {
            if (format == WeightMatrix.Format.Q4) {
                return quantizeQ4(name, rows, cols);
            }
            if ((long) rows * cols > Integer.MAX_VALUE) {
                throw new QwenVlException("int8 decode: '" + name + "' (" + rows + "x" + cols
                        + ") is over 2 GiB of int8");
            }
            NDArray quants = owner.create(new Shape(rows, cols), DataType.INT8); // every element is written below
            NDArray scales = owner.create(new Shape(rows, WeightMatrix.blocksPerRow(cols)), DataType.FLOAT32);
            ByteBuffer q = ((PtNDArray) quants).toByteBuffer(true);
            ByteBuffer d = ((PtNDArray) scales).toByteBuffer(true);
            forRowBlocks(name, rows, cols, (block, from, count) -> WeightMatrix.quantizeRows(block, cols, from, count, q, d));
            return WeightMatrix.quantized(rows, cols, q, d);
        }

        /** Rows as float32 blocks of at most {@link #ROWS_PER_TASK} rows, handed to {@code quantizer} on the threads. */
        private void forRowBlocks(String name, int rows, int cols, RowBlockQuantizer quantizer) {
            threads.run(rows, ROWS_PER_TASK, (worker, from, to) -> {
                int elements = (to - from) * cols;
                if (values[worker] == null || values[worker].length < elements) { // grown to the widest matrix
                    values[worker] = new float[ROWS_PER_TASK * cols];
                    blocks[worker] = ByteBuffer.allocate(ROWS_PER_TASK * cols * 4).order(ByteOrder.nativeOrder());
                }
                ByteBuffer block = blocks[worker].clear();
                ckpt.readFloat32Range(name, block, (long) from * cols, elements);
                block.asFloatBuffer().get(values[worker], 0, elements);
                quantizer.quantize(values[worker], from, to - from);
            });
        }

        private WeightMatrix quantizeQ4(String name, int rows, int cols) {
            int group = q4GroupSize(cols);
            int groups = cols / group;
            if ((long) rows * cols / 2 > Integer.MAX_VALUE) {
                throw new QwenVlException("int4 decode: '" + name + "' (" + rows + "x" + cols + ") is over 2 GiB of codes");
            }
            NDArray codes = owner.create(new Shape(rows, cols / 2), DataType.INT8); // every byte is written below
            NDArray scales = owner.create(new Shape(rows, groups), DataType.FLOAT32);
            NDArray offsets = owner.create(new Shape(rows, groups), DataType.FLOAT32);
            ByteBuffer q = ((PtNDArray) codes).toByteBuffer(true);
            ByteBuffer d = ((PtNDArray) scales).toByteBuffer(true);
            ByteBuffer m = ((PtNDArray) offsets).toByteBuffer(true);
            forRowBlocks(name, rows, cols,
                    (block, from, count) -> WeightMatrix.quantizeRowsQ4(block, cols, from, count, group, q, d, m));
            return WeightMatrix.q4(rows, cols, group, q, d, m);
        }
    }

    /** Quantises {@code count} rows (row-major floats in {@code block}) that are rows [from, from + count). */
    @FunctionalInterface
    private interface RowBlockQuantizer {
        void quantize(float[] block, int from, int count);
    }

    /** The (rows × cols) matrix a config name resolves to, as stored or as its int8 copy. */
    @FunctionalInterface
    private interface MatrixSource {
        WeightMatrix get(String name, int rows, int cols);
    }

    private static float[] floats(SafetensorsCheckpoint ckpt, WeightLoader weights, String name, int length) {
        return ckpt.readFloats(weights.checkedInfo(name, length).name()); // missing or misshapen: a CheckpointException
    }

    /** The language model's configuration. */
    Qwen2TextConfig config() {
        return config;
    }

    /** Bytes of weights one decode step reads (all matrices of the layers, and the LM head). */
    public long bytesPerToken() {
        return bytesPerToken;
    }

    /** How the matrices are read: BF16 or F32 as stored, Q8 (the int8 copies of {@code JAVA_INT8}) or Q4 ({@code JAVA_INT4}). */
    public WeightMatrix.Format weightFormat() {
        return layers.get(0).down().format();
    }

    public Kernels kernels() {
        return matVec.kernels();
    }

    public int threads() {
        return threads.threads();
    }

    /**
     * The embeddings of {@code ids}, rows of (ids.length, H) read from the stored matrix (BF16 widens exactly), written
     * into {@code out} from its position on: the prefill's lookups when its layers are widened per layer and no
     * float32 embedding is held.
     */
    public void embedRows(long[] ids, FloatBuffer out) {
        float[] row = new float[config.hiddenSize()];
        for (long id : ids) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + config.vocabSize());
            }
            embed.row((int) id, row);
            out.put(row);
        }
    }

    /**
     * Logits (rows, V) of {@code rows} final-normed hidden states (rows, H) through the LM head as stored (not its int8
     * copy): the prefill's logits when no float32 LM head is held. Safe to call from concurrent requests.
     */
    public float[] headLogits(float[] hidden, int rows) {
        int h = config.hiddenSize();
        int v = config.vocabSize();
        float[] out = new float[Math.multiplyExact(rows, v)];
        float[] x = new float[h];
        float[] even = new float[(h + 1) / 2];
        float[] odd = new float[h / 2];
        float[] logits = new float[v];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(hidden, r * h, x, 0, h);
            matVec.multiply(x, even, odd, storedHead, logits);
            System.arraycopy(logits, 0, out, r * v, v);
        }
        return out;
    }

    /** A fresh per-request state (KV cache and scratch) for up to {@code capacity} tokens. */
    public State newState(int capacity) {
        return new State(capacity);
    }

    /**
     * Float32 elements of one KV-cache page ({@link io.github.qwenvl.EngineTuning#kvPageElements}): 256 KB by default,
     * below half the smallest G1 region (1 MB), so a page is never a humongous object, which G1 would give a region of
     * its own.
     */
    private final int pageElements;

    /**
     * Per-request KV cache (float32, per layer and KV head: pages of {@link #pageTokens} × head_dim, added as the
     * sequence grows: nothing is copied to grow it) and step buffers. Heap only; nothing to free.
     */
    public final class State {
        private final int capacity;
        private final int pageTokens;       // tokens per page
        private final float[][][][] keys;   // [layer][kvHead][page][(t mod pageTokens) · hd + d]
        private final float[][][][] values;
        private final int[] pages;          // [layer] pages allocated
        private int length;
        // scratch
        private final float[] x;
        private final float[] normed;
        private final float[] even;
        private final float[] odd;
        private final float[] q;
        private final float[] k;
        private final float[] v;
        private final float[] attended;
        private final float[] projected;
        private final float[] gate;
        private final float[] up;
        private final float[] activated;
        private final float[] logits;
        private final float[] cos;
        private final float[] sin;
        private final float[] head; // one head's values (q/k norms)
        private float[][] scores; // [thread][t]

        State(int capacity) {
            this.capacity = capacity;
            int layersCount = config.numLayers();
            int hkv = config.numKeyValueHeads();
            int h = config.hiddenSize();
            int hd = config.headDim();
            this.pageTokens = Math.max(1, pageElements / hd);
            this.keys = new float[layersCount][hkv][0][];
            this.values = new float[layersCount][hkv][0][];
            this.pages = new int[layersCount];
            int inter = config.intermediateSize();
            int widest = Math.max(Math.max(h, inter), config.numHeads() * hd);
            this.x = new float[h];
            this.normed = new float[h];
            // a batched Q8 product permutes x into it, a Q4 one adds x's group sums (groups of 2 or more)
            this.even = new float[widest + widest / 2];
            this.odd = new float[(widest + 1) / 2];
            this.q = new float[config.numHeads() * hd];
            this.k = new float[hkv * hd];
            this.v = new float[hkv * hd];
            this.attended = new float[config.numHeads() * hd];
            this.projected = new float[h];
            this.gate = new float[inter];
            this.up = new float[inter];
            this.activated = new float[inter];
            this.logits = new float[config.vocabSize()];
            this.cos = new float[hd];
            this.sin = new float[hd];
            this.head = new float[hd];
            this.scores = new float[threads.threads()][0];
            grow(1);
        }

        private Qwen2JavaDecoder owner() {
            return Qwen2JavaDecoder.this;
        }

        /** Tokens cached. */
        public int length() {
            return length;
        }

        public int capacity() {
            return capacity;
        }

        /** Heap bytes of the KV cache as allocated now. */
        public long cacheBytes() {
            long allocated = 0;
            for (int p : pages) {
                allocated += p;
            }
            return 2L * config.numKeyValueHeads() * allocated * pageTokens * config.headDim() * 4;
        }

        /** Tokens per page of the cache. */
        int pageTokens() {
            return pageTokens;
        }

        /** Makes room for {@code tokens} tokens in every layer. */
        private void grow(int tokens) {
            for (int l = 0; l < keys.length; l++) {
                grow(l, tokens);
            }
        }

        /**
         * Makes room for {@code tokens} tokens in layer {@code layer}: adds pages (the filled ones stay where they
         * are). Per layer, so that a prefill's hand-over allocates each layer's pages as that layer arrives rather
         * than the whole cache at once, a burst of live arrays for which G1 would grow the heap.
         */
        private void grow(int layer, int tokens) {
            int needed = (Math.min(capacity, tokens) + pageTokens - 1) / pageTokens;
            if (needed <= pages[layer]) {
                return;
            }
            int elements = pageTokens * config.headDim();
            for (int g = 0; g < keys[layer].length; g++) {
                keys[layer][g] = Arrays.copyOf(keys[layer][g], needed);
                values[layer][g] = Arrays.copyOf(values[layer][g], needed);
                for (int page = pages[layer]; page < needed; page++) {
                    keys[layer][g][page] = new float[elements];
                    values[layer][g][page] = new float[elements];
                }
            }
            pages[layer] = needed;
            int slots = needed * pageTokens;
            if (scores[0].length < slots) {
                for (int t = 0; t < scores.length; t++) {
                    scores[t] = new float[slots];
                }
            }
        }

        /**
         * Takes over the prefill's cache: per layer keys and values as (kvHeads, tokens, hd) row-major float32,
         * for {@code tokens} positions. Replaces whatever was cached.
         */
        public void load(int layer, float[] layerKeys, float[] layerValues, int tokens) {
            load(layer, FloatBuffer.wrap(layerKeys), FloatBuffer.wrap(layerValues), tokens, tokens);
        }

        /**
         * Takes over the prefill's cache: per layer keys and values as (kvHeads, stride, hd) row-major float32, of
         * which each head's first {@code tokens} positions are cached (stride ≥ tokens: the engine cache's capacity).
         * Replaces whatever was cached.
         */
        public void load(int layer, FloatBuffer layerKeys, FloatBuffer layerValues, int tokens, int stride) {
            if (tokens > capacity) {
                throw new IllegalStateException("KV cache full: " + tokens + " > " + capacity);
            }
            if (stride < tokens) {
                throw new IllegalArgumentException("stride " + stride + " < tokens " + tokens);
            }
            grow(layer, tokens);
            int hd = config.headDim();
            for (int g = 0; g < config.numKeyValueHeads(); g++) {
                for (int page = 0; page * pageTokens < tokens; page++) {
                    int first = page * pageTokens;
                    int count = Math.min(pageTokens, tokens - first) * hd;
                    layerKeys.get((g * stride + first) * hd, keys[layer][g][page], 0, count);
                    layerValues.get((g * stride + first) * hd, values[layer][g][page], 0, count);
                }
            }
            if (layer == config.numLayers() - 1) {
                length = tokens;
            }
        }
    }

    /**
     * Appends {@code token} at rotary position {@code position} and returns the logits (V) for the next one.
     * The returned array belongs to the state and is overwritten by its next step.
     */
    public float[] step(State s, int token, long position) {
        if (s.length + 1 > s.capacity) {
            throw new IllegalStateException("KV cache full: " + (s.length + 1) + " > " + s.capacity);
        }
        s.grow(s.length + 1);
        float eps = (float) config.rmsNormEps();
        embed.row(token, s.x);
        rotaryAngles(s, position);
        int t = s.length; // this token's cache slot
        for (int l = 0; l < layers.size(); l++) {
            Layer w = layers.get(l);
            rmsNorm(s.x, w.inputNorm(), eps, s.normed);
            matVec.multiply(s.normed, s.even, s.odd, w.qkv(), new float[][] {s.q, s.k, s.v});
            appendKeysAndValues(s, w, l);
            attention(s, l, t + 1);
            matVec.multiply(s.attended, s.even, s.odd, w.o(), s.projected);
            addInPlace(s.x, s.projected);
            rmsNorm(s.x, w.postNorm(), eps, s.normed);
            matVec.gatedSilu(s.normed, s.even, s.odd, w.gateUp()[0], w.gateUp()[1], s.gate, s.up, s.activated);
            matVec.multiply(s.activated, s.even, s.odd, w.down(), s.projected);
            addInPlace(s.x, s.projected);
        }
        s.length = t + 1;
        rmsNorm(s.x, finalNorm, eps, s.normed);
        matVec.multiply(s.normed, s.even, s.odd, lmHead, s.logits);
        return s.logits;
    }

    /**
     * One decode step of several sequences: appends {@code tokens[i]} at rotary position {@code positions[i]} to
     * {@code states[i]} and returns each state's logits (V) for its next token, in the order given. Each returned
     * array belongs to its state and is overwritten by that state's next step. The states must be distinct; they
     * may have different lengths. Not to be called concurrently with another step of this decoder.
     *
     * <p>One pass over each weight matrix serves all the states: per layer the RMSNorms, then q/k/v, o_proj, gate/up
     * and down as batched products (each block of a matrix's rows is read once and multiplied with every state's
     * vector: {@link MatVec#multiplyBatch}), biases, q/k norms and rotary per state at its own position, attention
     * per state over its own cache (all states' heads in one parallel pass), and the LM head batched. Every state's
     * logits are bit for bit those of {@link #step(State, int, long)} on that state alone: the batched kernels sum
     * the same products in the same order, so a sequence's tokens do not depend on the batch it runs in. One state
     * takes the single-sequence path. A refused step (a state twice, another decoder's state, a full cache, a token
     * outside the vocabulary) throws before any state changes.
     */
    public float[][] step(State[] states, int[] tokens, long[] positions) {
        if (states.length != tokens.length || states.length != positions.length) {
            throw new IllegalArgumentException("states, tokens and positions differ in length: " + states.length
                    + ", " + tokens.length + ", " + positions.length);
        }
        int batch = states.length;
        if (batch == 0) {
            return new float[0][];
        }
        if (batch == 1) { // the single-sequence kernels: the same values, no batch bookkeeping
            return new float[][] {step(states[0], tokens[0], positions[0])};
        }
        // every check before any state changes: a refused step leaves all of them as they were
        java.util.IdentityHashMap<State, Boolean> seen = new java.util.IdentityHashMap<>();
        for (int b = 0; b < batch; b++) {
            State s = states[b];
            if (s == null || s.owner() != this) {
                throw new IllegalArgumentException("state " + b + " is " + (s == null ? "null" : "another decoder's"));
            }
            if (seen.put(s, Boolean.TRUE) != null) {
                throw new IllegalArgumentException("state " + b + " appears twice in one step");
            }
            if (s.length + 1 > s.capacity) {
                throw new IllegalStateException("KV cache full: " + (s.length + 1) + " > " + s.capacity
                        + " (state " + b + ")");
            }
            if (tokens[b] < 0 || tokens[b] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[b] + " outside the vocabulary of "
                        + config.vocabSize());
            }
        }
        int hq = config.numHeads();
        float eps = (float) config.rmsNormEps();
        float[][] x = new float[batch][];
        float[][] normed = new float[batch][];
        float[][] even = new float[batch][];
        float[][] odd = new float[batch][];
        float[][] q = new float[batch][];
        float[][] k = new float[batch][];
        float[][] v = new float[batch][];
        float[][] attended = new float[batch][];
        float[][] projected = new float[batch][];
        float[][] gate = new float[batch][];
        float[][] up = new float[batch][];
        float[][] activated = new float[batch][];
        float[][] logits = new float[batch][];
        for (int b = 0; b < batch; b++) {
            State s = states[b];
            s.grow(s.length + 1);
            x[b] = s.x;
            normed[b] = s.normed;
            even[b] = s.even;
            odd[b] = s.odd;
            q[b] = s.q;
            k[b] = s.k;
            v[b] = s.v;
            attended[b] = s.attended;
            projected[b] = s.projected;
            gate[b] = s.gate;
            up[b] = s.up;
            activated[b] = s.activated;
            logits[b] = s.logits;
            embed.row(tokens[b], s.x);
            rotaryAngles(s, positions[b]);
        }
        float[][][] qkv = {q, k, v};
        for (int l = 0; l < layers.size(); l++) {
            Layer w = layers.get(l);
            for (int b = 0; b < batch; b++) {
                rmsNorm(x[b], w.inputNorm(), eps, normed[b]);
            }
            matVec.multiplyBatch(batch, normed, even, odd, w.qkv(), qkv);
            for (int b = 0; b < batch; b++) {
                appendKeysAndValues(states[b], w, l);
            }
            int layer = l;
            // every (sequence, head) pair is independent: one parallel pass over all of them
            threads.run(batch * hq, 1, (worker, from, to) -> {
                for (int i = from; i < to; i++) {
                    State s = states[i / hq];
                    attendHead(s, layer, s.length + 1, i % hq, s.scores[worker]);
                }
            });
            matVec.multiplyBatch(batch, attended, even, odd, w.o(), projected);
            for (int b = 0; b < batch; b++) {
                addInPlace(x[b], projected[b]);
                rmsNorm(x[b], w.postNorm(), eps, normed[b]);
            }
            matVec.gatedSiluBatch(batch, normed, even, odd, w.gateUp()[0], w.gateUp()[1], gate, up, activated);
            matVec.multiplyBatch(batch, activated, even, odd, w.down(), projected);
            for (int b = 0; b < batch; b++) {
                addInPlace(x[b], projected[b]);
            }
        }
        for (int b = 0; b < batch; b++) {
            states[b].length++;
            rmsNorm(x[b], finalNorm, eps, normed[b]);
        }
        matVec.multiplyBatch(batch, normed, even, odd, lmHead, logits);
        return logits;
    }

    /**
     * After layer {@code l}'s q/k/v products of {@code s}'s token: their biases and per-head q/k norms where the config
     * has them, the rotary embedding at the state's angles, and the token's keys and values written into the layer's
     * cache at slot {@code s.length}.
     */
    private void appendKeysAndValues(State s, Layer w, int l) {
        int hd = config.headDim();
        int hq = config.numHeads();
        int hkv = config.numKeyValueHeads();
        float eps = (float) config.rmsNormEps();
        if (w.qBias() != null) {
            addInPlace(s.q, w.qBias());
            addInPlace(s.k, w.kBias());
            addInPlace(s.v, w.vBias());
        }
        if (w.qNorm() != null) {
            normHeads(s.q, hq, hd, w.qNorm(), eps, s.head);
            normHeads(s.k, hkv, hd, w.kNorm(), eps, s.head);
        }
        for (int head = 0; head < hq; head++) {
            rotate(s.q, head * hd, hd, s.cos, s.sin);
        }
        int t = s.length;
        int page = t / s.pageTokens;
        int slot = (t % s.pageTokens) * hd;
        for (int g = 0; g < hkv; g++) {
            rotate(s.k, g * hd, hd, s.cos, s.sin);
            System.arraycopy(s.k, g * hd, s.keys[l][g][page], slot, hd);
            System.arraycopy(s.v, g * hd, s.values[l][g][page], slot, hd);
        }
    }

    /** cos/sin over the head dim: angle[d] = position · inv_freq[d mod hd/2] in float32, as the engine's rotary(). */
    private void rotaryAngles(State s, long position) {
        int hd = config.headDim();
        int half = hd / 2;
        for (int d = 0; d < hd; d++) {
            float angle = (float) position * inverseFrequencies[d % half];
            s.cos[d] = (float) Math.cos(angle);
            s.sin[d] = (float) Math.sin(angle);
        }
    }

    /** x · cos + rotate_half(x) · sin for one head at offset. */
    private static void rotate(float[] x, int offset, int hd, float[] cos, float[] sin) {
        int half = hd / 2;
        for (int d = 0; d < half; d++) {
            float a = x[offset + d];
            float b = x[offset + d + half];
            x[offset + d] = a * cos[d] + (-b) * sin[d];
            x[offset + d + half] = b * cos[d + half] + a * sin[d + half];
        }
    }

    /** Attention of every query head over tokens [0, t) of layer l's cache, into s.attended. */
    private void attention(State s, int l, int t) {
        threads.run(config.numHeads(), 1, (worker, from, to) -> {
            for (int head = from; head < to; head++) {
                attendHead(s, l, t, head, s.scores[worker]);
            }
        });
    }

    /** Attention of query head {@code head} over tokens [0, t) of layer l's cache, into s.attended. */
    private void attendHead(State s, int l, int t, int head, float[] scores) {
        int hd = config.headDim();
        int groups = config.numHeads() / config.numKeyValueHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        Kernels kernels = matVec.kernels();
        int g = head / groups;
        float[][] keys = s.keys[l][g];     // [page][(j mod pageTokens) · hd + d]
        float[][] values = s.values[l][g];
        int pageTokens = s.pageTokens;
        int qOffset = head * hd;
        float max = Float.NEGATIVE_INFINITY;
        for (int page = 0, j = 0; j < t; page++) { // page by page: no division per token
            float[] pageKeys = keys[page];
            for (int at = 0; at < pageTokens && j < t; at++, j++) {
                float score = kernels.dot(s.q, qOffset, pageKeys, at * hd, hd) * scale;
                scores[j] = score;
                max = Math.max(max, score);
            }
        }
        float sum = 0f;
        for (int j = 0; j < t; j++) {
            float e = (float) Math.exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        Arrays.fill(s.attended, qOffset, qOffset + hd, 0f);
        for (int page = 0, j = 0; j < t; page++) {
            float[] pageValues = values[page];
            for (int at = 0; at < pageTokens && j < t; at++, j++) {
                kernels.axpy(scores[j] / sum, pageValues, at * hd, s.attended, qOffset, hd);
            }
        }
    }

    /** Qwen2RMSNorm: weight · (x / sqrt(mean(x²) + eps)). */
    private static void rmsNorm(float[] x, float[] weight, float eps, float[] out) {
        double sum = 0;
        for (float v : x) {
            sum += (double) v * v;
        }
        float variance = (float) (sum / x.length);
        float inv = 1f / (float) Math.sqrt(variance + eps);
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * weight[i];
        }
    }

    /** RMSNorm of each of the {@code heads} head_dim-long slices of {@code x}, in place ({@code scratch}: hd). */
    private static void normHeads(float[] x, int heads, int hd, float[] weight, float eps, float[] scratch) {
        for (int h = 0; h < heads; h++) {
            System.arraycopy(x, h * hd, scratch, 0, hd);
            rmsNorm(scratch, weight, eps, scratch);
            System.arraycopy(scratch, 0, x, h * hd, hd);
        }
    }

    private static void addInPlace(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    @Override
    public void close() {
        threads.close();
    }
}
