package io.github.qwenvl.bench;

import io.github.qwenvl.qwenvl.QwenVlConfig;
import io.github.qwenvl.tokenizer.QwenTiktokenTokenizer;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Qwen-VL presets without writing a file: the reduced Qwen-VL-Chat cannot be generated in CI (5.2 GB), so its
 * tensor list is checked against what the engine's own {@link QwenVlConfig} implies and against the tiny preset,
 * whose layout {@code EngineBenchmarkTest} checks against the fixture checkpoint and loads.
 */
class QwenVlSpecTest {

    @Test
    void reducedPresetHasThePublishedWidthsAndTheTinyLayout() {
        QwenVlSpec spec = QwenVlSpec.QWEN_VL_CHAT_REDUCED;
        QwenVlConfig c = QwenVlConfig.from(spec.configJson(), spec.name());
        // Qwen/Qwen-VL-Chat config.json, depth reduced
        assertThat(c.hiddenSize()).isEqualTo(4096);
        assertThat(c.numHeads()).isEqualTo(32);
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.numLayers()).isEqualTo(4);
        assertThat(c.intermediateSize()).isEqualTo(22016);
        assertThat(c.vocabSize()).isEqualTo(151936);
        assertThat(c.seqLength()).isEqualTo(2048);
        assertThat(c.rotaryBase()).isEqualTo(10000.0);
        assertThat(c.rotaryDim()).isEqualTo(128);
        assertThat(c.layerNormEpsilon()).isEqualTo(1e-6);
        assertThat(c.useDynamicNtk()).isTrue();
        assertThat(c.useLognAttn()).isTrue();
        assertThat(c.maxPositionEmbeddings()).isEqualTo(8192);
        QwenVlConfig.Visual v = c.visual();
        assertThat(v.width()).isEqualTo(1664);
        assertThat(v.layers()).isEqualTo(12);
        assertThat(v.heads()).isEqualTo(16);
        assertThat(v.mlpWidth()).isEqualTo(8192);
        assertThat(v.imageSize()).isEqualTo(448);
        assertThat(v.patchSize()).isEqualTo(14);
        assertThat(v.grid()).isEqualTo(32);
        assertThat(v.outputDim()).isEqualTo(4096);
        assertThat(v.nQueries()).isEqualTo(256);
        assertThat(v.resamplerHeads()).isEqualTo(32);
        assertThat(v.imageStartId()).isEqualTo(151857);
        assertThat(spec.configJson().get("tie_word_embeddings").getAsBoolean()).isFalse();
        assertThat(spec.configJson().get("model_type").getAsString()).isEqualTo("qwen");

