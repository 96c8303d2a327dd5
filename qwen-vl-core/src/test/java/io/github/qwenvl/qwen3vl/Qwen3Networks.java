package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.TestDevice;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The Qwen3-VL sets of the fixture root, and one loaded network per model directory and decode mode. */
final class Qwen3Networks {

    private static final NDManager MANAGER = NDManager.newBaseManager(TestDevice.device());
    private static final Map<String, Qwen3VlNetwork> NETWORKS = new ConcurrentHashMap<>();

    private Qwen3Networks() {
    }

    /** Sets of the fixture root whose manifest summarises a (dense) {@code qwen3_vl} checkpoint. */
    static List<FixtureSet> sets() {
        return sets(FixtureRoot.sets());
    }

    /** The Qwen3-VL sets among {@code sets}, dense ({@code qwen3_vl}) and MoE ({@code qwen3_vl_moe}). */
    static List<FixtureSet> sets(List<FixtureSet> sets) {
        return sets.stream().filter(Qwen3Networks::isQwen3Vl).toList();
    }

    /** The Qwen3-VL sets (dense and MoE) among {@code sets} with a case named {@code caseName}. */
    static List<FixtureSet> withCase(List<FixtureSet> sets, String caseName) {
        return sets(sets).stream().filter(s -> s.cases().has(caseName)).toList();
    }

    static boolean isQwen3Vl(FixtureSet set) {
        JsonObject m = set.manifest();
        if (!m.has("model_dir") || !m.has("config_summary")) {
            return false;
        }
        JsonObject summary = m.getAsJsonObject("config_summary");
        return summary.has("model_type") && (summary.get("model_type").getAsString().equals("qwen3_vl")
                || summary.get("model_type").getAsString().equals("qwen3_vl_moe"));
    }

    /** A Qwen3-VL MoE set ({@code qwen3_vl_moe}). */
    static boolean moe(FixtureSet set) {
        return set.manifest().getAsJsonObject("config_summary").get("model_type").getAsString().equals("qwen3_vl_moe");
    }

    /** The decode modes a set's generations are checked in: ENGINE and JAVA; ENGINE only for a MoE set. */
    static List<QwenVlOptions.DecodeMode> decodeModes(FixtureSet set) {
        return moe(set) ? List.of(QwenVlOptions.DecodeMode.ENGINE)
                : List.of(QwenVlOptions.DecodeMode.ENGINE, QwenVlOptions.DecodeMode.JAVA);
    }

    /** The network with the engine decoding (float32 copies of every weight). */
    static Qwen3VlNetwork of(FixtureSet set) {
        return of(set, QwenVlOptions.DecodeMode.ENGINE);
    }

    /** The network loaded for {@code mode} (JAVA: the Java BF16 decoder, matrices widened per layer). */
    static Qwen3VlNetwork of(FixtureSet set, QwenVlOptions.DecodeMode mode) {
        Path dir = set.modelDir();
        return NETWORKS.computeIfAbsent(dir + "#" + mode, key -> new Qwen3VlNetwork(ModelConfig.load(dir),
                SafetensorsCheckpoint.open(dir), null, MANAGER.newSubManager(), TestDevice.matrixType(), mode, null,
                QwenVlOptions.WeightMode.AUTO));
    }

    static NDManager manager() {
        return MANAGER;
    }
}
