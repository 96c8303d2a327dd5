package io.github.qwenvl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Preallocated key/value cache of one request: per layer (batch, kvHeads, capacity, headDim), filled
 * from the front. Owns its own manager; {@link #close()} frees it (e.g. when a stream is cancelled).
 */
public final class KvCache implements AutoCloseable {

    /**
     * Takes over one layer's keys and values once the layer has run, as (kvHeads, stride, hd) float32 views of which
     * each head's first {@code tokens} positions are filled (valid only during the call).
     */
    @FunctionalInterface
    public interface LayerHandOver {
        void accept(int layer, FloatBuffer keys, FloatBuffer values, int tokens, int stride);
    }

    private final NDManager manager;
    private final NDArray[] keys;   // per layer (B, kvHeads, capacity, headDim), null until written or once handed over
    private final NDArray[] values; // per layer (B, kvHeads, capacity, headDim)
    private final Shape shape;
    private final DataType dataType;
    private final int capacity;
    private final LayerHandOver handOver; // null: the cache keeps every layer
    private int length;
    private int appending; // tokens of the step being appended

    public KvCache(NDManager parent, int layers, int batch, int kvHeads, int headDim, int capacity, DataType dataType) {
        this(parent, layers, batch, kvHeads, headDim, capacity, dataType, null);
    }

    /**
     * A cache that hands each layer over as soon as the layer has run ({@link #layerDone}) and frees it: what a
     * prefill whose decode steps run elsewhere (the Java decoder) needs, with at most one layer held at a time instead
     * of the whole prompt's cache (100 MB for a 1753-token Qwen2-VL-2B prompt, at the prefill's peak). Batch 1.
     */
    public KvCache(NDManager parent, int layers, int kvHeads, int headDim, int capacity, DataType dataType,
                   LayerHandOver handOver) {
        this(parent, layers, 1, kvHeads, headDim, capacity, dataType, handOver);
    }

    private KvCache(NDManager parent, int layers, int batch, int kvHeads, int headDim, int capacity, DataType dataType,
                    LayerHandOver handOver) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        this.shape = new Shape(batch, kvHeads, capacity, headDim);
        this.dataType = dataType;
        this.handOver = handOver;
        if (handOver == null) {
            for (int l = 0; l < layers; l++) {
                keys[l] = manager.zeros(shape, dataType);
                values[l] = manager.zeros(shape, dataType);
            }
        }
    }

    /** Tokens already stored. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Writes this step's keys/values (B, kvHeads, S, hd) of one layer at [length, length + S) and
     * returns views of everything cached so far, (B, kvHeads, length + S, hd).
     */
    public NDArray[] append(int layer, NDArray k, NDArray v) {
        int s = (int) k.getShape().get(2);
        if (length + s > capacity) {
            throw new IllegalStateException("KV cache full: " + (length + s) + " > " + capacity);
        }
        if (keys[layer] == null) {
            if (handOver == null || length > 0) {
                throw new IllegalStateException("layer " + layer + " was handed over");
            }
            keys[layer] = manager.zeros(shape, dataType);
            values[layer] = manager.zeros(shape, dataType);
        }
        appending = s;
        NDIndex slot = new NDIndex(":, :, {}:{}", length, length + s);
        keys[layer].set(slot, k);
        values[layer].set(slot, v);
        NDIndex filled = new NDIndex(":, :, :{}", length + s);
        NDManager scope = k.getManager();
        return new NDArray[] {keys[layer].get(scope, filled), values[layer].get(scope, filled)};
    }

    /**
     * Called when layer {@code layer} has run this step (after its attention): a cache with a {@link LayerHandOver}
     * hands the layer's keys and values over and frees them; otherwise nothing.
     */
    public void layerDone(int layer) {
        if (handOver == null || keys[layer] == null) {
            return;
        }
        handOver.accept(layer, float32(layer, false), float32(layer, true), length + appending, capacity);
        keys[layer].close();
        values[layer].close();
        keys[layer] = null;
        values[layer] = null;
    }

    /** Called once all layers have appended this step's S tokens. */
    public void advance(int s) {
        length += s;
    }

    /**
     * One layer's cached keys ({@code values == false}) or values as float32, (B, kvHeads, capacity, hd) row-major: the
     * tokens [0, length) of batch row 0, head g start at element g·capacity·hd. What the Java decoder takes over after
     * the prefill. A CPU float32 cache is read in place (a view of its memory, valid until the cache is closed), so the
     * hand-over makes no heap copies: {@code toFloatArray} made two per layer (a byte[] and a float[]), 200 MB of
     * humongous garbage for a 1753-token Qwen2-VL-2B prompt. A cache of another type or device is converted.
     */
    public FloatBuffer float32(int layer, boolean values) {
        NDArray source = values ? this.values[layer] : keys[layer];
        if (source.getDataType() == DataType.FLOAT32 && source.getDevice().equals(Device.cpu())) {
            return source.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        }
        try (NDManager scope = manager.newSubManager()) {
            NDArray converted = source.toDevice(Device.cpu(), true).toType(DataType.FLOAT32, false);
            converted.attach(scope);
            return FloatBuffer.wrap(converted.toFloatArray());
        }
    }

    public int layers() {
        return keys.length;
    }

    /** Native bytes held. */
    public long bytes() {
        long b = 0;
        for (int l = 0; l < keys.length; l++) {
            if (keys[l] != null) {
                b += keys[l].size() * keys[l].getDataType().getNumOfBytes() * 2;
            }
        }
        return b;
    }

    @Override
    public void close() {
        manager.close();
    }
}
