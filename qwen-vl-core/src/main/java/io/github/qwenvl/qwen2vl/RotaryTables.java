package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/** Rotary inverse frequencies, computed with the same float32 torch ops as the reference. */
public final class RotaryTables {

    private RotaryTables() {
    }

    /**
     * {@code 1 / theta^(arange(0, dim, 2) / dim)} in float32 — (dim/2) values. Computed by libtorch so
     * the float32 {@code pow} rounds exactly as in transformers.
     */
    public static float[] inverseFrequencies(NDManager manager, int dim, double theta) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray exponents = scope.arange(0, dim, 2).toType(DataType.FLOAT32, false).div((float) dim);
            NDArray powers = exponents.getNDArrayInternal().rpow((float) theta);
            return powers.getNDArrayInternal().rdiv(1.0f).toFloatArray();
        }
    }
}
