package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Preallocated key/value cache of one request: per layer (batch, kvHeads, capacity, headDim), filled
 * from the front. Owns its own manager; {@link #close()} frees it (e.g. when a stream is cancelled).
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;   // per layer (B, kvHeads, capacity, headDim)
    private final NDArray[] values; // per layer (B, kvHeads, capacity, headDim)
    private final int capacity;
    private int length;

    public KvCache(NDManager parent, int layers, int batch, int kvHeads, int headDim, int capacity, DataType dataType) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        Shape shape = new Shape(batch, kvHeads, capacity, headDim);
        for (int l = 0; l < layers; l++) {
            keys[l] = manager.zeros(shape, dataType);
            values[l] = manager.zeros(shape, dataType);
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
        NDIndex slot = new NDIndex(":, :, {}:{}", length, length + s);
        keys[layer].set(slot, k);
        values[layer].set(slot, v);
        NDIndex filled = new NDIndex(":, :, :{}", length + s);
        NDManager scope = k.getManager();
        return new NDArray[] {keys[layer].get(scope, filled), values[layer].get(scope, filled)};
    }

    /** Called once all layers have appended this step's S tokens. */
    public void advance(int s) {
        length += s;
    }

    /**
     * The cached keys ({@code values == false}) or values of one layer as float32, (B, kvHeads, length, hd)
     * row-major: what the Java decoder takes over after the prefill.
     */
    public float[] toFloatArray(int layer, boolean values) {
        NDArray source = values ? this.values[layer] : keys[layer];
        try (NDManager scope = manager.newSubManager()) {
            return source.get(scope, new NDIndex(":, :, :{}", length)).toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    public int layers() {
        return keys.length;
    }

    /** Native bytes held. */
    public long bytes() {
        long b = 0;
        for (int l = 0; l < keys.length; l++) {
            b += keys[l].size() * keys[l].getDataType().getNumOfBytes() * 2;
        }
        return b;
    }

    @Override
    public void close() {
        manager.close();
    }
}
