package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDManager;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.TestDevice;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** One loaded network per fixture model directory, shared by the golden tests of a JVM. */
final class LoadedNetworks {

    private static final NDManager MANAGER = NDManager.newBaseManager(TestDevice.device());
    private static final Map<Path, Qwen2VlNetwork> NETWORKS = new ConcurrentHashMap<>();

    private LoadedNetworks() {
    }

    static Qwen2VlNetwork of(FixtureSet set) {
        return NETWORKS.computeIfAbsent(set.modelDir(), dir -> {
            SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir);
            return new Qwen2VlNetwork(ModelConfig.load(dir), checkpoint, MANAGER.newSubManager(), TestDevice.matrixType());
        });
    }

    static NDManager manager() {
        return MANAGER;
    }
}
