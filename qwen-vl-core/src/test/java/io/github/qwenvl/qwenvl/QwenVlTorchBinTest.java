package io.github.qwenvl.qwenvl;

import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.checkpoint.SafetensorsFile;
import io.github.qwenvl.checkpoint.TensorStore;
import io.github.qwenvl.checkpoint.TorchBinCheckpoint;
import io.github.qwenvl.checkpoint.TorchZipWriter;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * PyTorch {@code .bin} checkpoints: every Qwen-VL model set's weights re-saved in torch.save's zip layout (by this
 * test's own pickle writer, single file and index-sharded) read back bit-identical and load through
 * {@code QwenVlModel.load}; hostile or unexpected pickles are refused without running anything; GPTQ checkpoints
 * fail clearly.
 */
class QwenVlTorchBinTest {

    @TempDir
    Path temp;

    /** Copies a model directory's non-weight files into {@code target}. */
    private static void copyConfig(Path from, Path target) throws IOException {
        Files.createDirectories(target);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (!n.endsWith(".safetensors") && !n.endsWith(".bin") && !n.endsWith(".index.json")) {
                    Files.copy(f, target.resolve(n));
                }
            }
        }
    }

    private static Path safetensorsOf(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).sorted().findFirst().orElseThrow();
        }
    }

    @TestFactory
    Stream<DynamicTest> binCopies() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : QwenVlSets.modelSets()) {
            tests.add(DynamicTest.dynamicTest(set.name() + "/bin_single", () -> roundTrip(set, false)));
            tests.add(DynamicTest.dynamicTest(set.name() + "/bin_sharded_generate", () -> roundTrip(set, true)));
        }
        return tests.stream();
    }

    private void roundTrip(FixtureSet set, boolean sharded) throws IOException {
        Path modelDir = QwenVlSets.modelDir(set);
        Path dir = temp.resolve(set.name() + (sharded ? "-sharded" : "-single"));
        copyConfig(modelDir, dir);
        try (SafetensorsFile source = SafetensorsFile.open(safetensorsOf(modelDir))) {
            if (sharded) {
                Map<String, Integer> shardOf = new LinkedHashMap<>();
                StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
                int i = 0;
                for (String name : source.tensors().keySet()) {
                    int shard = name.contains("visual") ? 1 : 0;
                    shardOf.put(name, shard);
                    index.append(i++ == 0 ? "" : ", ").append('"').append(name).append("\": \"pytorch_model-0000")
                            .append(shard + 1).append("-of-00002.bin\"");
                }
                Files.writeString(dir.resolve(TorchBinCheckpoint.INDEX_FILE), index.append("}}").toString());
                TorchZipWriter.convert(source, List.of(dir.resolve("pytorch_model-00001-of-00002.bin"),
                        dir.resolve("pytorch_model-00002-of-00002.bin")), shardOf);
            } else {
                TorchZipWriter.convert(source, List.of(dir.resolve("pytorch_model.bin")), Map.of());
            }
            try (TensorStore store = TensorStore.open(dir)) {
                assertThat(store).isInstanceOf(TorchBinCheckpoint.class);
                assertThat(store.names()).containsExactlyInAnyOrderElementsOf(source.tensors().keySet());
                for (String name : source.tensors().keySet()) {
                    assertThat(store.info(name).shape()).isEqualTo(source.info(name).shape());
                    assertThat(store.info(name).dtype()).isEqualTo(source.info(name).dtype());
                    assertThat(java.util.Arrays.equals(store.readFloats(name), source.readFloats(name))).as(name + " bit-identical").isTrue();
                }
            }
        }
        if (sharded) {
            // a directory with only .bin weights loads and generates exactly like the safetensors one
            GenerationRequest request = new GenerationRequest(List.of(ChatMessage.user("Hello, Qwen-VL!")),
                    GenerationOptions.builder().maxNewTokens(6).temperature(0.0).build());
            int[] expected = QwenVlEndToEndTest.model(set).generate(request).tokenIds();
            try (QwenVlModel fromBin = QwenVlModel.load(dir)) {
                assertThat(fromBin.generate(request).tokenIds()).containsExactly(expected);
            }
            // and through the float32 weight cache written from the .bin shards (first load writes, second maps)
            Path cache = temp.resolve(set.name() + "-weight-cache");
            for (int load = 0; load < 2; load++) {
                try (QwenVlModel cached = QwenVlModel.load(dir, QwenVlOptions.defaults().withWeightCacheDir(cache))) {
                    assertThat(cached.generate(request).tokenIds()).containsExactly(expected);
                }
            }
            try (var entries = Files.list(cache)) {
                assertThat(entries.filter(e -> Files.isRegularFile(e.resolve("model.safetensors")))).hasSize(1);
            }
        }
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    @Test
    void stridedAndOffsetViewsOfOneStorage() {
        byte[] storage = floats(0, 1, 2, 3, 4, 5, 6, 7);
        Map<String, TorchZipWriter.Tensor> tensors = new LinkedHashMap<>();
        // a (2, 3) transposed view: element [i][j] = storage[1 + j * 2 + i]
        tensors.put("t", new TorchZipWriter.Tensor("FloatStorage", storage, 8, 1, new long[] {2, 3}, new long[] {1, 2}));
        tensors.put("c", TorchZipWriter.Tensor.contiguous("FloatStorage", storage, new long[] {2, 4}));
        Path file = temp.resolve("pytorch_model.bin");
        TorchZipWriter.write(file, tensors);
        Map<String, float[]> read = TorchBinCheckpoint.readAll(file);
        assertThat(read.get("t")).containsExactly(1, 3, 5, 2, 4, 6);
        assertThat(read.get("c")).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
    }

    @Test
    void rangesStreamContiguousTensorsAndFallBackForViews() {
        byte[] storage = floats(0, 1, 2, 3, 4, 5, 6, 7);
        Map<String, TorchZipWriter.Tensor> tensors = new LinkedHashMap<>();
        tensors.put("t", new TorchZipWriter.Tensor("FloatStorage", storage, 8, 1, new long[] {2, 3}, new long[] {1, 2}));
        tensors.put("c", TorchZipWriter.Tensor.contiguous("FloatStorage", storage, new long[] {2, 4}));
        tensors.put("o", new TorchZipWriter.Tensor("FloatStorage", storage, 8, 2, new long[] {3}, new long[] {1}));
        TorchZipWriter.write(temp.resolve("pytorch_model.bin"), tensors);
        try (TorchBinCheckpoint ckpt = TorchBinCheckpoint.open(temp)) {
            assertThat(range(ckpt, "c", 3, 4)).containsExactly(3, 4, 5, 6);
            assertThat(range(ckpt, "o", 1, 2)).containsExactly(3, 4);
            assertThat(range(ckpt, "t", 2, 3)).containsExactly(5, 2, 4); // strided view: whole-tensor fallback
            assertThatThrownBy(() -> range(ckpt, "c", 6, 3)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    private static float[] range(TorchBinCheckpoint ckpt, String name, long from, int count) {
        java.nio.ByteBuffer target = java.nio.ByteBuffer.allocateDirect(count * 4).order(java.nio.ByteOrder.nativeOrder());
        ckpt.readFloat32Range(name, target, from, count);
        float[] out = new float[count];
        target.asFloatBuffer().get(out);
        return out;
    }

    private Path hostile(byte[] pickle) {
        Path file = temp.resolve("pytorch_model.bin");
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", pickle);
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        TorchZipWriter.writeZip(file, entries);
        return file;
    }

    @Test
    void refusesGlobalOsSystem() {
        // os.system("touch <marker>"): must be refused at the GLOBAL, nothing runs
        Path marker = temp.resolve("pwned");
        byte[] pickle = new TorchZipWriter.Pickle().proto().global("os", "system").string("touch " + marker)
                .op(0x85).op('R').op('.').bytes();
        Path file = hostile(pickle);
        assertThatThrownBy(() -> TorchBinCheckpoint.readAll(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("os.system");
        assertThat(marker).doesNotExist();
    }

    @Test
    void refusesStackGlobalAndUnknownOpcodes() {
        byte[] stackGlobal = new TorchZipWriter.Pickle().proto().string("builtins").string("eval").op(0x93)
                .string("1+1").op(0x85).op('R').op('.').bytes();
        Path a = hostile(stackGlobal);
        assertThatThrownBy(() -> TorchBinCheckpoint.readAll(a)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("builtins.eval");
        byte[] inst = new TorchZipWriter.Pickle().proto().op('(').op('i').bytes(); // INST
        Path b = hostile(inst);
        assertThatThrownBy(() -> TorchBinCheckpoint.readAll(b)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("opcode");
        byte[] notStateDict = new TorchZipWriter.Pickle().proto().op(']').op('.').bytes();
        Path c = hostile(notStateDict);
        assertThatThrownBy(() -> TorchBinCheckpoint.readAll(c)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("not a state dict");
        byte[] reduceAllowedWithBadArgs = new TorchZipWriter.Pickle().proto().global("torch._utils", "_rebuild_tensor_v2")
                .string("x").op(0x85).op('R').op('.').bytes();
        Path d = hostile(reduceAllowedWithBadArgs);
        assertThatThrownBy(() -> TorchBinCheckpoint.readAll(d)).isInstanceOf(CheckpointException.class);
        Path e = temp.resolve("legacy.bin");
        try {
            Files.write(e, new byte[] {(byte) 0x80, 2, 'K', 1, '.'});
        } catch (IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
        assertThatThrownBy(() -> TorchBinCheckpoint.readAll(e)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("legacy");
    }

    @TestFactory
    Stream<DynamicTest> gptqRefused() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : QwenVlSets.modelSets()) {
            tests.add(DynamicTest.dynamicTest(set.name() + "/gptq_config", () -> {
                Path dir = temp.resolve("gptq-config");
                copyConfig(QwenVlSets.modelDir(set), dir);
                Files.copy(safetensorsOf(QwenVlSets.modelDir(set)), dir.resolve("model.safetensors"));
                String config = Files.readString(dir.resolve("config.json")).replaceFirst("\\{",
                        "{\"quantization_config\": {\"quant_method\": \"gptq\", \"bits\": 4},");
                Files.writeString(dir.resolve("config.json"), config);
                assertThatThrownBy(() -> QwenVlModel.load(dir)).isInstanceOf(CheckpointException.class)
                        .hasMessageContaining("GPTQ Int4").hasMessageContaining("gptq");
            }));
            tests.add(DynamicTest.dynamicTest(set.name() + "/gptq_tensors", () -> {
                Path dir = temp.resolve("gptq-tensors");
                copyConfig(QwenVlSets.modelDir(set), dir);
                Map<String, TorchZipWriter.Tensor> tensors = new LinkedHashMap<>();
                tensors.put("transformer.h.0.attn.c_attn.qweight",
                        TorchZipWriter.Tensor.contiguous("IntStorage", new byte[16], new long[] {2, 2}));
                TorchZipWriter.write(dir.resolve("pytorch_model.bin"), tensors);
                assertThatThrownBy(() -> QwenVlModel.load(dir)).isInstanceOf(CheckpointException.class)
                        .hasMessageContaining("qweight");
            }));
        }
        return tests.stream();
    }
}
