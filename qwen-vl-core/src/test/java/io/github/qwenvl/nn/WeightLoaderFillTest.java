package io.github.qwenvl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.bench.ModelSpec;
import io.github.qwenvl.bench.Qwen2VlSpec;
import io.github.qwenvl.bench.RandomCheckpoint;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.engine.DjlRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The parallel widening of {@link WeightLoader}: tensors cut into many row slices and filled by several threads
 * must come out bit-identical to the one-thread load (the golden suites run the default, one slice per small
 * tensor, two threads).
 */
class WeightLoaderFillTest {

    @TempDir
    Path temp;

    private static final long DEFAULT_SLICE = io.github.qwenvl.EngineTuning.DEFAULTS.loadSliceElements();

    @Test
    void slicedParallelFillEqualsSequentialLoad() {
        DjlRuntime.start(2);
        for (ModelSpec spec : List.of(Qwen2VlSpec.TINY, Qwen2VlSpec.TINY_25)) {
            Path dir = RandomCheckpoint.ensure(spec, temp, RandomCheckpoint.fixtureRoot()).directory();
            Map<String, float[]> sequential = loadAll(dir, 1, DEFAULT_SLICE); // one slice per tensor (all are below 64 MB)
            // a few rows per slice, many slices in flight
            Map<String, float[]> parallel = loadAll(dir, 3, 1000);
            Map<String, float[]> slicedInline = loadAll(dir, 1, 1000);
            assertThat(parallel.keySet()).isEqualTo(sequential.keySet()).hasSize(spec.tensors().size());
            assertThat(slicedInline.keySet()).isEqualTo(sequential.keySet());
            for (String name : sequential.keySet()) {
                // Arrays.equals: AssertJ's containsExactly is slow on large arrays
                assertThat(java.util.Arrays.equals(parallel.get(name), sequential.get(name))).as(spec.name() + " " + name).isTrue();
                assertThat(java.util.Arrays.equals(slicedInline.get(name), sequential.get(name))).as(spec.name() + " " + name).isTrue();
            }
        }
    }

    private static Map<String, float[]> loadAll(Path dir, int threads, long sliceElements) {
        Map<String, float[]> out = new TreeMap<>();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
             NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            List<NDArray> arrays = new ArrayList<>();
            try (WeightLoader loader = new WeightLoader(ckpt, null, manager, DataType.FLOAT32, threads, sliceElements)) {
                for (String name : ckpt.names()) {
                    arrays.add(loader.load(name));
                }
                loader.finish();
                // progress counts filled bytes (as the fill threads finish slices): all of them once finished
                assertThat(loader.filledStoredBytes()).isEqualTo(ckpt.storedBytes());
            }
            for (NDArray a : arrays) {
                out.put(a.getName(), a.toFloatArray());
            }
        }
        return out;
    }
}
