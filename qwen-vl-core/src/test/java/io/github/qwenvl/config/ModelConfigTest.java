package io.github.qwenvl.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.testing.FixtureRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelConfigTest {

    @TempDir
    Path dir;

    private static Path model(String set) {
        return FixtureRoot.bundled().resolve(set).resolve("model");
    }

    private static JsonObject json(Path file) throws IOException {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }

    private static int[] ints(JsonArray a) {
        return IntStream.range(0, a.size()).map(i -> a.get(i).getAsInt()).toArray();
    }

    private static int[] intOrInts(JsonObject o, String key) {
        return o.get(key).isJsonArray() ? ints(o.getAsJsonArray(key)) : new int[] {o.get(key).getAsInt()};
    }

    private static double[] doubles(JsonArray a) {
        return IntStream.range(0, a.size()).mapToDouble(i -> a.get(i).getAsDouble()).toArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-vl-tiny", "qwen2_5-vl-tiny"})
    void tinyFixturesLoadWithTheirConfigValues(String set) throws IOException {
        Path dir = model(set);
        JsonObject c = json(dir.resolve("config.json"));
        JsonObject v = c.getAsJsonObject("vision_config");
        JsonObject g = json(dir.resolve("generation_config.json"));
        JsonObject p = json(dir.resolve("preprocessor_config.json"));
        boolean qwen25 = c.get("model_type").getAsString().equals("qwen2_5_vl");

        ModelConfig config = ModelConfig.load(dir);
        assertThat(config.directory()).isEqualTo(dir);
        assertThat(config.architecture()).isEqualTo(qwen25 ? ModelArchitecture.QWEN2_5_VL : ModelArchitecture.QWEN2_VL);
        assertThat(config.architecture().isQwen2Family()).isTrue();
        assertThat(config.architecture().architectureClass())
                .isEqualTo(c.getAsJsonArray("architectures").get(0).getAsString());

        Qwen2TextConfig t = config.text();
        assertThat(t.hiddenSize()).isEqualTo(c.get("hidden_size").getAsInt());
        assertThat(t.intermediateSize()).isEqualTo(c.get("intermediate_size").getAsInt());
        assertThat(t.numLayers()).isEqualTo(c.get("num_hidden_layers").getAsInt());
        assertThat(t.numHeads()).isEqualTo(c.get("num_attention_heads").getAsInt());
        assertThat(t.numKeyValueHeads()).isEqualTo(c.get("num_key_value_heads").getAsInt());
        assertThat(t.headDim()).isEqualTo(t.hiddenSize() / t.numHeads());
        assertThat(t.vocabSize()).isEqualTo(c.get("vocab_size").getAsInt());
        assertThat(t.rmsNormEps()).isEqualTo(c.get("rms_norm_eps").getAsDouble());
        assertThat(t.ropeTheta()).isEqualTo(c.get("rope_theta").getAsDouble());
        assertThat(t.mropeSection()).containsExactly(ints(c.getAsJsonObject("rope_scaling").getAsJsonArray("mrope_section")));
        assertThat(IntStream.of(t.mropeSection()).sum()).isEqualTo(t.headDim() / 2);
        assertThat(t.tieWordEmbeddings()).isEqualTo(c.get("tie_word_embeddings").getAsBoolean());
        assertThat(t.maxPositionEmbeddings()).isEqualTo(c.get("max_position_embeddings").getAsInt());
        assertThat(t.imageTokenId()).isEqualTo(c.get("image_token_id").getAsInt());
        assertThat(t.videoTokenId()).isEqualTo(c.get("video_token_id").getAsInt());
        assertThat(t.visionStartTokenId()).isEqualTo(c.get("vision_start_token_id").getAsInt());
        assertThat(t.visionEndTokenId()).isEqualTo(c.get("vision_end_token_id").getAsInt());

        Qwen2VisionConfig vis = config.vision();
        assertThat(vis.qwen25()).isEqualTo(qwen25);
        assertThat(vis.depth()).isEqualTo(v.get("depth").getAsInt());
        assertThat(vis.numHeads()).isEqualTo(v.get("num_heads").getAsInt());
        assertThat(vis.inChannels()).isEqualTo(v.get("in_chans").getAsInt());
        assertThat(vis.patchSize()).isEqualTo(v.get("patch_size").getAsInt());
        assertThat(vis.temporalPatchSize()).isEqualTo(v.get("temporal_patch_size").getAsInt());
        assertThat(vis.spatialMergeSize()).isEqualTo(v.get("spatial_merge_size").getAsInt());
        assertThat(vis.patchDim()).isEqualTo(vis.inChannels() * vis.temporalPatchSize() * vis.patchSize() * vis.patchSize());
        if (qwen25) {
            assertThat(vis.hiddenSize()).isEqualTo(v.get("hidden_size").getAsInt());
            assertThat(vis.intermediateSize()).isEqualTo(v.get("intermediate_size").getAsInt());
            assertThat(vis.outHiddenSize()).isEqualTo(v.get("out_hidden_size").getAsInt());
            assertThat(vis.hiddenAct()).isEqualTo(v.get("hidden_act").getAsString());
            assertThat(vis.windowSize()).isEqualTo(v.get("window_size").getAsInt());
            int[] full = ints(v.getAsJsonArray("fullatt_block_indexes"));
            assertThat(vis.fullAttBlockIndexes()).containsExactly(full);
            for (int block = 0; block < vis.depth(); block++) {
                int b = block;
                assertThat(vis.isFullAttention(block)).as("block " + block)
                        .isEqualTo(IntStream.of(full).anyMatch(i -> i == b));
            }
        } else {
            assertThat(vis.hiddenSize()).isEqualTo(v.get("embed_dim").getAsInt());
            assertThat(vis.intermediateSize()).isEqualTo((int) (v.get("embed_dim").getAsInt() * v.get("mlp_ratio").getAsDouble()));
            assertThat(vis.outHiddenSize()).isEqualTo(v.get("hidden_size").getAsInt());
            assertThat(vis.hiddenAct()).isEqualTo("quick_gelu");
            assertThat(vis.windowSize()).isZero();
            assertThat(vis.fullAttBlockIndexes()).isEmpty();
            IntStream.range(0, vis.depth()).forEach(b -> assertThat(vis.isFullAttention(b)).isTrue());
        }
        assertThat(vis.outHiddenSize()).isEqualTo(t.hiddenSize());
        assertThat(vis.headDim()).isEqualTo(vis.hiddenSize() / vis.numHeads());

        GenerationDefaults gen = config.generation();
        assertThat(gen.eosTokenIds()).containsExactly(intOrInts(g, "eos_token_id"));
        assertThat(gen.eosTokenIds()).hasSizeGreaterThan(1);
        assertThat(gen.doSample()).isEqualTo(g.get("do_sample").getAsBoolean());
        assertThat(gen.temperature()).isEqualTo(g.get("temperature").getAsDouble());
        assertThat(gen.topK()).isEqualTo(g.get("top_k").getAsInt());
        assertThat(gen.topP()).isEqualTo(g.get("top_p").getAsDouble());
        assertThat(gen.repetitionPenalty()).isEqualTo(g.get("repetition_penalty").getAsDouble());
        assertThat(gen.padTokenId()).isEqualTo(g.get("pad_token_id").getAsInt());
        assertThat(gen.maxNewTokens()).isNull();

        ImageProcessorConfig ip = config.imageProcessor();
        assertThat(ip.minPixels()).isEqualTo(p.get("min_pixels").getAsInt());
        assertThat(ip.maxPixels()).isEqualTo(p.get("max_pixels").getAsInt());
        assertThat(ip.patchSize()).isEqualTo(p.get("patch_size").getAsInt());
        assertThat(ip.temporalPatchSize()).isEqualTo(p.get("temporal_patch_size").getAsInt());
        assertThat(ip.mergeSize()).isEqualTo(p.get("merge_size").getAsInt());
        assertThat(ip.factor()).isEqualTo(ip.patchSize() * ip.mergeSize());
        assertThat(ip.imageMean()).containsExactly(doubles(p.getAsJsonArray("image_mean")));
        assertThat(ip.imageStd()).containsExactly(doubles(p.getAsJsonArray("image_std")));
    }

    @Test
    void tiedEmbeddingsDifferBetweenTheFixtures() {
        assertThat(ModelConfig.load(model("qwen2-vl-tiny")).text().tieWordEmbeddings()).isTrue();
        assertThat(ModelConfig.load(model("qwen2_5-vl-tiny")).text().tieWordEmbeddings()).isFalse();
    }

    // ---- temp-dir configs ----

    private Path copyConfig(String set) throws IOException {
        Files.copy(model(set).resolve("config.json"), dir.resolve("config.json"));
        return dir;
    }

    private JsonObject fixtureConfig(String set) throws IOException {
        return json(model(set).resolve("config.json"));
    }

    private void writeConfig(JsonObject c) throws IOException {
        Files.writeString(dir.resolve("config.json"), c.toString());
    }

    @Test
    void withoutGenerationConfigTheEosComesFromConfigJson() throws IOException {
        copyConfig("qwen2-vl-tiny");
        ModelConfig config = ModelConfig.load(dir);
        assertThat(config.generation().eosTokenIds())
                .containsExactly(fixtureConfig("qwen2-vl-tiny").get("eos_token_id").getAsInt());
        assertThat(config.generation().doSample()).isFalse();
        assertThat(config.generation().temperature()).isNull();
        assertThat(config.imageProcessor()).usingRecursiveComparison().isEqualTo(ImageProcessorConfig.defaults());
    }

    @Test
    void generationConfigWithoutEosFallsBackToConfigJson() throws IOException {
        copyConfig("qwen2-vl-tiny");
        Files.writeString(dir.resolve("generation_config.json"), "{\"do_sample\": false, \"max_new_tokens\": 64}");
        GenerationDefaults g = ModelConfig.load(dir).generation();
        assertThat(g.eosTokenIds()).containsExactly(fixtureConfig("qwen2-vl-tiny").get("eos_token_id").getAsInt());
        assertThat(g.maxNewTokens()).isEqualTo(64);
    }

    @Test
    void preprocessorSizeDictIsHonoured() throws IOException {
        copyConfig("qwen2-vl-tiny");
        Files.writeString(dir.resolve("preprocessor_config.json"),
                "{\"size\": {\"shortest_edge\": 1000, \"longest_edge\": 2000000}}");
        ImageProcessorConfig ip = ModelConfig.load(dir).imageProcessor();
        assertThat(ip.minPixels()).isEqualTo(1000);
        assertThat(ip.maxPixels()).isEqualTo(2000000);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-vl-tiny", "qwen2_5-vl-tiny"})
    void modelTypeFallbackWithoutArchitectures(String set) throws IOException {
        JsonObject c = fixtureConfig(set);
        ModelArchitecture expected = ModelConfig.load(model(set)).architecture();
        c.remove("architectures");
        writeConfig(c);
        assertThat(ModelConfig.load(dir).architecture()).isEqualTo(expected);
        c.addProperty("architectures", "not an array");
        writeConfig(c);
        assertThat(ModelConfig.load(dir).architecture()).isEqualTo(expected);
        JsonArray unknownFirst = new JsonArray();
        unknownFirst.add(new JsonObject());
        unknownFirst.add("SomethingElse");
        c.add("architectures", unknownFirst);
        writeConfig(c);
        assertThat(ModelConfig.load(dir).architecture()).isEqualTo(expected);
    }

    @Test
    void architecturesWinsOverModelType() throws IOException {
        JsonObject c = fixtureConfig("qwen2_5-vl-tiny");
        c.addProperty("model_type", "qwen2_vl");
        writeConfig(c);
        assertThat(ModelConfig.load(dir).architecture()).isEqualTo(ModelArchitecture.QWEN2_5_VL);
    }

    /** config.json of /work/shared/fixtures/qwen-vl-tiny (original Qwen-VL), copied verbatim. */
    static final String QWEN_VL_CONFIG = """
            {
             "architectures": [
              "QWenLMHeadModel"
             ],
             "attn_dropout_prob": 0.0,
             "auto_map": {
              "AutoConfig": "configuration_qwen.QWenConfig",
              "AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel"
             },
             "bf16": false,
             "fp16": false,
             "fp32": false,
             "emb_dropout_prob": 0.0,
             "hidden_size": 128,
             "initializer_range": 0.02,
             "intermediate_size": 688,
             "kv_channels": 32,
             "layer_norm_epsilon": 1e-06,
             "max_position_embeddings": 8192,
             "model_type": "qwen",
             "no_bias": true,
             "num_attention_heads": 4,
             "num_hidden_layers": 2,
             "onnx_safe": null,
             "rotary_emb_base": 10000,
             "rotary_pct": 1.0,
             "scale_attn_weights": true,
             "seq_length": 2048,
             "tie_word_embeddings": false,
             "tokenizer_type": "QWenTokenizer",
             "torch_dtype": "bfloat16",
             "transformers_version": "4.32.0",
             "use_cache": true,
             "use_dynamic_ntk": true,
             "use_flash_attn": false,
             "use_logn_attn": true,
             "visual": {
              "heads": 4,
              "image_size": 448,
              "image_start_id": 4310,
              "layers": 2,
              "mlp_ratio": 4.9231,
              "output_dim": 128,
              "patch_size": 14,
              "width": 32
             },
             "vocab_size": 4480
            }
            """;

    /** generation_config.json of the same fixture. */
    static final String QWEN_VL_GENERATION = """
            {
             "chat_format": "chatml",
             "eos_token_id": 4096,
             "pad_token_id": 4096,
             "max_window_size": 6144,
             "max_new_tokens": 512,
             "do_sample": true,
             "top_k": 0,
             "top_p": 0.3,
             "transformers_version": "4.31.0"
            }
            """;

    @Test
    void originalQwenVlIsDetected() throws IOException {
        Files.writeString(dir.resolve("config.json"), QWEN_VL_CONFIG);
        Files.writeString(dir.resolve("generation_config.json"), QWEN_VL_GENERATION);
        ModelConfig config = ModelConfig.load(dir);
        assertThat(config.architecture()).isEqualTo(ModelArchitecture.QWEN_VL);
        assertThat(config.architecture().isQwen2Family()).isFalse();
        assertThat(config.text()).isNull();
        assertThat(config.vision()).isNull();
        assertThat(config.raw().getAsJsonObject("visual").get("image_size").getAsInt()).isEqualTo(448);
        assertThat(config.generation().eosTokenIds()).containsExactly(4096);
        assertThat(config.generation().maxNewTokens()).isEqualTo(512);
        assertThat(config.generation().topK()).isZero();

        JsonObject byType = JsonParser.parseString(QWEN_VL_CONFIG).getAsJsonObject();
        byType.remove("architectures");
        writeConfig(byType);
        assertThat(ModelConfig.load(dir).architecture()).isEqualTo(ModelArchitecture.QWEN_VL);
    }

    @Test
    void unknownArchitectureNamesTheSupportedOnes() throws IOException {
        JsonObject c = fixtureConfig("qwen2-vl-tiny");
        JsonArray arch = new JsonArray();
        arch.add("LlavaForConditionalGeneration");
        c.add("architectures", arch);
        c.addProperty("model_type", "llava");
        writeConfig(c);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("LlavaForConditionalGeneration").hasMessageContaining("llava")
                .hasMessageContaining(dir.resolve("config.json").toString())
                .hasMessageContaining(ModelArchitecture.supported());
        for (ModelArchitecture a : ModelArchitecture.values()) {
            assertThat(ModelArchitecture.supported()).contains(a.architectureClass()).contains(a.modelType());
        }
    }

    @Test
    void noArchitectureAtAll() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("Supported");
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": 7, \"architectures\": [null, 3]}");
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("Supported");
    }

    @Test
    void missingDirectoryOrConfig() throws IOException {
        Path absent = dir.resolve("absent");
        assertThatThrownBy(() -> ModelConfig.load(absent)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(absent.toString());
        Path file = Files.writeString(dir.resolve("file.txt"), "x");
        assertThatThrownBy(() -> ModelConfig.load(file)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString());
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("config.json").hasMessageContaining(dir.toString());
        Files.createDirectory(dir.resolve("config.json"));
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("config.json");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not json", "{\"hidden_size\": ", "[1, 2]", "\"text\"", "null"})
    void invalidConfigJson(String content) throws IOException {
        Files.writeString(dir.resolve("config.json"), content);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.resolve("config.json").toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"generation_config.json", "preprocessor_config.json"})
    void invalidSideFiles(String name) throws IOException {
        copyConfig("qwen2-vl-tiny");
        Files.writeString(dir.resolve(name), "{oops");
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.resolve(name).toString());
        Files.writeString(dir.resolve(name), "{\"eos_token_id\": \"x\", \"min_pixels\": \"x\", \"image_mean\": 3}");
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.resolve(name).toString());
    }

    @Test
    void missingRequiredKeysAndWrongTypes() throws IOException {
        JsonObject c = fixtureConfig("qwen2-vl-tiny");
        c.remove("hidden_size");
        writeConfig(c);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("hidden_size");

        c = fixtureConfig("qwen2-vl-tiny");
        c.remove("vision_config");
        writeConfig(c);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("vision_config");

        c = fixtureConfig("qwen2-vl-tiny");
        c.addProperty("vision_config", "nope");
        writeConfig(c);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("vision_config");

        c = fixtureConfig("qwen2_5-vl-tiny");
        c.getAsJsonObject("vision_config").remove("out_hidden_size");
        writeConfig(c);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("out_hidden_size");

        c = fixtureConfig("qwen2-vl-tiny");
        c.addProperty("hidden_size", "sixty-four");
        writeConfig(c);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.resolve("config.json").toString());

        c = fixtureConfig("qwen2-vl-tiny");
        c.addProperty("num_attention_heads", 0);
        writeConfig(c);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.resolve("config.json").toString());

        c = fixtureConfig("qwen2-vl-tiny");
        c.addProperty("rope_scaling", 3);
        writeConfig(c);
        assertThatThrownBy(() -> ModelConfig.load(dir)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.resolve("config.json").toString());
    }
}
