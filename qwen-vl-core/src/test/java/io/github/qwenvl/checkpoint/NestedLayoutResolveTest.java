package io.github.qwenvl.checkpoint;

import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.testing.FixtureRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checkpoints saved by newer transformers nest the language model under {@code model.language_model.}
 * and the vision tower under {@code model.visual.}; {@link WeightLoader#resolve} must find every
 * published name there. No engine is needed: resolve only consults the checkpoint.
 */
class NestedLayoutResolveTest {

    @TempDir
    Path dir;

    /** transformers ≥ 4.52 layout: lm_head stays top-level. */
    static String nested(String name) {
        if (name.startsWith("model.")) {
            return "model.language_model." + name.substring("model.".length());
        }
        if (name.startsWith("visual.")) {
            return "model." + name;
        }
        return name;
    }

    /** Variant that also moves lm_head under model. */
    static String nestedWithHead(String name) {
        return name.startsWith("lm_head.") ? "model." + name : nested(name);
    }

    static Stream<Arguments> cases() {
        return Stream.of("qwen2-vl-tiny", "qwen2_5-vl-tiny").flatMap(set -> Stream.of(
                Arguments.of(set, "nested"), Arguments.of(set, "nestedWithHead")));
    }

    private static byte[] raw(SafetensorsFile f, String name) {
        ByteBuffer b = f.bytes(name);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private Map<String, String> rename(Path original, UnaryOperator<String> renamer) {
        Map<String, String> renamed = new LinkedHashMap<>();
        TestSafetensorsWriter w = new TestSafetensorsWriter().metadata("format", "pt");
        try (SafetensorsFile f = SafetensorsFile.open(original)) {
            for (TensorInfo info : f.tensors().values()) {
                String to = renamer.apply(info.name());
                renamed.put(info.name(), to);
                w.add(to, info.dtype().name(), info.shape(), raw(f, info.name()));
            }
        }
        w.write(dir.resolve("model.safetensors"));
        return renamed;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void resolveFindsEveryPublishedName(String set, String layout) {
        Path model = FixtureRoot.bundled().resolve(set).resolve("model");
        Map<String, String> renamed = rename(model.resolve("model.safetensors"),
                layout.equals("nested") ? NestedLayoutResolveTest::nested : NestedLayoutResolveTest::nestedWithHead);
        assertThat(renamed.keySet()).anyMatch(n -> n.startsWith("visual.")).anyMatch(n -> n.startsWith("model.layers."));
        try (SafetensorsCheckpoint original = SafetensorsCheckpoint.open(model);
             SafetensorsCheckpoint nested = SafetensorsCheckpoint.open(dir)) {
            WeightLoader loader = new WeightLoader(nested, null, DataType.FLOAT32);
            for (Map.Entry<String, String> e : renamed.entrySet()) {
                assertThat(nested.contains(e.getKey()) && !e.getKey().equals(e.getValue())).isFalse();
                assertThat(loader.resolve(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
                assertThat(loader.contains(e.getKey())).isTrue();
                assertThat(nested.readFloats(loader.resolve(e.getKey()))).isEqualTo(original.readFloats(e.getKey()));
            }
            assertThat(loader.resolve("model.layers.99.mlp.up_proj.weight")).isNull();
            assertThat(loader.resolve("visual.blocks.99.norm1.weight")).isNull();
            assertThat(loader.resolve("no_such_prefix.weight")).isNull();

            WeightLoader published = new WeightLoader(original, null, DataType.FLOAT32);
            for (String name : renamed.keySet()) {
                assertThat(published.resolve(name)).isEqualTo(name);
            }
        }
    }

    @Test
    void publishedNameWinsWhenBothLayoutsArePresent() {
        new TestSafetensorsWriter()
                .f32("model.norm.weight", new long[] {1}, 1f)
                .f32("model.language_model.norm.weight", new long[] {1}, 2f)
                .f32("visual.merger.ln_q.weight", new long[] {1}, 3f)
                .f32("model.visual.merger.ln_q.weight", new long[] {1}, 4f)
                .write(dir.resolve("model.safetensors"));
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            WeightLoader loader = new WeightLoader(c, null, DataType.FLOAT32);
            assertThat(loader.resolve("model.norm.weight")).isEqualTo("model.norm.weight");
            assertThat(loader.resolve("visual.merger.ln_q.weight")).isEqualTo("visual.merger.ln_q.weight");
        }
    }
}
