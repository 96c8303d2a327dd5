package io.github.qwenvl.checkpoint;

import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A Qwen2-family checkpoint without one of its weights (a vision block's, a decoder layer's, a norm the Java decoder
 * reads) fails to load with a {@link CheckpointException} naming it, in either weight mode: the Java decoder, created
 * before the towers, resolves its weights as the engine's loader does (not a NullPointerException).
 */
class MissingWeightTest {

    @TempDir
    Path temp;

    @TestFactory
    Stream<DynamicTest> missingWeights() {
        FixtureSet set = FixtureRoot.bundledSets().stream().filter(FixtureSet::isQwen2Family).findFirst().orElseThrow();
        List<DynamicTest> tests = new ArrayList<>();
        for (String missing : new String[] {"visual.blocks.0.attn.qkv.weight", "model.layers.1.mlp.up_proj.weight",
                "model.layers.0.input_layernorm.weight"}) {
            for (QwenVlOptions.WeightMode mode : new QwenVlOptions.WeightMode[] {QwenVlOptions.WeightMode.AUTO,
                    QwenVlOptions.WeightMode.FLOAT32_COPIES}) {
                tests.add(DynamicTest.dynamicTest(missing + "/" + mode, () -> {
                    Path dir = withoutTensor(set.modelDir(), missing, temp.resolve(missing + "-" + mode));
                    assertThatThrownBy(() -> QwenVlModel.load(dir, QwenVlOptions.defaults().withThreads(2)
                            .withWeightMode(mode)).close())
                            .isInstanceOf(CheckpointException.class)
                            .hasMessageContaining("Missing weight")
                            .hasMessageContaining(missing);
                }));
            }
        }
        return tests.stream();
    }

    /** A copy of {@code modelDir} whose model.safetensors lacks {@code name}. */
    private static Path withoutTensor(Path modelDir, String name, Path target) throws IOException {
        Files.createDirectories(target);
        try (var files = Files.list(modelDir)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(f)) {
                    Files.copy(f, target.resolve(f.getFileName()));
                }
            }
        }
        TestSafetensorsWriter writer = new TestSafetensorsWriter();
        try (SafetensorsCheckpoint source = SafetensorsCheckpoint.open(modelDir)) {
            assertThat(source.contains(name)).as("fixture has %s", name).isTrue();
            for (String tensor : source.names()) {
                if (tensor.equals(name)) {
                    continue;
                }
                TensorInfo info = source.info(tensor);
                ByteBuffer bytes = source.bytes(tensor, 0, info.length());
                byte[] data = new byte[(int) info.length()];
                bytes.get(data);
                writer.add(tensor, info.dtype().name(), info.shape(), data);
            }
        }
        writer.write(target.resolve("model.safetensors"));
        Files.deleteIfExists(target.resolve("model.safetensors.index.json"));
        return target;
    }
}