        // same tensors per layer / block as the tiny preset (itself identical to the fixture checkpoint)
        assertThat(layout(spec)).isEqualTo(layout(QwenVlSpec.TINY));
        assertThat(indices(spec, "transformer.h.")).isEqualTo(range(4));
        assertThat(indices(spec, "transformer.visual.transformer.resblocks.")).isEqualTo(range(12));
        // every shape is the one the engine asks for when it loads this config.json
        for (QwenVlSpec s : List.of(spec, QwenVlSpec.TINY, QwenVlSpec.QWEN_VL_CHAT)) {
            Map<String, long[]> expected = engineShapes(QwenVlConfig.from(s.configJson(), s.name()));
            assertThat(s.tensors()).extracting(ModelSpec.Tensor::name)
                    .containsExactlyInAnyOrderElementsOf(expected.keySet());
            for (ModelSpec.Tensor t : s.tensors()) {
                assertThat(t.shape()).as(s.name() + " " + t.name()).containsExactly(expected.get(t.name()));
            }
        }
    }

    @Test
    void parameterCountsAndSizes() {
        QwenVlSpec full = QwenVlSpec.QWEN_VL_CHAT;
        QwenVlSpec reduced = QwenVlSpec.QWEN_VL_CHAT_REDUCED;
        // Qwen-7B's published count, and the 9.66 B of Qwen-VL-Chat
        assertThat(text(full)).isEqualTo(7_721_324_544L);
        assertThat(full.parameters()).isEqualTo(9_656_935_168L);
        assertThat(text(reduced)).isEqualTo(2_054_246_400L);
        assertThat(reduced.parameters() - text(reduced)).isEqualTo(554_588_416L);
        assertThat(reduced.parameters()).isEqualTo(2_608_834_816L);
        assertThat(QwenVlSpec.TINY.parameters()).isEqualTo(1_752_634L);
        // float32 weights well inside 24 GiB, with room for activations, the JVM and the page cache
        assertThat(reduced.parameters() * 4).isLessThan(10L << 30);

        long bytes = RandomCheckpoint.safetensorsBytes(reduced.tensors());
        assertThat(bytes).isBetween(2 * reduced.parameters(), 2 * reduced.parameters() + (1 << 20));
        // whatever the input size: 1024 patches x 16 heads, the whole score tensor (the tower does not split rows)
        assertThat(EngineBenchmark.predictedVisionAttentionBytes(reduced, 1344, 1008))
                .isEqualTo(EngineBenchmark.predictedVisionAttentionBytes(reduced, 448, 448))
                .isEqualTo(3L * 4 * 16 * 1024 * 1024);
        double flops = reduced.visionFlops(32, 32);
        assertThat(full.visionFlops(32, 32)).isGreaterThan(3.5 * flops);
        System.out.printf("%s: %,d parameters (text %,d, vision %,d; %d tensors), safetensors %,d bytes, "
                        + "f32 %.2f GiB, vision %.3f TFLOP per image; full Qwen-VL-Chat %,d (vision %.3f TFLOP)%n",
                reduced.name(), reduced.parameters(), text(reduced), reduced.parameters() - text(reduced),
                reduced.tensors().size(), bytes, reduced.parameters() * 4 / (double) (1L << 30), flops / 1e12,
                full.parameters(), full.visionFlops(32, 32) / 1e12);
    }

    @Test
    void specialIdsAreTheTokenizersOwn() {
        for (QwenVlSpec spec : List.of(QwenVlSpec.QWEN_VL_CHAT_REDUCED, QwenVlSpec.TINY)) {
            QwenTiktokenTokenizer tokenizer = QwenTiktokenTokenizer.load(
                    RandomCheckpoint.fixtureRoot().resolve(spec.tokenizerDir()));
            assertThat(tokenizer.specialId(QwenTiktokenTokenizer.ENDOFTEXT)).isEqualTo(spec.endOfText());
            assertThat(tokenizer.specialId(QwenTiktokenTokenizer.IMG_START)).isEqualTo(spec.imageStartId());
            assertThat(tokenizer.vocabularySize()).isLessThanOrEqualTo(spec.vocab());
        }
        assertThat(QwenVlSpec.QWEN_VL_CHAT_REDUCED.endOfText()).isEqualTo(151643);
        assertThat(ModelSpec.named("qwen-vl-chat-reduced")).isSameAs(QwenVlSpec.QWEN_VL_CHAT_REDUCED);
        assertThat(ModelSpec.named("tiny-qwen-vl")).isSameAs(QwenVlSpec.TINY);
    }

    /**
     * The (name, shape) of every tensor QwenVlTextModel and QwenVlVisionTower load for a config, written from their
     * constructors (the positional embedding and the resampler's pos_embed are read as 256 rows: a 16 × 16 grid).
     */
    private static Map<String, long[]> engineShapes(QwenVlConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long h = c.hiddenSize();
        long ff = c.intermediateSize() / 2;
        m.put("transformer.wte.weight", new long[] {c.vocabSize(), h});
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "transformer.h." + l + ".";
            m.put(p + "ln_1.weight", new long[] {h});
            m.put(p + "attn.c_attn.weight", new long[] {3 * h, h});
            m.put(p + "attn.c_attn.bias", new long[] {3 * h});
            m.put(p + "attn.c_proj.weight", new long[] {h, h});
            m.put(p + "ln_2.weight", new long[] {h});
            m.put(p + "mlp.w1.weight", new long[] {ff, h});
            m.put(p + "mlp.w2.weight", new long[] {ff, h});
            m.put(p + "mlp.c_proj.weight", new long[] {h, ff});
        }
        m.put("transformer.ln_f.weight", new long[] {h});
        m.put("lm_head.weight", new long[] {c.vocabSize(), h});
        QwenVlConfig.Visual v = c.visual();
        String p = "transformer.visual.";
        long w = v.width();
        long e = v.outputDim();
        long mlp = v.mlpWidth();
        long q = v.nQueries();
        m.put(p + "conv1.weight", new long[] {w, 3, v.patchSize(), v.patchSize()});
        m.put(p + "positional_embedding", new long[] {256, w});
        m.put(p + "ln_pre.weight", new long[] {w});
        m.put(p + "ln_pre.bias", new long[] {w});
        for (int l = 0; l < v.layers(); l++) {
            String b = p + "transformer.resblocks." + l + ".";
            m.put(b + "ln_1.weight", new long[] {w});
            m.put(b + "ln_1.bias", new long[] {w});
            m.put(b + "attn.in_proj.weight", new long[] {3 * w, w});
            m.put(b + "attn.in_proj.bias", new long[] {3 * w});
            m.put(b + "attn.out_proj.weight", new long[] {w, w});
            m.put(b + "attn.out_proj.bias", new long[] {w});
            m.put(b + "ln_2.weight", new long[] {w});
            m.put(b + "ln_2.bias", new long[] {w});
            m.put(b + "mlp.c_fc.weight", new long[] {mlp, w});
            m.put(b + "mlp.c_fc.bias", new long[] {mlp});
            m.put(b + "mlp.c_proj.weight", new long[] {w, mlp});
            m.put(b + "mlp.c_proj.bias", new long[] {w});
        }
        String r = p + "attn_pool.";
        m.put(r + "query", new long[] {q, e});
        m.put(r + "pos_embed", new long[] {q, e});
        m.put(r + "kv_proj.weight", new long[] {e, w});
        m.put(r + "ln_kv.weight", new long[] {e});
        m.put(r + "ln_kv.bias", new long[] {e});
        m.put(r + "ln_q.weight", new long[] {e});
        m.put(r + "ln_q.bias", new long[] {e});
        m.put(r + "attn.in_proj_weight", new long[] {3 * e, e});
        m.put(r + "attn.in_proj_bias", new long[] {3 * e});
        m.put(r + "attn.out_proj.weight", new long[] {e, e});
        m.put(r + "attn.out_proj.bias", new long[] {e});
        m.put(p + "ln_post.weight", new long[] {e});
        m.put(p + "ln_post.bias", new long[] {e});
        m.put(p + "proj", new long[] {e, e});
        return m;
    }

    /** Tensor names with layer / block numbers replaced by N. */
    private static Set<String> layout(QwenVlSpec spec) {
        return spec.tensors().stream().map(t -> t.name().replaceAll("\\.(h|resblocks)\\.\\d+\\.", ".$1.N."))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static Set<Integer> indices(QwenVlSpec spec, String prefix) {
        return spec.tensors().stream().map(ModelSpec.Tensor::name).filter(n -> n.startsWith(prefix))
                .map(n -> Integer.parseInt(n.substring(prefix.length(), n.indexOf('.', prefix.length()))))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static Set<Integer> range(int n) {
        return IntStream.range(0, n).boxed().collect(Collectors.toCollection(TreeSet::new));
    }

    /** Language-model parameters: everything outside transformer.visual. */
    private static long text(QwenVlSpec spec) {
        return spec.tensors().stream().filter(t -> !t.name().startsWith("transformer.visual."))
                .mapToLong(ModelSpec.Tensor::elements).sum();
    }
}
