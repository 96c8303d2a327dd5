package io.github.qwenvl.qwen2vl;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions.DecodeMode;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.generate.LogitsSampler;
import io.github.qwenvl.nn.cpu.WeightMatrix;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The opt-in quantised decodes ({@link DecodeMode#JAVA_INT8}, {@link DecodeMode#JAVA_INT4}) on every generation
 * golden: their logit error, reported. The
 * golden's ids are fed step by step (teacher forcing) so that every step compares the same context; printed per case:
 * the largest |Δ| of the step logits against the golden's columns and against the exact (BF16) Java decode over the
 * whole vocabulary, and how many steps keep the same greedy token. Asserted: the error stays a small fraction of the
 * logits' range, the prefill (on the engine, float32) is untouched, and the matrices really are read as Q8 / Q4.
 */
class QuantizedDecodeGoldenTest {

    /**
     * Largest accepted |Δ| relative to the largest |logit| of a step. Measured on the bundled tiny random models:
     * 2.7–5.3 % (their 64-wide rows are one block each, and random weights make int8 noise larger than on trained
     * models); the bound leaves room for other fixture sets and still fails on any real defect (a wrong scale or
     * block is off by far more than the logits' range).
     */
    private static final double RELATIVE_BOUND = 0.15;

    /**
     * The same for 4 bits (16 levels per group instead of 255, so about 10× int8's error): measured on the bundled
     * tiny random models 34–62 % of the largest |logit|, cosine similarity of a step's logits to the BF16 decode
     * 0.81–0.95 (their 64-wide rows are one group each). A wrong nibble order, scale or offset leaves the logits
     * uncorrelated (cosine near 0).
     */
    private static final double RELATIVE_BOUND_INT4 = 0.8;

    /** Smallest accepted cosine similarity of a step's logits to the BF16 decode's (int8 measured ≥ 0.998). */
    private static final double MIN_COSINE = 0.99;
    private static final double MIN_COSINE_INT4 = 0.75;

    @TestFactory
    Stream<DynamicTest> int8LogitError() {
        return GenerationGoldenTest.cases().stream().map(c -> DynamicTest.dynamicTest(c.label() + "/int8",
                () -> measure(c.set(), c.name(), c.prompt(), c.file(), DecodeMode.JAVA_INT8, RELATIVE_BOUND, MIN_COSINE)));
    }

    @TestFactory
    Stream<DynamicTest> int4LogitError() {
        return GenerationGoldenTest.cases().stream().map(c -> DynamicTest.dynamicTest(c.label() + "/int4",
                () -> measure(c.set(), c.name(), c.prompt(), c.file(), DecodeMode.JAVA_INT4, RELATIVE_BOUND_INT4, MIN_COSINE_INT4)));
    }

    private void measure(FixtureSet set, String name, JsonObject prompt, Path file, DecodeMode mode, double bound,
                         double minCosine) {
        WeightMatrix.Format format = mode.quantizedFormat();
        long[] golden = GenerationGoldenTest.toLongs(prompt.getAsJsonArray("new_ids"));
        long[] cols = Goldens.longs(file, "logits_cols_ids");
        float[] expectedCols = Goldens.floats(file, name + ".step_logits_cols");
        List<float[]> exact;
        List<float[]> int8;
        // both on the CPU in float32 whatever device the golden suites were pointed at: the Java decoder is a CPU path
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
             SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(set.modelDir())) {
            ModelConfig config = ModelConfig.load(set.modelDir());
            Qwen2VlNetwork bf16 = new Qwen2VlNetwork(config, checkpoint, manager.newSubManager(), DataType.FLOAT32,
                    DecodeMode.JAVA, 2);
            Qwen2VlNetwork net = new Qwen2VlNetwork(config, checkpoint, manager.newSubManager(), DataType.FLOAT32,
                    mode, 2);
            try {
                assertThat(net.javaDecoder().weightFormat()).isEqualTo(format);
                assertThat(bf16.javaDecoder().weightFormat()).isNotEqualTo(format);
                // the quantised copies count as weights held
                assertThat(net.weightBytes()).isEqualTo(bf16.weightBytes() + net.javaDecoder().bytesPerToken());
                exact = teacherForced(set, bf16, manager, prompt, golden);
                int8 = teacherForced(set, net, manager, prompt, golden);
            } finally {
                net.close();
                bf16.close();
            }
        }
        assertThat(int8).hasSameSizeAs(exact);
        // step 0 is the prefill's logits: the engine in float32, not the quantised decoder
        Goldens.assertClose("prefill logits: " + set.name() + "/" + name, exact.get(0), int8.get(0), 1e-6);
        double worstCols = 0;
        double worstFull = 0;
        double worstRelative = 0;
        int sameArgmax = 0;
        double worstCosine = 1;
        float[] ours = GenerationGoldenTest.stepLogitsCols(int8, cols);
        for (int i = 0; i < ours.length; i++) {
            worstCols = Math.max(worstCols, Math.abs(ours[i] - expectedCols[i]));
        }
        for (int s = 0; s < exact.size(); s++) {
            float[] e = exact.get(s);
            float[] q = int8.get(s);
            double diff = 0;
            double range = 1;
            for (int v = 0; v < e.length; v++) {
                diff = Math.max(diff, Math.abs(e[v] - q[v]));
                range = Math.max(range, Math.abs(e[v]));
            }
            worstFull = Math.max(worstFull, diff);
            double dot = 0;
            double ee = 0;
            double qq = 0;
            for (int v = 0; v < e.length; v++) {
                dot += (double) e[v] * q[v];
                ee += (double) e[v] * e[v];
                qq += (double) q[v] * q[v];
            }
            worstCosine = Math.min(worstCosine, dot / Math.sqrt(ee * qq));
            worstRelative = Math.max(worstRelative, diff / range);
            if (LogitsSampler.argmax(e) == LogitsSampler.argmax(q)) {
                sameArgmax++;
            }
        }
        System.out.printf(Locale.ROOT, "%s decode %s/%s: %d steps, max |Δ| %.4f vs the golden's columns, %.4f vs the"
                        + " BF16 decode (%.2f %% of the largest |logit|), cosine similarity of the step logits ≥ %.4f, greedy token"
                        + " unchanged at %d of %d steps%n",
                mode, set.name(), name, exact.size(), worstCols, worstFull, 100 * worstRelative, worstCosine, sameArgmax, exact.size());
        assertThat(worstRelative).as("%s/%s %s logit error relative to the logits' range", set.name(), name, mode)
                .isLessThan(bound);
        assertThat(worstCosine).as("%s/%s %s step logits' cosine similarity to the BF16 decode", set.name(), name, mode)
                .isGreaterThan(minCosine);
    }

    /** Prefill logits, then the logits after each golden token but the last: one per generated token. */
    private static List<float[]> teacherForced(FixtureSet set, Qwen2VlNetwork net, NDManager manager, JsonObject prompt,
                                               long[] golden) {
        List<float[]> steps = new ArrayList<>();
        try (NDManager scope = manager.newSubManager();
             Qwen2VlDecodingSession session = GenerationGoldenTest.openSession(set, net, scope, prompt, golden.length,
                     DecodeMode.JAVA)) {
            steps.add(session.prefill().clone());
            for (int i = 0; i + 1 < golden.length; i++) {
                steps.add(session.next((int) golden[i]).clone());
            }
        }
        return steps;
    }

}
