package io.github.qwenvl.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs the generator and the whole benchmark pipeline on tiny configurations, so the code path stays
 * exercised in CI (a few seconds). Timings are not asserted, only that every figure is there and positive.
 */
class EngineBenchmarkTest {

    @TempDir
    Path temp;

    @Test
    void randomCheckpointHasThePublishedLayoutAndIsCached() {
        Path fixtures = RandomCheckpoint.fixtureRoot();
        RandomCheckpoint.Prepared first = RandomCheckpoint.ensure(ModelSpec.TINY, temp, fixtures);
        assertThat(first.generated()).isTrue();
        assertThat(first.directory().resolve("config.json")).exists();
        assertThat(first.directory().resolve("tokenizer.json")).exists();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(first.directory())) {
            assertThat(ckpt.names()).hasSize(ModelSpec.TINY.tensors().size());
            assertThat(ckpt.info("visual.patch_embed.proj.weight").shape()).containsExactly(32, 3, 2, 14, 14);
            assertThat(ckpt.readFloats("model.norm.weight")).containsOnly(1f);
            float[] embed = ckpt.readFloats("model.embed_tokens.weight");
            double sum = 0;
            double squares = 0;
            for (float f : embed) {
                sum += f;
                squares += (double) f * f;
            }
            double mean = sum / embed.length;
            double std = Math.sqrt(squares / embed.length - mean * mean);
            assertThat(Math.abs(mean)).isLessThan(0.002);
            assertThat(std).isBetween(0.018, 0.022);
        }
        RandomCheckpoint.Prepared second = RandomCheckpoint.ensure(ModelSpec.TINY, temp, fixtures);
        assertThat(second.generated()).isFalse();
    }

    @Test
    void visionWorkingSetEstimateIsOneQueryBlocksAttention() {
        // attention runs in query-row blocks of ~16M scores: 3 f32 score tensors of ~64 MB, whatever the image
        // (448x448: 16 heads x 1024 rows x 1024; 1024x768: 16 heads x 262 rows x 3996)
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(ModelSpec.QWEN2_VL_2B, 448, 448))
                .isEqualTo(3L * 4 * 16 * 1024 * 1024);
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(ModelSpec.QWEN2_VL_2B, 1024, 768))
                .isEqualTo(3L * 4 * 16 * 262 * 3996);
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(ModelSpec.QWEN2_5_VL_3B, 1024, 768))
                .isEqualTo(EngineBenchmark.predictedVisionAttentionBytes(ModelSpec.QWEN2_VL_2B, 1024, 768));
    }

    @Test
    void pipelineReportsEveryFigure() throws Exception {
        for (ModelSpec spec : List.of(ModelSpec.TINY, ModelSpec.TINY_25)) {
            Path results = temp.resolve("results.jsonl");
            EngineBenchmark.Settings settings = new EngineBenchmark.Settings(spec.name(), 2, temp,
                    RandomCheckpoint.fixtureRoot(), results, 4, 3, EngineBenchmark.Settings.parseImages("112x84,200x150"),
                    256, 64);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            EngineBenchmark.Report r = EngineBenchmark.run(settings, new PrintStream(log, true, StandardCharsets.UTF_8));

            assertThat(r.loadSeconds()).isPositive();
            assertThat(r.parameters()).isPositive();
            assertThat(r.peakRssGiB()).isPositive();
            assertThat(r.bandwidthGBs()).isPositive();
            assertThat(r.matmulGflops()).isPositive();
            assertThat(r.images()).hasSize(2);
            for (EngineBenchmark.ImageRun i : r.images()) {
                assertThat(i.imageTokens()).isPositive();
                assertThat(i.visionMillis()).isPositive();
                assertThat(i.prefillTokensPerSecond()).isPositive();
                assertThat(i.firstTokenMillis()).isPositive();
            }
            assertThat(r.decodes()).hasSize(3).allSatisfy(d -> assertThat(d.completionTokens()).isEqualTo(4));
            assertThat(r.medianDecodeTokensPerSecond()).isPositive();
            // tiny: 2 layers of (q,k,v,o + biases, 3 MLP matrices, 2 norms) + final norm + tied head (4160 x 64)
            long layer = 64 * 64 + 64 + 2 * (32 * 64 + 32) + 64 * 64 + 3 * 176 * 64 + 2 * 64;
            assertThat(r.decodeBytesPerToken()).isEqualTo(4L * (2 * layer + 64 + 4160 * 64));
            assertThat(r.decodePercentOfBound()).isPositive();
            assertThat(r.javaBandwidthGBs()).isPositive();
            assertThat(r.sweep()).extracting(EngineBenchmark.SweepRun::mode)
                    .containsExactly("ENGINE", "JAVA", "ENGINE", "JAVA");
            assertThat(r.sweep()).allSatisfy(run -> assertThat(run.tokensPerSecond()).isPositive());

            ByteArrayOutputStream table = new ByteArrayOutputStream();
            EngineBenchmark.print(r, new PrintStream(table, true, StandardCharsets.UTF_8));
            assertThat(table.toString(StandardCharsets.UTF_8))
                    .contains("load", "peak RSS", "image 112x84 vision", "prefill", "first token", "decode",
                            "mat-vec bandwidth", "decode vs bound", "Java mat-vec bandwidth", "vs ENGINE");

            EngineBenchmark.appendJson(r, results);
            List<String> lines = Files.readAllLines(results);
            JsonObject json = JsonParser.parseString(lines.get(lines.size() - 1)).getAsJsonObject();
            assertThat(json.get("model").getAsString()).isEqualTo(spec.name());
            assertThat(json.get("decodeTokensPerSecond").getAsDouble()).isPositive();
            assertThat(json.getAsJsonArray("images")).hasSize(2);
        }
    }
}
