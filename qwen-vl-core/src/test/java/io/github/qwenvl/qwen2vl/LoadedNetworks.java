package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDManager;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.SmallBlocks;
import io.github.qwenvl.testing.TestDevice;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** One loaded network per fixture model directory, shared by the golden tests of a JVM. */
final class LoadedNetworks {

    private static final NDManager MANAGER = NDManager.newBaseManager(TestDevice.device());
    /** BF16_MATMUL is a CPU mode: its networks live on the CPU whatever device the golden suites run on. */
    private static final NDManager CPU_MANAGER = NDManager.newBaseManager(ai.djl.Device.cpu());
    private static final Map<java.util.List<Object>, Qwen2VlNetwork> NETWORKS = new ConcurrentHashMap<>();
    private static final Map<Path, Qwen2VlNetwork> COPIES = new ConcurrentHashMap<>();
    private static final Map<java.util.List<Object>, Qwen2VlNetwork> BF16 = new ConcurrentHashMap<>();

    private LoadedNetworks() {
    }

    /** The network of a set's checkpoint, loaded with the tuning of the running check ({@link SmallBlocks#current()}). */
    static Qwen2VlNetwork of(FixtureSet set) {
        io.github.qwenvl.EngineTuning tuning = SmallBlocks.current();
        return NETWORKS.computeIfAbsent(java.util.List.of(set.modelDir(), tuning), key -> {
            Path dir = set.modelDir();
            SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir);
            return new Qwen2VlNetwork(ModelConfig.load(dir), checkpoint, null, MANAGER.newSubManager(),
                    TestDevice.matrixType(), io.github.qwenvl.QwenVlOptions.DecodeMode.AUTO, null,
                    io.github.qwenvl.QwenVlOptions.WeightMode.AUTO, tuning);
        });
    }

    /** The network loaded with every weight as a float32 copy (the default on the CPU widens layers as they run). */
    static Qwen2VlNetwork withFloat32Copies(FixtureSet set) {
        return COPIES.computeIfAbsent(set.modelDir(), dir -> new Qwen2VlNetwork(ModelConfig.load(dir),
                SafetensorsCheckpoint.open(dir), null, MANAGER.newSubManager(), TestDevice.matrixType(),
                io.github.qwenvl.QwenVlOptions.DecodeMode.AUTO, null, io.github.qwenvl.QwenVlOptions.WeightMode.FLOAT32_COPIES));
    }

    /**
     * The network whose layer matrices are the mapped BF16 checkpoint, multiplied in bfloat16 (BF16_MATMUL), loaded with
     * the tuning of the running check ({@link SmallBlocks#current()}).
     */
    static Qwen2VlNetwork withBf16Matmul(FixtureSet set) {
        io.github.qwenvl.EngineTuning tuning = SmallBlocks.current();
        return BF16.computeIfAbsent(java.util.List.of(set.modelDir(), tuning), key -> new Qwen2VlNetwork(
                ModelConfig.load(set.modelDir()), SafetensorsCheckpoint.open(set.modelDir()), null,
                CPU_MANAGER.newSubManager(), ai.djl.ndarray.types.DataType.FLOAT32,
                io.github.qwenvl.QwenVlOptions.DecodeMode.AUTO, null,
                io.github.qwenvl.QwenVlOptions.WeightMode.BF16_MATMUL, tuning));
    }

    static NDManager manager() {
        return MANAGER;
    }

    /** The manager of the {@link #withBf16Matmul} networks (CPU). */
    static NDManager cpuManager() {
        return CPU_MANAGER;
    }
}
