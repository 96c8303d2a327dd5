package io.github.qwenvl.testing;

import io.github.qwenvl.checkpoint.SafetensorsFile;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads golden tensors ({@code file.safetensors#key}) with the library's own safetensors reader,
 * and compares floats the way the fixture READMEs prescribe.
 */
public final class Goldens {

    private static final Map<Path, SafetensorsFile> OPEN = new ConcurrentHashMap<>();

    private Goldens() {
    }

    public static SafetensorsFile file(Path path) {
        return OPEN.computeIfAbsent(path.toAbsolutePath().normalize(), SafetensorsFile::open);
    }

    public static float[] floats(Path file, String key) {
        return file(file).readFloats(key);
    }

    public static long[] longs(Path file, String key) {
        return file(file).readLongs(key);
    }

    public static long[] shape(Path file, String key) {
        return file(file).info(key).shape();
    }

    /** Largest |a - b|; fails on length mismatch. */
    public static double maxAbsDiff(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("length " + actual.length + " != expected " + expected.length);
        }
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (Double.isNaN(d)) {
                return Double.POSITIVE_INFINITY;
            }
            max = Math.max(max, d);
        }
        return max;
    }

    public static double maxAbs(float[] values) {
        double max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }

    /** The fixtures' float tolerance: atol · max(1, max|golden|). */
    public static void assertClose(String what, float[] expected, float[] actual, double atol) {
        double diff = maxAbsDiff(expected, actual);
        double bound = atol * Math.max(1.0, maxAbs(expected));
        if (!(diff <= bound)) {
            throw new AssertionError(what + ": max |Δ| = " + diff + " > " + bound);
        }
        MaxDiffLog.record(what, diff, diff / Math.max(1.0, maxAbs(expected)));
    }
}
