package io.github.qwenvl.qwen2vl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.generate.GenerationLoop;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.TestDevice;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The two ways of holding the engine's float32 weights agree. The golden suites run the default network (on the CPU:
 * matrices widened from the mapped BF16 checkpoint layer by layer, embedding and LM head read by the Java decoder);
 * here every logits case also runs on a network holding float32 copies of every weight. Widening BF16 is exact and the
 * layers run the same engine ops on the same values, so image embeddings, inputs embeddings, every layer's output and
 * the final hidden state must be bit-identical; the logits differ only by the LM head's summation order (Java kernels
 * against the engine's matmul). The greedy generations of the copies network match the goldens token for token.
 */
class WeightModesGoldenTest {

    @TestFactory
    Stream<DynamicTest> bothWeightModes() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : LogitsGoldenTest.goldenSets(FixtureRoot.sets())) {
            tests.add(DynamicTest.dynamicTest(set.name() + "/modes", () -> {
                assertThat(LoadedNetworks.withFloat32Copies(set).weightMode())
                        .isEqualTo(QwenVlOptions.WeightMode.FLOAT32_COPIES);
                // the default picks per-layer widening wherever it can: on the CPU, with the Java decoder
                boolean javaDecode = LoadedNetworks.of(set).javaDecoder() != null;
                assertThat(LoadedNetworks.of(set).weightMode()).isEqualTo(!TestDevice.device().isGpu() && javaDecode
                        ? QwenVlOptions.WeightMode.WIDEN_PER_LAYER : QwenVlOptions.WeightMode.FLOAT32_COPIES);
            }));
            for (Map.Entry<String, JsonElement> e : set.cases().entrySet()) {
                JsonObject c = e.getValue().getAsJsonObject();
                if (c.has("keys") && c.getAsJsonObject("keys").has("final_hidden")) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + e.getKey(), () -> sameForward(set, c)));
                }
            }
        }
        for (GenerationGoldenTest.GenerationCase c : GenerationGoldenTest.cases()) {
            tests.add(DynamicTest.dynamicTest(c.label() + "/float32_copies", () -> greedyWithCopies(c)));
        }
        return tests.stream();
    }

    private void sameForward(FixtureSet set, JsonObject c) {
        Path file = set.resolve(c.get("file").getAsString());
        String tag = set.name() + "/" + file.getFileName();
        LogitsGoldenTest.Forward widened = LogitsGoldenTest.forward(set, LoadedNetworks.of(set), c, file);
        LogitsGoldenTest.Forward copies = LogitsGoldenTest.forward(set, LoadedNetworks.withFloat32Copies(set), c, file);
        if (copies.imageEmbeds() != null) {
            assertThat(widened.imageEmbeds()).as("%s image_embeds", tag).containsExactly(copies.imageEmbeds());
        }
        assertThat(widened.inputsEmbeds()).as("%s inputs_embeds", tag).containsExactly(copies.inputsEmbeds());
        for (int l = 0; l < copies.layers().length; l++) {
            assertThat(widened.layers()[l]).as("%s layer %d", tag, l).containsExactly(copies.layers()[l]);
        }
        assertThat(widened.finalHidden()).as("%s final hidden", tag).containsExactly(copies.finalHidden());
        float maxLogit = 0;
        float maxDiff = 0;
        for (int i = 0; i < copies.logits().length; i++) {
            maxLogit = Math.max(maxLogit, Math.abs(copies.logits()[i]));
            maxDiff = Math.max(maxDiff, Math.abs(copies.logits()[i] - widened.logits()[i]));
        }
        assertThat(maxDiff).as("%s logits, largest |logit| %s", tag, maxLogit).isLessThanOrEqualTo(1e-5f * Math.max(1, maxLogit));
    }

    private void greedyWithCopies(GenerationGoldenTest.GenerationCase c) {
        Qwen2VlNetwork net = LoadedNetworks.withFloat32Copies(c.set());
        GenerationLoop.Outcome outcome = GenerationGoldenTest.run(c.set(), net, LoadedNetworks.manager(), c.prompt(),
                GenerationGoldenTest.greedyParams(c.prompt(), net), null, null);
        long[] expected = c.prompt().getAsJsonArray("new_ids").asList().stream().mapToLong(JsonElement::getAsLong).toArray();
        assertThat(java.util.Arrays.stream(outcome.tokens()).asLongStream().toArray()).as("%s new ids", c.label())
                .containsExactly(expected);
    }
}
