package io.github.qwenvl.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Preallocated key/value cache of one request: per layer (1, heads, capacity, hd), filled from the front. */
final class QwenVlKvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int capacity;
    private int length;

    QwenVlKvCache(NDManager parent, int layers, int heads, int headDim, int capacity, DataType type) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        Shape shape = new Shape(1, heads, capacity, headDim);
        for (int l = 0; l < layers; l++) {
            keys[l] = manager.zeros(shape, type);
            values[l] = manager.zeros(shape, type);
        }
    }

    int length() {
        return length;
    }

    /** Stores (1, h, S, hd) at [length, length + S) and returns views of everything so far, in k's manager. */
    NDArray[] append(int layer, NDArray k, NDArray v) {
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

    void advance(int s) {
        length += s;
    }

    @Override
    public void close() {
        manager.close();
    }
}
