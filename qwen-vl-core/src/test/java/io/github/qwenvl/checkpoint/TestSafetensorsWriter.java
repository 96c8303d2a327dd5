package io.github.qwenvl.checkpoint;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A minimal safetensors writer for tests, independent of the reader under test: tensors are packed
 * contiguously in insertion order, the header is padded with spaces to a multiple of 8 as the
 * reference implementation does, and the raw-layout helpers build deliberately broken files.
 */
final class TestSafetensorsWriter {

    private record Entry(String dtype, long[] shape, byte[] data) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    TestSafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    TestSafetensorsWriter add(String name, String dtype, long[] shape, byte[] data) {
        entries.put(name, new Entry(dtype, shape.clone(), data.clone()));
        return this;
    }

    TestSafetensorsWriter f32(String name, long[] shape, float... values) {
        ByteBuffer b = le(values.length * 4);
        for (float v : values) {
            b.putInt(Float.floatToRawIntBits(v));
        }
        return add(name, "F32", shape, b.array());
    }

    /** Raw 16-bit patterns, for F16 and BF16. */
    TestSafetensorsWriter bits16(String name, String dtype, long[] shape, short... bits) {
        ByteBuffer b = le(bits.length * 2);
        for (short v : bits) {
            b.putShort(v);
        }
        return add(name, dtype, shape, b.array());
    }

    TestSafetensorsWriter i64(String name, long[] shape, long... values) {
        ByteBuffer b = le(values.length * 8);
        for (long v : values) {
            b.putLong(v);
        }
        return add(name, "I64", shape, b.array());
    }

    TestSafetensorsWriter i32(String name, long[] shape, int... values) {
        ByteBuffer b = le(values.length * 4);
        for (int v : values) {
            b.putInt(v);
        }
        return add(name, "I32", shape, b.array());
    }

    TestSafetensorsWriter u8(String name, long[] shape, int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return add(name, "U8", shape, b);
    }

    /** The header this writer would produce (for tests that then tamper with it). */
    JsonObject header() {
        JsonObject header = new JsonObject();
        if (!metadata.isEmpty()) {
            JsonObject m = new JsonObject();
            metadata.forEach(m::addProperty);
            header.add("__metadata__", m);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            JsonObject t = new JsonObject();
            t.addProperty("dtype", e.getValue().dtype());
            JsonArray shape = new JsonArray();
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            t.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += e.getValue().data().length;
            offsets.add(offset);
            t.add("data_offsets", offsets);
            header.add(e.getKey(), t);
        }
        return header;
    }

    byte[] data() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        entries.values().forEach(e -> out.writeBytes(e.data()));
        return out.toByteArray();
    }

    Path write(Path file) {
        return writeRaw(file, header().toString(), data());
    }

    /** Header length (8 bytes LE, of the space-padded JSON), the JSON, then {@code data}. */
    static Path writeRaw(Path file, String headerJson, byte[] data) {
        byte[] json = headerJson.getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] header = new byte[padded];
        java.util.Arrays.fill(header, (byte) ' ');
        System.arraycopy(json, 0, header, 0, json.length);
        return writeRaw(file, padded, header, data);
    }

    /** Fully manual layout: any declared header length, any header bytes, any data. */
    static Path writeRaw(Path file, long declaredHeaderLength, byte[] header, byte[] data) {
        ByteBuffer out = le(8 + header.length + data.length);
        out.putLong(declaredHeaderLength).put(header).put(data);
        try {
            Files.write(file, out.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
