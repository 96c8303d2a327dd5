package io.github.qwenvl.checkpoint;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every kind of broken file is a {@link CheckpointException} naming the file (and tensor). */
class CorruptSafetensorsTest {

    @TempDir
    Path dir;

    private static void assertCorrupt(Path file, String tensor, String... fragments) {
        var assertion = assertThatThrownBy(() -> SafetensorsFile.open(file).close())
                .isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString());
        if (tensor != null) {
            assertion.hasMessageContaining("'" + tensor + "'");
        }
        for (String f : fragments) {
            assertion.hasMessageContaining(f);
        }
    }

    private static TestSafetensorsWriter valid() {
        return new TestSafetensorsWriter()
                .f32("a", new long[] {2, 3}, 1, 2, 3, 4, 5, 6)
                .bits16("w", "BF16", new long[] {4}, (short) 0x3F80, (short) 0x4000, (short) 0x4040, (short) 0x4080);
    }

    /** Writes the valid file with its header entry for {@code w} changed by {@code edit}. */
    private Path withEntry(String fileName, Consumer<JsonObject> edit) {
        TestSafetensorsWriter w = valid();
        JsonObject header = w.header();
        edit.accept(header.getAsJsonObject("w"));
        return TestSafetensorsWriter.writeRaw(dir.resolve(fileName), header.toString(), w.data());
    }

    private static JsonArray longs(long... values) {
        JsonArray a = new JsonArray();
        Arrays.stream(values).forEach(a::add);
        return a;
    }

    @Test
    void validFileOpens() {
        try (SafetensorsFile f = SafetensorsFile.open(valid().write(dir.resolve("ok.safetensors")))) {
            assertThat(f.readFloats("w")).containsExactly(1f, 2f, 3f, 4f);
        }
    }

    @Test
    void missingFile() {
        Path file = dir.resolve("absent.safetensors");
        assertThatThrownBy(() -> SafetensorsFile.open(file)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("not found");
    }

    @Test
    void directoryInsteadOfFile() throws IOException {
        Path d = Files.createDirectory(dir.resolve("d.safetensors"));
        assertThatThrownBy(() -> SafetensorsFile.open(d)).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(d.toString());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7})
    void shorterThanTheLengthPrefix(int size) throws IOException {
        Path file = Files.write(dir.resolve("short" + size + ".safetensors"), new byte[size]);
        assertCorrupt(file, null, size + " bytes");
    }

    @Test
    void zeroHeaderLength() {
        assertCorrupt(TestSafetensorsWriter.writeRaw(dir.resolve("zero.safetensors"), 0, new byte[0], new byte[16]), null);
    }

    @Test
    void headerLengthPastTheEnd() {
        byte[] header = "{}      ".getBytes(StandardCharsets.UTF_8);
        assertCorrupt(TestSafetensorsWriter.writeRaw(dir.resolve("past.safetensors"), 9, header, new byte[0]), null,
                "header length 9");
    }

    @ParameterizedTest
    @ValueSource(longs = {Long.MIN_VALUE /* 2^63 unsigned */, -1 /* 2^64-1 */, Long.MAX_VALUE, 1L << 40, 200L << 20})
    void hugeHeaderLength(long declared) {
        byte[] header = "{}      ".getBytes(StandardCharsets.UTF_8);
        Path file = TestSafetensorsWriter.writeRaw(dir.resolve("huge.safetensors"), declared, header, new byte[0]);
        assertCorrupt(file, null, Long.toUnsignedString(declared));
    }

    @ParameterizedTest
    @ValueSource(strings = {"not json at all", "{\"a\": ", "[1, 2, 3]", "\"string\"", "42", "null", "{} trailing",
        "{\"a\": {\"dtype\": \"F32\"}} }"})
    void headerNotAJsonObject(String json) {
        Path file = TestSafetensorsWriter.writeRaw(dir.resolve("json.safetensors"), json, new byte[0]);
        assertCorrupt(file, null, "header");
    }

    @Test
    void headerNotUtf8Json() {
        byte[] header = {(byte) 0xFF, (byte) 0xFE, 0, 0, 0, 0, 0, 0};
        assertCorrupt(TestSafetensorsWriter.writeRaw(dir.resolve("bin.safetensors"), 8, header, new byte[0]), null);
    }

    @Test
    void entryNotAnObject() {
        JsonObject h = valid().header();
        h.addProperty("w", "oops");
        assertCorrupt(TestSafetensorsWriter.writeRaw(dir.resolve("entry.safetensors"), h.toString(), valid().data()), "w");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dtype", "shape", "data_offsets"})
    void missingField(String field) {
        assertCorrupt(withEntry("missing-" + field + ".safetensors", e -> e.remove(field)), "w");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dtype", "shape", "data_offsets"})
    void nullOrWronglyTypedField(String field) {
        assertCorrupt(withEntry("null-" + field + ".safetensors", e -> e.add(field, com.google.gson.JsonNull.INSTANCE)), "w");
        assertCorrupt(withEntry("obj-" + field + ".safetensors", e -> e.add(field, new JsonObject())), "w");
    }

    @ParameterizedTest
    @ValueSource(strings = {"F8_E4M3", "Q4", "float32", ""})
    void unknownDtype(String dtype) {
        assertCorrupt(withEntry("dtype.safetensors", e -> e.addProperty("dtype", dtype)), "w", "unknown dtype");
    }

    @Test
    void negativeDimension() {
        assertCorrupt(withEntry("neg.safetensors", e -> e.add("shape", longs(-4))), "w", "negative dimension");
        assertCorrupt(withEntry("neg2.safetensors", e -> e.add("shape", longs(-2, -2))), "w", "negative dimension");
    }

    @Test
    void nonIntegerDimensions() {
        assertCorrupt(withEntry("frac.safetensors", e -> {
            JsonArray a = new JsonArray();
            a.add(4.5);
            e.add("shape", a);
        }), "w", "not an integer");
        assertCorrupt(withEntry("str.safetensors", e -> {
            JsonArray a = new JsonArray();
            a.add("4");
            e.add("shape", a);
        }), "w", "not an integer");
        assertCorrupt(withEntry("big.safetensors", e -> e.add("shape",
                com.google.gson.JsonParser.parseString("[18446744073709551620]"))), "w", "not an integer");
    }

    @Test
    void shapeProductOverflow() {
        assertCorrupt(withEntry("ovf.safetensors", e -> e.add("shape", longs(1L << 32, 1L << 32))), "w", "overflow");
        // elements fit in a long, bytes (x2) do not
        assertCorrupt(withEntry("ovf2.safetensors", e -> e.add("shape", longs(1L << 62))), "w", "overflow");
    }

    @Test
    void dataOffsetsMalformed() {
        assertCorrupt(withEntry("off1.safetensors", e -> e.add("data_offsets", longs(24))), "w", "data_offsets");
        assertCorrupt(withEntry("off3.safetensors", e -> e.add("data_offsets", longs(24, 28, 32))), "w", "data_offsets");
        assertCorrupt(withEntry("offobj.safetensors", e -> e.addProperty("data_offsets", 3)), "w");
    }

    @Test
    void dataOffsetsOutsideTheDataSection() {
        assertCorrupt(withEntry("beyond.safetensors", e -> e.add("data_offsets", longs(26, 34))), "w", "outside");
        assertCorrupt(withEntry("negative.safetensors", e -> e.add("data_offsets", longs(-8, 0))), "w", "outside");
        assertCorrupt(withEntry("huge.safetensors", e -> e.add("data_offsets", longs(Long.MAX_VALUE - 8, Long.MAX_VALUE))),
                "w", "outside");
    }

    @Test
    void offsetsThatWouldWrapAroundAreRejected() {
        // 2^64 + 24 and 2^64 + 32 wrap to [24, 32) — a valid range — if parsed loosely
        assertCorrupt(withEntry("wrap.safetensors", e -> e.add("data_offsets",
                com.google.gson.JsonParser.parseString("[18446744073709551640, 18446744073709551648]"))), "w",
                "not an integer");
    }

    @Test
    void beginAfterEnd() {
        assertCorrupt(withEntry("reversed.safetensors", e -> e.add("data_offsets", longs(32, 24))), "w");
    }

    @Test
    void byteLengthDoesNotMatchShapeTimesDtype() {
        assertCorrupt(withEntry("len.safetensors", e -> e.add("shape", longs(3))), "w", "does not match");
        assertCorrupt(withEntry("len2.safetensors", e -> e.addProperty("dtype", "F32")), "w", "does not match");
        assertCorrupt(withEntry("len3.safetensors", e -> e.add("shape", longs(0))), "w", "does not match");
    }

    @Test
    void truncatedData() throws IOException {
        Path good = valid().write(dir.resolve("good.safetensors"));
        byte[] all = Files.readAllBytes(good);
        for (int cut = 1; cut <= 8; cut++) {
            Path file = Files.write(dir.resolve("cut" + cut + ".safetensors"), Arrays.copyOf(all, all.length - cut));
            assertCorrupt(file, "w", "truncated");
        }
        // cut inside the header: its length now points past the end
        Path inHeader = Files.write(dir.resolve("cut-header.safetensors"), Arrays.copyOf(all, 20));
        assertCorrupt(inHeader, null, "header length");
    }

    @Test
    void metadataIsOptionalAndTolerant() {
        JsonObject h = valid().header();
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        meta.add("nested", longs(1, 2));
        h.add("__metadata__", meta);
        Path file = TestSafetensorsWriter.writeRaw(dir.resolve("meta.safetensors"), h.toString(), valid().data());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.metadata()).containsEntry("format", "pt").containsEntry("nested", "[1,2]");
            assertThat(f.tensors()).containsOnlyKeys("a", "w");
        }
    }
}
