package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonObject;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.RotaryLayout;
import io.github.qwenvl.engine.Architectures;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Qwen3-VL registers itself, and its config.json is read as the manifests summarise it. */
class Qwen3VlConfigTest {

    @Test
    void registeredThroughTheServiceLoader() {
        assertThat(ModelArchitecture.values()).contains(Qwen3VlSupport.QWEN3_VL);
        assertThat(Architectures.supportOf(Qwen3VlSupport.QWEN3_VL)).isInstanceOf(Qwen3VlSupport.class);
        assertThat(ModelArchitecture.valueOf("QWEN3_VL")).isEqualTo(Qwen3VlSupport.QWEN3_VL);
        assertThat(ModelArchitecture.supported()).contains("Qwen3VLForConditionalGeneration");
    }

    @Test
    void configAsTheManifestsSummariseIt() {
        for (FixtureSet set : Qwen3Networks.sets()) {
            ModelConfig config = ModelConfig.load(set.modelDir());
            Qwen3VlConfig q = Qwen3VlConfig.of(config);
            JsonObject s = set.manifest().getAsJsonObject("config_summary");
            if (Qwen3Networks.moe(set)) {
                assertThat(config.architecture()).isEqualTo(Qwen3VlSupport.QWEN3_VL_MOE);
                Qwen3MoeConfig moe = q.moe();
                assertThat(moe.experts()).isEqualTo(s.get("num_experts").getAsInt());
                assertThat(moe.topK()).isEqualTo(s.get("num_experts_per_tok").getAsInt());
                assertThat(moe.intermediate()).isEqualTo(s.get("moe_intermediate_size").getAsInt());
                for (int l = 0; l < q.text().numLayers(); l++) {
                    boolean dense = false;
                    for (var e : s.getAsJsonArray("mlp_only_layers")) {
                        dense |= e.getAsInt() == l;
                    }
                    assertThat(moe.sparse(l)).as("layer %d sparse", l).isEqualTo(!dense);
                }
            } else {
                assertThat(config.architecture()).isEqualTo(Qwen3VlSupport.QWEN3_VL);
                assertThat(q.moe()).isNull();
            }
            var t = q.text();
            assertThat(t.hiddenSize()).isEqualTo(s.get("hidden_size").getAsInt());
            assertThat(t.numLayers()).isEqualTo(s.get("num_hidden_layers").getAsInt());
            assertThat(t.numHeads()).isEqualTo(s.get("num_attention_heads").getAsInt());
            assertThat(t.numKeyValueHeads()).isEqualTo(s.get("num_key_value_heads").getAsInt());
            assertThat(t.headDim()).isEqualTo(s.get("head_dim").getAsInt());
            assertThat(t.intermediateSize()).isEqualTo(s.get("intermediate_size").getAsInt());
            assertThat(t.vocabSize()).isEqualTo(s.get("vocab_size").getAsInt());
            assertThat(t.tieWordEmbeddings()).isEqualTo(s.get("tie_word_embeddings").getAsBoolean());
            assertThat(t.ropeTheta()).isEqualTo(s.get("rope_theta").getAsDouble());
            assertThat(t.rotaryLayout()).isEqualTo(s.get("mrope_interleaved").getAsBoolean()
                    ? RotaryLayout.MROPE_INTERLEAVED : RotaryLayout.MROPE_CHUNKED);
            assertThat(t.attentionBias()).isFalse();
            assertThat(t.qkNorm()).isTrue();
            JsonObject v = s.getAsJsonObject("vision");
            int[] deepstack = new int[v.getAsJsonArray("deepstack_visual_indexes").size()];
            for (int i = 0; i < deepstack.length; i++) {
                deepstack[i] = v.getAsJsonArray("deepstack_visual_indexes").get(i).getAsInt();
            }
            assertThat(q.deepstackVisualIndexes()).containsExactly(deepstack);
            assertThat(q.spatialMergeSize()).isEqualTo(v.get("spatial_merge_size").getAsInt());
        }
    }

    @Test
    void interleavedAxes() {
        // mrope_section [24, 20, 20] of the published checkpoints over head_dim 128: t h w t h w ... then t only
        int[] axes = RotaryLayout.MROPE_INTERLEAVED.axes(new int[] {24, 20, 20}, 128);
        assertThat(java.util.Arrays.copyOfRange(axes, 0, 7)).containsExactly(0, 1, 2, 0, 1, 2, 0);
        assertThat(axes[58]).isEqualTo(1);   // 58 % 3 == 1 and 58 < 60
        assertThat(axes[61]).isEqualTo(0);   // 61 % 3 == 1 but 61 >= 60
        assertThat(axes[63]).isEqualTo(0);
        assertThat(java.util.Arrays.copyOfRange(axes, 64, 128)).containsExactly(java.util.Arrays.copyOfRange(axes, 0, 64));
    }
}
