package io.github.qwenvl.qwenvl;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.TensorStore;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Qwen-VL's float16 path ({@code precision=float16}, offered on CUDA) run on CPU: every visual-embeds golden through a
 * tower whose matrices are float16. Found on an H100: {@code ln_post(x) @ proj} multiplied a float32 activation with
 * the float16 {@code proj} and failed ("expected mat1 and mat2 to have the same dtype").
 */
class QwenVlFloat16Test {

    private static final double F16_ATOL = 0.05;

    @TestFactory
    Stream<DynamicTest> visualEmbedsWithFloat16Matrices() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : QwenVlSets.modelSets(io.github.qwenvl.testing.FixtureRoot.bundledSets())) {
            JsonObject m = set.manifest();
            if (!m.has("visual")) {
                continue;
            }
            JsonObject v = m.getAsJsonObject("visual");
            Path file = set.dir().resolve(v.get("file").getAsString());
            for (String key : v.getAsJsonObject("embeds").keySet()) {
                if (key.equals("embeds_batch2")) {
                    continue;
                }
                String image = key.substring("embeds.".length());
                tests.add(DynamicTest.dynamicTest(set.name() + "/visual/" + key + "/float16", () -> {
                    try (TensorStore store = TensorStore.open(QwenVlSets.modelDir(set));
                         NDManager weights = QwenVlSets.manager().newSubManager()) {
                        QwenVlVisionTower tower = new QwenVlVisionTower(QwenVlSets.config(set).visual(),
                                new QwenVlWeights(store, weights, DataType.FLOAT16));
                        float[] out = QwenVlModelGoldenTest.runVision(tower, QwenVlSets.goldenPixels(set, image), 1, null);
                        Goldens.assertClose("qwen-vl float16 visual embeds", Goldens.floats(file, key), out, F16_ATOL);
                    }
                }));
            }
        }
        assertThat(tests).isNotEmpty();
        return tests.stream();
    }
}
