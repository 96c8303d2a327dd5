package io.github.qwenvl.qwen2vl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions.DecodeMode;
import io.github.qwenvl.generate.GenerationLoop;
import io.github.qwenvl.generate.SamplingParams;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every greedy generation golden in both decode modes (the engine's f32 steps and the Java steps over the
 * mapped BF16 weights): the same ids in both, and every step's logits within 1e-4 · max(1, |max|) of the
 * golden columns; the two modes' full logits within the same bound of each other.
 */
class DecodeModesGoldenTest {

    @TestFactory
    Stream<DynamicTest> bothModes() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : FixtureRoot.sets()) {
            if (!set.isQwen2Family() || !set.cases().has("generation")) {
                continue;
            }
            JsonObject generation = set.cases().getAsJsonObject("generation");
            Path file = set.resolve(generation.get("file").getAsString());
            for (Map.Entry<String, JsonElement> e : generation.getAsJsonObject("prompts").entrySet()) {
                tests.add(DynamicTest.dynamicTest(set.name() + "/generation/" + e.getKey() + "/engine-vs-java",
                        () -> compare(set, e.getKey(), e.getValue().getAsJsonObject(), file)));
            }
        }
        assertThat(tests).isNotEmpty();
        return tests.stream();
    }

    private void compare(FixtureSet set, String name, JsonObject prompt, Path file) {
        Qwen2VlNetwork net = LoadedNetworks.of(set);
        assertThat(net.javaDecoder()).as("the fixture's BF16 weights are read by the Java decoder").isNotNull();
        JsonObject kwargs = prompt.getAsJsonObject("generate_kwargs");
        SamplingParams params = new SamplingParams(false, 1.0, 0, 1.0,
                kwargs.has("repetition_penalty") && !kwargs.get("repetition_penalty").isJsonNull()
                        ? kwargs.get("repetition_penalty").getAsDouble() : 1.0,
                null, kwargs.get("max_new_tokens").getAsInt(), 0, net.config().generation().eosTokenIds(), List.of());
        long[] expected = GenerationGoldenTest.toLongs(prompt.getAsJsonArray("new_ids"));
        long[] cols = Goldens.longs(file, "logits_cols_ids");
        float[] expectedCols = Goldens.floats(file, name + ".step_logits_cols");

        List<float[]> engine = new ArrayList<>();
        List<float[]> java = new ArrayList<>();
        GenerationLoop.Outcome e = GenerationGoldenTest.run(set, prompt, params, DecodeMode.ENGINE, (step, logits) -> engine.add(logits.clone()));
        GenerationLoop.Outcome j = GenerationGoldenTest.run(set, prompt, params, DecodeMode.JAVA, (step, logits) -> java.add(logits.clone()));
        assertThat(GenerationGoldenTest.toLongs(e.tokens())).as("%s engine ids", name).containsExactly(expected);
        assertThat(GenerationGoldenTest.toLongs(j.tokens())).as("%s java ids", name).containsExactly(expected);
        assertThat(java).hasSameSizeAs(engine);
        for (String mode : new String[] {"engine", "java"}) {
            List<float[]> steps = mode.equals("engine") ? engine : java;
            float[] actual = new float[steps.size() * cols.length];
            for (int s = 0; s < steps.size(); s++) {
                for (int c = 0; c < cols.length; c++) {
                    actual[s * cols.length + c] = steps.get(s)[(int) cols[c]];
                }
            }
            Goldens.assertClose("decode " + mode + " step_logits_cols: " + set.name() + "/" + name, expectedCols, actual, 1e-4);
        }
        for (int s = 0; s < engine.size(); s++) {
            Goldens.assertClose("java vs engine step logits: " + set.name() + "/" + name + " step " + s,
                    engine.get(s), java.get(s), 1e-4);
        }
    }
}
