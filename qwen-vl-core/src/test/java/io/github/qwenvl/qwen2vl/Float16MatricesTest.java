package io.github.qwenvl.qwen2vl;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.generate.GenerationLoop;
import io.github.qwenvl.generate.SamplingParams;
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
 * The float16 path ({@code precision=float16}, offered on CUDA) run on CPU, so CI without a GPU still proves its dtype
 * plumbing: matrices held in float16, activations, norms and the residual stream in float32. Every generation golden
 * of the Qwen2 family: greedy ids identical, step logits within a float16-sized tolerance (docs/performance.md has
 * the errors measured on a GPU).
 */
class Float16MatricesTest {

    /** float16 keeps 11 significant bits: errors of a few 1e-2 on logits of these tiny random models. */
    private static final double F16_LOGITS_ATOL = 0.1;

    @TestFactory
    Stream<DynamicTest> greedyWithFloat16Matrices() {
        return GenerationGoldenTest.cases().stream().map(c -> DynamicTest.dynamicTest(c.label() + "/float16",
                () -> greedy(c.set(), c.name(), c.prompt(), c.file())));
    }

    private void greedy(FixtureSet set, String name, JsonObject prompt, Path file) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
             SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(set.modelDir())) {
            Qwen2VlNetwork net = new Qwen2VlNetwork(ModelConfig.load(set.modelDir()), checkpoint, manager.newSubManager(),
                    DataType.FLOAT16);
            try {
                assertThat(net.weightBytes()).as("matrices held in float16").isLessThan(4 * net.parameterCount());
                assertThat(net.javaDecoder()).as("no Java decode over float16 engine matrices").isNull();
                SamplingParams params = GenerationGoldenTest.greedyParams(prompt, net);
                List<float[]> steps = new ArrayList<>();
                GenerationLoop.Outcome outcome = GenerationGoldenTest.run(set, net, manager, prompt, params, null,
                        (step, logits) -> steps.add(logits));
                assertThat(GenerationGoldenTest.toLongs(outcome.tokens())).as("%s/%s float16 greedy ids", set.name(), name)
                        .containsExactly(GenerationGoldenTest.toLongs(prompt.getAsJsonArray("new_ids")));
                float[] expected = Goldens.floats(file, name + ".step_logits_cols");
                float[] actual = GenerationGoldenTest.stepLogitsCols(steps, Goldens.longs(file, "logits_cols_ids"));
                Goldens.assertClose("float16 step logits: " + set.name() + "/" + name, expected, actual, F16_LOGITS_ATOL);
            } finally {
                net.close();
            }
        }
    }
}
