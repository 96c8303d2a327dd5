package io.github.qwenvl.qwen2vl;

import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions.DecodeMode;
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
 * Every greedy generation golden in both decode modes (the engine's f32 steps and the Java steps over the
 * mapped BF16 weights): the same ids in both, and every step's logits within 1e-4 · max(1, |max|) of the
 * golden columns; the two modes' full logits within the same bound of each other.
 */
class DecodeModesGoldenTest {

    @TestFactory
    Stream<DynamicTest> bothModes() {
        return GenerationGoldenTest.cases().stream().map(c -> DynamicTest.dynamicTest(c.label() + "/engine-vs-java",
                () -> compare(c.set(), c.name(), c.prompt(), c.file())));
    }

    /**
     * A long answer in both modes: the Java KV cache is sized for the prompt plus some room and grows (copying what
     * it holds) during the answer; every step must still match the engine's. 200 new tokens, no stop ids.
     */
    @TestFactory
    Stream<DynamicTest> longAnswerGrowsTheJavaCache() {
        return GenerationGoldenTest.cases().stream().limit(2).map(c -> DynamicTest.dynamicTest(
                c.label() + "/200-tokens", () -> {
                    Qwen2VlNetwork net = LoadedNetworks.of(c.set());
                    SamplingParams golden = GenerationGoldenTest.greedyParams(c.prompt(), net);
                    SamplingParams params = new SamplingParams(false, 1.0, 0, 1.0, golden.repetitionPenalty(), null,
                            200, 0, new int[0], List.of());
                    List<float[]> engine = new ArrayList<>();
                    List<float[]> java = new ArrayList<>();
                    GenerationLoop.Outcome e = GenerationGoldenTest.run(c.set(), c.prompt(), params, DecodeMode.ENGINE,
                            (step, logits) -> engine.add(logits.clone()));
                    GenerationLoop.Outcome j = GenerationGoldenTest.run(c.set(), c.prompt(), params, DecodeMode.JAVA,
                            (step, logits) -> java.add(logits.clone()));
                    assertThat(j.tokens()).hasSize(200).containsExactly(e.tokens());
                    for (int s = 0; s < engine.size(); s++) {
                        Goldens.assertClose("java vs engine step " + s + ": " + c.label(), engine.get(s), java.get(s),
                                1e-4);
                    }
                }));
    }

    private void compare(FixtureSet set, String name, JsonObject prompt, Path file) {
        Qwen2VlNetwork net = LoadedNetworks.of(set);
        assertThat(net.javaDecoder()).as("the fixture's BF16 weights are read by the Java decoder").isNotNull();
        SamplingParams params = GenerationGoldenTest.greedyParams(prompt, net);
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
            Goldens.assertClose("decode " + mode + " step_logits_cols: " + set.name() + "/" + name, expectedCols,
                    GenerationGoldenTest.stepLogitsCols(steps, cols), 1e-4);
        }
        for (int s = 0; s < engine.size(); s++) {
            Goldens.assertClose("java vs engine step logits: " + set.name() + "/" + name + " step " + s,
                    engine.get(s), java.get(s), 1e-4);
        }
    }
}
