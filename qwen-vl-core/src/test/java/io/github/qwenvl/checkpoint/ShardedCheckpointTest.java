package io.github.qwenvl.checkpoint;

import com.google.gson.JsonObject;
import io.github.qwenvl.testing.FixtureRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ShardedCheckpointTest {

    @TempDir
    Path dir;

    static Stream<Arguments> fixtures() {
        return Stream.of("qwen2-vl-tiny", "qwen2_5-vl-tiny").flatMap(name -> Stream.of(2, 3)
                .map(shards -> Arguments.of(FixtureRoot.bundled().resolve(name).resolve("model"), shards)));
    }

    private static byte[] raw(SafetensorsFile f, String name) {
        ByteBuffer b = f.bytes(name);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /** Splits {@code original} round-robin over {@code shardCount} files plus an index. */
    static Map<String, String> shard(Path original, Path target, int shardCount) throws IOException {
        JsonObject weightMap = new JsonObject();
        try (SafetensorsFile f = SafetensorsFile.open(original)) {
            List<TestSafetensorsWriter> writers = new ArrayList<>();
            for (int i = 0; i < shardCount; i++) {
                writers.add(new TestSafetensorsWriter().metadata("format", "pt"));
            }
            int i = 0;
            for (TensorInfo info : f.tensors().values()) {
                int s = i++ % shardCount;
                writers.get(s).add(info.name(), info.dtype().name(), info.shape(), raw(f, info.name()));
                weightMap.addProperty(info.name(), shardName(s, shardCount));
            }
            for (int s = 0; s < shardCount; s++) {
                writers.get(s).write(target.resolve(shardName(s, shardCount)));
            }
        }
        JsonObject index = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("total_size", Files.size(original));
        index.add("metadata", meta);
        index.add("weight_map", weightMap);
        Files.writeString(target.resolve(SafetensorsCheckpoint.INDEX_FILE), index.toString());
        Map<String, String> result = new java.util.LinkedHashMap<>();
        weightMap.entrySet().forEach(e -> result.put(e.getKey(), e.getValue().getAsString()));
        return result;
    }

    static String shardName(int s, int count) {
        return String.format("model-%05d-of-%05d.safetensors", s + 1, count);
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void shardsReadBackIdenticalToTheSingleFile(Path model, int shardCount) throws IOException {
        Path original = model.resolve("model.safetensors");
        Map<String, String> weightMap = shard(original, dir, shardCount);
        assertThat(SafetensorsCheckpoint.isPresent(dir)).isTrue();
        try (SafetensorsFile single = SafetensorsFile.open(original);
             SafetensorsCheckpoint sharded = SafetensorsCheckpoint.open(dir);
             SafetensorsCheckpoint whole = SafetensorsCheckpoint.open(model)) {
            assertThat(sharded.names()).containsExactlyInAnyOrderElementsOf(single.tensors().keySet());
            assertThat(whole.names()).containsExactlyElementsOf(single.tensors().keySet());
            long expectedBytes = 0;
            for (TensorInfo info : single.tensors().values()) {
                String name = info.name();
                expectedBytes += info.length();
                TensorInfo shardedInfo = sharded.info(name);
                assertThat(shardedInfo.dtype()).isEqualTo(info.dtype());
                assertThat(shardedInfo.shape()).isEqualTo(info.shape());
                assertThat(shardedInfo.length()).isEqualTo(info.length());
                float[] expected = single.readFloats(name);
                float[] actual = sharded.readFloats(name);
                assertThat(actual).as(name).isEqualTo(expected);
                ByteBuffer buffer = sharded.float32Buffer(name);
                for (int i = 0; i < expected.length; i++) {
                    assertThat(Float.floatToRawIntBits(buffer.getFloat(i * 4)))
                            .isEqualTo(Float.floatToRawIntBits(expected[i]));
                }
            }
            assertThat(sharded.storedBytes()).isEqualTo(expectedBytes);
            assertThat(whole.storedBytes()).isEqualTo(expectedBytes);
            long dataSection = 0;
            for (String shardFile : new java.util.TreeSet<>(weightMap.values())) {
                try (SafetensorsFile s = SafetensorsFile.open(dir.resolve(shardFile))) {
                    dataSection += s.tensors().values().stream().mapToLong(TensorInfo::length).sum();
                }
            }
            assertThat(sharded.storedBytes()).isEqualTo(dataSection);
        }
    }

    @Test
    void shardedCheckpointOpensFromItsOwnWorkingDirectory() throws Exception {
        Path model = FixtureRoot.bundled().resolve("qwen2-vl-tiny").resolve("model");
        shard(model.resolve("model.safetensors"), dir, 2);
        long bytes;
        int count;
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(model)) {
            bytes = c.storedBytes();
            count = c.names().size();
        }
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                OpenCheckpointMain.class.getName(), ".")
                .directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).contains("tensors=" + count + " bytes=" + bytes);
    }

    @Test
    void relativeDirectoryOpens() throws IOException {
        Path model = FixtureRoot.bundled().resolve("qwen2-vl-tiny").resolve("model");
        shard(model.resolve("model.safetensors"), dir, 3);
        Path relative = Path.of("").toAbsolutePath().relativize(dir);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(relative);
             SafetensorsCheckpoint original = SafetensorsCheckpoint.open(model)) {
            assertThat(c.names()).containsExactlyInAnyOrderElementsOf(original.names());
        }
    }

    // ---- broken directories ----

    private void writeIndex(String weightMapJson) throws IOException {
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\": " + weightMapJson + "}");
    }

    private Path smallShard(String name, String... tensors) {
        TestSafetensorsWriter w = new TestSafetensorsWriter();
        for (String t : tensors) {
            w.f32(t, new long[] {2}, 1f, 2f);
        }
        return w.write(dir.resolve(name));
    }

    private void assertOpenFails(String... fragments) {
        var a = assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir).close())
                .isExactlyInstanceOf(CheckpointException.class);
        for (String f : fragments) {
            a.hasMessageContaining(f);
        }
    }

    @Test
    void duplicateTensorAcrossTwoFiles() {
        Path a = smallShard("a.safetensors", "x", "dup");
        Path b = smallShard("b.safetensors", "y", "dup");
        assertOpenFails("'dup'", a.toString(), b.toString());
    }

    @Test
    void unindexedFilesAreMergedInNameOrder() {
        smallShard("b.safetensors", "y");
        smallShard("a.safetensors", "x");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertThat(c.names()).containsExactly("x", "y");
            assertThat(c.storedBytes()).isEqualTo(16);
        }
    }

    @Test
    void corruptFileInADirectoryNamesThatFile() throws IOException {
        smallShard("a.safetensors", "x");
        Path bad = Files.write(dir.resolve("b.safetensors"), new byte[3]);
        assertOpenFails(bad.toString());
    }

    @Test
    void indexPointsToAMissingShard() throws IOException {
        smallShard("a.safetensors", "x");
        writeIndex("{\"x\": \"a.safetensors\", \"y\": \"gone.safetensors\"}");
        assertOpenFails("gone.safetensors", "missing", SafetensorsCheckpoint.INDEX_FILE);
    }

    @Test
    void shardPathEscapingTheDirectory() throws IOException {
        Path inner = Files.createDirectory(dir.resolve("inner"));
        smallShard("x.safetensors", "x"); // exists, but outside "inner"
        Files.writeString(inner.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\": {\"x\": \"../x.safetensors\"}}");
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(inner)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("outside").hasMessageContaining("../x.safetensors");
        Files.writeString(inner.resolve(SafetensorsCheckpoint.INDEX_FILE),
                "{\"weight_map\": {\"x\": \"" + dir.resolve("x.safetensors") + "\"}}");
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(inner)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining("outside");
        Files.writeString(inner.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\": {\"x\": \".\"}}");
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(inner)).isExactlyInstanceOf(CheckpointException.class);
    }

    @Test
    void indexListsATensorTheShardLacks() throws IOException {
        smallShard("a.safetensors", "x");
        writeIndex("{\"x\": \"a.safetensors\", \"ghost\": \"a.safetensors\"}");
        assertOpenFails("'ghost'", "a.safetensors");
    }

    @Test
    void indexWithoutWeightMapOrWithBadEntries() throws IOException {
        smallShard("a.safetensors", "x");
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"metadata\": {}}");
        assertOpenFails("weight_map");
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), "not json");
        assertOpenFails(SafetensorsCheckpoint.INDEX_FILE);
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), "[]");
        assertOpenFails(SafetensorsCheckpoint.INDEX_FILE);
        writeIndex("[\"a.safetensors\"]");
        assertOpenFails(SafetensorsCheckpoint.INDEX_FILE);
        writeIndex("{}");
        assertOpenFails("no tensors");
        writeIndex("{\"x\": {\"file\": \"a.safetensors\"}}");
        assertOpenFails("'x'", SafetensorsCheckpoint.INDEX_FILE);
        writeIndex("{\"x\": 3}");
        assertOpenFails("'x'");
        writeIndex("{\"x\": null}");
        assertOpenFails("'x'");
    }

    @Test
    void shardListedUnderTwoSpellingsIsOpenedOnce() throws IOException {
        smallShard("a.safetensors", "x", "y");
        writeIndex("{\"x\": \"a.safetensors\", \"y\": \"./a.safetensors\"}");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertThat(c.names()).containsExactly("x", "y");
            assertThat(c.readFloats("y")).containsExactly(1f, 2f);
        }
    }

    @Test
    void directoryWithNoWeights() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        Files.createDirectory(dir.resolve("sub.safetensors")); // a directory is not a weights file
        assertThat(SafetensorsCheckpoint.isPresent(dir)).isFalse();
        assertOpenFails("No *.safetensors", dir.toString());
    }

    @Test
    void missingOrNonDirectory() throws IOException {
        Path absent = dir.resolve("absent");
        assertThat(SafetensorsCheckpoint.isPresent(absent)).isFalse();
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(absent)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(absent.toString());
        Path file = Files.writeString(dir.resolve("plain.txt"), "x");
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(file)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString());
    }

    @Test
    void missingTensorNamesTheDirectory() {
        smallShard("a.safetensors", "x");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertThatThrownBy(() -> c.readFloats("nope")).isExactlyInstanceOf(CheckpointException.class)
                    .hasMessageContaining("'nope'").hasMessageContaining(dir.toString());
        }
    }
}
