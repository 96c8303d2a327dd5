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
 * Runs the generator and the whole benchmark pipeline on tiny configurations (Qwen2-VL, Qwen2.5-VL and the original
 * Qwen-VL), so the code path stays exercised in CI (a few seconds). Timings are not asserted, only that every
 * figure is there and positive.
 */
class EngineBenchmarkTest {

    @TempDir
    Path temp;

    @Test
    void randomCheckpointHasThePublishedLayoutAndIsCached() {
        Path fixtures = RandomCheckpoint.fixtureRoot();
        RandomCheckpoint.Prepared first = RandomCheckpoint.ensure(Qwen2VlSpec.TINY, temp, fixtures);
        assertThat(first.generated()).isTrue();
        assertThat(first.directory().resolve("config.json")).exists();
        assertThat(first.directory().resolve("tokenizer.json")).exists();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(first.directory())) {
            assertThat(ckpt.names()).hasSize(Qwen2VlSpec.TINY.tensors().size());
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
        RandomCheckpoint.Prepared second = RandomCheckpoint.ensure(Qwen2VlSpec.TINY, temp, fixtures);
        assertThat(second.generated()).isFalse();
    }

    @Test
    void visionWorkingSetEstimateIsOneQueryBlocksAttention() {
        // attention runs in query-row blocks of ~4M scores: 3 f32 score tensors of ~16 MB, whatever the image
        // (448x448: 16 heads x 256 rows x 1024; 1024x768: 16 heads x 65 rows x 3996)
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(Qwen2VlSpec.QWEN2_VL_2B, 448, 448))
                .isEqualTo(3L * 4 * 16 * 256 * 1024);
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(Qwen2VlSpec.QWEN2_VL_2B, 1024, 768))
                .isEqualTo(3L * 4 * 16 * 65 * 3996);
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(Qwen2VlSpec.QWEN2_5_VL_3B, 1024, 768))
                .isEqualTo(EngineBenchmark.predictedVisionAttentionBytes(Qwen2VlSpec.QWEN2_VL_2B, 1024, 768));
    }

    @Test
    void qwenVlRandomCheckpointHasTheFixtureLayout() throws Exception {
        Path fixtures = RandomCheckpoint.fixtureRoot();
        Path published = fixtures.resolve(QwenVlSpec.TINY.tokenizerDir());
        RandomCheckpoint.Prepared p = RandomCheckpoint.ensure(QwenVlSpec.TINY, temp, fixtures);
        assertThat(p.bytes()).isEqualTo(Files.size(p.directory().resolve("model.safetensors")))
                .isEqualTo(RandomCheckpoint.safetensorsBytes(QwenVlSpec.TINY.tensors()));
        // the tiny fixture was written from the published remote code's state_dict: same names, same shapes
        try (SafetensorsCheckpoint ours = SafetensorsCheckpoint.open(p.directory());
             SafetensorsCheckpoint theirs = SafetensorsCheckpoint.open(published)) {
            assertThat(ours.names()).hasSize(61).containsExactlyInAnyOrderElementsOf(theirs.names());
            for (String name : theirs.names()) {
                assertThat(ours.info(name).shape()).as(name).containsExactly(theirs.info(name).shape());
            }
            assertThat(ours.readFloats("transformer.ln_f.weight")).containsOnly(1f);
            assertThat(ours.readFloats("transformer.visual.ln_post.bias")).containsOnly(0f);
        }
        for (String file : List.of("config.json", "generation_config.json")) {
            assertThat(json(p.directory().resolve(file))).as(file).isEqualTo(json(published.resolve(file)));
        }
        assertThat(p.directory().resolve("preprocessor_config.json")).doesNotExist();
        for (String file : QwenVlSpec.TINY.tokenizerFiles()) {
            assertThat(p.directory().resolve(file)).hasSameBinaryContentAs(published.resolve(file));
        }
        // 1024 patches whatever the input size, 4 heads: the whole (4, 1024, 1024) score tensor, three times
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(QwenVlSpec.TINY, 1344, 1008))
                .isEqualTo(EngineBenchmark.predictedVisionAttentionBytes(QwenVlSpec.TINY, 56, 56))
                .isEqualTo(3L * 4 * 4 * 1024 * 1024);
    }

    @Test
    void pipelineReportsEveryFigure() throws Exception {
        for (Qwen2VlSpec spec : List.of(Qwen2VlSpec.TINY, Qwen2VlSpec.TINY_25)) {
            Pipeline run = runPipeline(spec);
            EngineBenchmark.Report r = run.report();
            // tiny: 2 layers of (q,k,v,o + biases, 3 MLP matrices, 2 norms) + final norm + tied head (4160 x 64)
            long layer = 64 * 64 + 64 + 2 * (32 * 64 + 32) + 64 * 64 + 3 * 176 * 64 + 2 * 64;
            assertThat(r.decodeBytesPerToken()).isEqualTo(4L * (2 * layer + 64 + 4160 * 64));
            assertThat(r.sweep()).extracting(EngineBenchmark.SweepRun::mode)
                    .containsExactly("ENGINE", "JAVA", "ENGINE", "JAVA", "JAVA_INT8", "JAVA_INT8");
            // the int8 steps read 1 byte per weight plus a float scale per 64, the BF16 ones 2
            EngineBenchmark.SweepRun bf16 = r.sweep().get(1);
            EngineBenchmark.SweepRun int8 = r.sweep().get(4);
            assertThat((double) int8.bytesPerToken()).isCloseTo(bf16.bytesPerToken() * 1.0625 / 2,
                    org.assertj.core.data.Percentage.withPercentage(3));
            assertThat(r.javaQ8BandwidthGBs()).isPositive();
            assertThat(r.sweep()).allSatisfy(sweep -> assertThat(sweep.tokensPerSecond()).isPositive());
            assertThat(run.table()).contains("vs ENGINE").contains("JAVA_INT8").contains("Java mat-vec bandwidth Q8");
        }
    }

    @Test
    void qwenVlPipelineReportsEveryFigure() throws Exception {
        QwenVlSpec spec = QwenVlSpec.TINY;
        Pipeline run = runPipeline(spec);
        EngineBenchmark.Report r = run.report();
        assertThat(r.architecture()).isEqualTo("QWEN_VL");
        // the engine loaded every tensor written (the fixture README's count)
        assertThat(r.parameters()).isEqualTo(spec.parameters()).isEqualTo(1_752_634L);
        // every image is squashed to 448 x 448 and becomes the resampler's 256 embeddings
        assertThat(r.images()).allSatisfy(i -> {
            assertThat(i.resizedWidth()).isEqualTo(448);
            assertThat(i.resizedHeight()).isEqualTo(448);
            assertThat(i.imageTokens()).isEqualTo(256);
            assertThat(i.promptTokens()).isGreaterThan(256);
        });
        // 2 layers of (c_attn + bias, c_proj, w1, w2, mlp.c_proj, 2 RMSNorms) + ln_f + untied lm_head (4480 x 128)
        long layer = 3 * 128 * 128 + 3 * 128 + 128 * 128 + 3 * 344 * 128 + 2 * 128;
        assertThat(r.decodeBytesPerToken()).isEqualTo(4L * (2 * layer + 128 + 4480 * 128));
        assertThat(r.sweep()).isEmpty(); // the decode-mode sweep is a Qwen2-family feature
        assertThat(spec.visionFlops(32, 32)).isPositive();
        assertThat(run.table()).contains("GFLOP/s, ").doesNotContain("vs ENGINE");
    }

    @Test
    void qwen3VlPipelineReportsEveryFigure() throws Exception {
        Qwen3VlSpec spec = Qwen3VlSpec.TINY;
        // the fabricated tiny checkpoint has the shared fixture's layout: its README's parameter and tensor counts
        assertThat(spec.parameters()).isEqualTo(1_450_048L);
        assertThat(spec.tensors()).hasSize(146);
        Pipeline run = runPipeline(spec);
        EngineBenchmark.Report r = run.report();
        assertThat(r.architecture()).isEqualTo("QWEN3_VL");
        assertThat(r.parameters()).isEqualTo(spec.parameters());
        // 16-px patches merged 2 x 2: both sides a multiple of 32, one image token per 4 patches
        assertThat(r.images()).allSatisfy(i -> {
            assertThat(i.resizedWidth() % 32).isZero();
            assertThat(i.resizedHeight() % 32).isZero();
            assertThat(i.imageTokens()).isEqualTo(i.resizedWidth() / 32 * (i.resizedHeight() / 32));
        });
        // 4 layers of (q 128x64, k and v 64x64, o 64x128, q/k norms 32, 3 MLP matrices, 2 norms) + final norm
        // + untied lm_head (4160 x 64); the vision tower (model.visual.) and the embedding are not read per token
        long layer = 128 * 64 + 2 * 64 * 64 + 64 * 128 + 2 * 32 + 3 * 192 * 64 + 2 * 64;
        assertThat(r.decodeBytesPerToken()).isEqualTo(4L * (4 * layer + 64 + 4160 * 64));
        assertThat(r.sweep()).extracting(EngineBenchmark.SweepRun::mode)
                .containsExactly("ENGINE", "JAVA", "ENGINE", "JAVA", "JAVA_INT8", "JAVA_INT8");
        assertThat(r.sweep()).allSatisfy(sweep -> assertThat(sweep.tokensPerSecond()).isPositive());
        assertThat(spec.visionFlops(32, 32)).isPositive();
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(Qwen3VlSpec.QWEN3_VL_2B, 1344, 1008))
                .isEqualTo(3L * 4 * 16 * 64 * 5376); // 84 x 64 patches, blocks of at least 64 query rows
        assertThat(run.table()).contains("vs ENGINE").contains("JAVA_INT8");
    }

    /** What one pipeline run gave: the report and its printed table. */
    private record Pipeline(EngineBenchmark.Report report, String table) {
    }

    /** The benchmark on a tiny preset, with the checks every architecture shares. */
    private Pipeline runPipeline(ModelSpec spec) throws Exception {
        Path results = temp.resolve("results.jsonl");
        EngineBenchmark.Settings settings = new EngineBenchmark.Settings(spec.name(), 2, temp,
                RandomCheckpoint.fixtureRoot(), results, 4, 3, EngineBenchmark.Settings.parseImages("112x84,200x150"),
                256, 64);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        EngineBenchmark.Report r = EngineBenchmark.run(settings, new PrintStream(log, true, StandardCharsets.UTF_8));

        assertThat(r.model()).isEqualTo(spec.name());
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
        assertThat(r.decodePercentOfBound()).isPositive();
        assertThat(r.javaBandwidthGBs()).isPositive();

        ByteArrayOutputStream table = new ByteArrayOutputStream();
        EngineBenchmark.print(r, new PrintStream(table, true, StandardCharsets.UTF_8));
        String text = table.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("load", "peak RSS", "image 112x84 vision", "prefill", "first token", "decode",
                "mat-vec bandwidth", "decode vs bound", "Java mat-vec bandwidth");

        EngineBenchmark.appendJson(r, results);
        List<String> lines = Files.readAllLines(results);
        JsonObject json = JsonParser.parseString(lines.get(lines.size() - 1)).getAsJsonObject();
        assertThat(json.get("model").getAsString()).isEqualTo(spec.name());
        assertThat(json.get("decodeTokensPerSecond").getAsDouble()).isPositive();
        assertThat(json.getAsJsonArray("images")).hasSize(2);
        return new Pipeline(r, text);
    }

    private static JsonObject json(Path file) throws Exception {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }
}
