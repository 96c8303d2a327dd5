package io.github.qwenvl.checkpoint;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header.
 *
 * @param name   the published tensor name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype  element type as stored
 * @param shape  dimensions, outermost first
 * @param offset byte offset of the tensor data from the start of the data section
 * @param length byte length (= product(shape) * dtype size, checked when the header is read)
 */
public record TensorInfo(String name, TensorDType dtype, long[] shape, long offset, long length) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Refuses a range read of elements [fromElement, fromElement + count) into {@code targetBytes} that does not fit. */
    void checkRange(long fromElement, long count, long targetBytes) {
        if (fromElement < 0 || count < 0 || fromElement + count > elementCount() || targetBytes < count * 4) {
            throw new IllegalArgumentException("range [" + fromElement + ", " + (fromElement + count) + ") of tensor '"
                    + name + "' (" + elementCount() + " elements) into " + targetBytes + " bytes");
        }
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.name.equals(name) && t.dtype == dtype
                && Arrays.equals(t.shape, shape) && t.offset == offset && t.length == length;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
