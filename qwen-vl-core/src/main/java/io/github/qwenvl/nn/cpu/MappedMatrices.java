package io.github.qwenvl.nn.cpu;

import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.checkpoint.SafetensorsFile;
import io.github.qwenvl.checkpoint.TensorDType;
import io.github.qwenvl.checkpoint.TensorInfo;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The (rows × cols) matrices of a checkpoint as {@link WeightMatrix}es over its memory-mapped bytes (no copy), each
 * mapped once however many users read it: the Java decoder and the layer-by-layer widening of the prefill share one
 * mapping per tensor. (Two mappings of the same file pages would each count them in the process's RSS.)
 */
public final class MappedMatrices {

    private final SafetensorsCheckpoint checkpoint;
    private final Map<String, WeightMatrix> mapped = new ConcurrentHashMap<>();

    public MappedMatrices(SafetensorsCheckpoint checkpoint) {
        this.checkpoint = checkpoint;
    }

    /** True for the stored formats a {@link WeightMatrix} reads in place (BF16 and F32). */
    public static boolean readable(TensorDType dtype) {
        return dtype == TensorDType.BF16 || dtype == TensorDType.F32;
    }

    /** Stored tensor {@code name}, which must have shape (rows, cols) and be {@link #readable}. */
    public WeightMatrix get(String name, int rows, int cols) {
        TensorInfo info = checkpoint.info(name);
        if (!Arrays.equals(info.shape(), new long[] {rows, cols})) {
            throw new IllegalStateException("'" + name + "' has shape " + Arrays.toString(info.shape())
                    + ", expected [" + rows + ", " + cols + "]");
        }
        if (!readable(info.dtype())) {
            throw new IllegalStateException("'" + name + "' is stored as " + info.dtype() + "; mapped matrices are BF16 or F32");
        }
        return mapped.computeIfAbsent(name, n -> map(n, info.dtype(), rows, cols));
    }

    private WeightMatrix map(String name, TensorDType dtype, int rows, int cols) {
        WeightMatrix.Format format = dtype == TensorDType.BF16 ? WeightMatrix.Format.BF16 : WeightMatrix.Format.F32;
        int perSegment = WeightMatrix.rowsPerSegment(format, rows, cols, checkpoint.mapLimitBytes());
        long rowBytes = (long) cols * format.bytes();
        int segments = (rows + perSegment - 1) / perSegment;
        ByteBuffer[] buffers = new ByteBuffer[segments];
        for (int s = 0; s < segments; s++) {
            int first = s * perSegment;
            int count = Math.min(perSegment, rows - first);
            buffers[s] = checkpoint.bytes(name, first * rowBytes, count * rowBytes);
        }
        return new WeightMatrix(format, rows, cols, perSegment, buffers);
    }
}
