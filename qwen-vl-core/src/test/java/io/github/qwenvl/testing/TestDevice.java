package io.github.qwenvl.testing;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;

/**
 * Where the golden suites run their networks: CPU by default; {@code -Dqwenvl.test.device=gpu} runs them on CUDA
 * (DJL's CUDA libtorch must be on the class path), {@code -Dqwenvl.test.precision=float16} holds the matrices in
 * float16 there (residual stream and norms stay float32; the goldens' float32 tolerances are then expected to
 * fail, and the failures report the errors).
 */
public final class TestDevice {

    private TestDevice() {
    }

    public static Device device() {
        String kind = System.getProperty("qwenvl.test.device", "cpu");
        return switch (kind.toLowerCase(java.util.Locale.ROOT)) {
            case "cpu" -> Device.cpu();
            case "gpu", "cuda" -> Device.gpu();
            default -> throw new IllegalArgumentException("qwenvl.test.device must be cpu or gpu, not " + kind);
        };
    }

    /** The dtype the networks' matrices are held in. */
    public static DataType matrixType() {
        String p = System.getProperty("qwenvl.test.precision", "float32");
        return switch (p.toLowerCase(java.util.Locale.ROOT)) {
            case "float32", "f32" -> DataType.FLOAT32;
            case "float16", "f16" -> DataType.FLOAT16;
            default -> throw new IllegalArgumentException("qwenvl.test.precision must be float32 or float16, not " + p);
        };
    }
}
