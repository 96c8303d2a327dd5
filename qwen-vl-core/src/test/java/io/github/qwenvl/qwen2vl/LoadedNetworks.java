package io.github.qwenvl.qwen2vl;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.testing.FixtureSet;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** One loaded network per fixture model directory, shared by the golden tests of a JVM. */
final class LoadedNetworks {

    private static final NDManager MANAGER = NDManager.newBaseManager(Device.cpu());
    private static final Map<Path, Qwen2VlNetwork> NETWORKS = new ConcurrentHashMap<>();

    private LoadedNetworks() {
    }

    static Qwen2VlNetwork of(FixtureSet set) {
        return NETWORKS.computeIfAbsent(set.modelDir(), dir -> {
            SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir);
            return new Qwen2VlNetwork(ModelConfig.load(dir), checkpoint, MANAGER.newSubManager(), DataType.FLOAT32);
        });
    }

    static NDManager manager() {
        return MANAGER;
    }
}
