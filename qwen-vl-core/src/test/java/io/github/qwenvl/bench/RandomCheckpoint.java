package io.github.qwenvl.bench;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;

/**
 * Writes a Hugging Face model directory with the real dimensions of a {@link ModelSpec} and random BF16
 * weights (N(0, 0.02) matrices and biases, norm weights 1, LayerNorm biases 0), so the engine can be timed
 * at full size without downloading a checkpoint. The single {@code model.safetensors} is streamed to disk in
 * 8 MiB chunks (a 2 B model is 4.4 GB; nothing of that size is ever held in memory).
 *
 * <p>The directory is cached: {@link #ensure} reuses it when its {@code bench-checkpoint.json} stamp matches
 * the spec. Default cache: {@code target/bench-models/<name>}, or {@code -Dqwenvl.bench.dir=<folder>}.
 */
public final class RandomCheckpoint {

    public static final String STAMP = "bench-checkpoint.json";
    public static final double STD = 0.02;
    // nulls kept: published configs spell some keys as null (Qwen-VL's "onnx_safe")
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().create();
    private static final int CHUNK = 8 << 20;
    /** bf16 bit patterns of 65536 N(0, STD) samples: a random 16-bit index picks one (fast, and normal enough). */
    private static final short[] NORMAL_TABLE = normalTable(STD, 1234);
    private static final short BF16_ONE = (short) 0x3F80;

    private RandomCheckpoint() {
    }

    /** The cache root: {@code -Dqwenvl.bench.dir}, else {@code target/bench-models}. */
    public static Path cacheRoot() {
        String dir = System.getProperty("qwenvl.bench.dir");
        return (dir != null && !dir.isBlank() ? Paths.get(dir) : Paths.get("target", "bench-models")).toAbsolutePath();
    }

    /**
     * The fixture root that holds the tokenizer files: the repository's own {@code fixtures/} (found above the
     * working directory), else {@code -Dqwenvl.fixtures}. The repository's copy comes first because
     * {@code -Dqwenvl.fixtures} may point at another fixture root whose sets are named differently.
     */
    public static Path fixtureRoot() {
        for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("fixtures").resolve("tokenizer-qwen2"))) {
                return p.resolve("fixtures");
            }
        }
        String configured = System.getProperty("qwenvl.fixtures");
        if (configured != null && !configured.isBlank()) {
            return Paths.get(configured).toAbsolutePath().normalize();
        }
        throw new IllegalStateException("Cannot find the fixtures/ folder (set -Dqwenvl.fixtures=/path/to/fixtures)");
    }

    /** Result of {@link #ensure}: where the model is and whether it was written now. */
    public record Prepared(Path directory, boolean generated, double seconds, long bytes) {
    }

    /** Reuses {@code root/<spec.name>} when its stamp matches, else (re)writes it. */
    public static Prepared ensure(ModelSpec spec, Path root, Path fixtures) {
        Path dir = root.resolve(spec.name());
        String stamp = stamp(spec);
        try {
            Path stampFile = dir.resolve(STAMP);
            if (Files.isRegularFile(stampFile) && Files.readString(stampFile).equals(stamp)
                    && Files.isRegularFile(dir.resolve("model.safetensors"))) {
                return new Prepared(dir, false, 0, Files.size(dir.resolve("model.safetensors")));
            }
            long start = System.nanoTime();
            Files.createDirectories(dir);
            Files.deleteIfExists(stampFile);
            long bytes = writeSafetensors(spec.tensors(), dir.resolve("model.safetensors"), 42);
            for (var json : spec.jsonFiles().entrySet()) {
                writeJson(dir.resolve(json.getKey()), json.getValue());
            }
            Path tokenizerSource = fixtures.resolve(spec.tokenizerDir());
            for (String f : spec.tokenizerFiles()) {
                Files.copy(tokenizerSource.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            Files.writeString(stampFile, stamp);
            return new Prepared(dir, true, (System.nanoTime() - start) / 1e9, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the random checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Identifies what was generated: any change of the spec or the generator's layout regenerates. */
    static String stamp(ModelSpec spec) {
        JsonObject s = new JsonObject();
        s.addProperty("generator", "RandomCheckpoint/1");
        s.addProperty("std", STD);
        s.add("config", spec.configJson());
        s.addProperty("tensors", spec.tensors().size());
        return GSON.toJson(s) + "\n";
    }

    private static void writeJson(Path file, JsonObject json) throws IOException {
        Files.writeString(file, GSON.toJson(json) + "\n", StandardCharsets.UTF_8);
    }

    /**
     * Streams a BF16 safetensors file: header (JSON padded with spaces to 8 bytes), then each tensor's data in
     * header order. Written to a temporary file and moved into place, so a cut run never leaves a half file.
     *
     * @return bytes written
     */
    public static long writeSafetensors(List<ModelSpec.Tensor> tensors, Path file, long seed) throws IOException {
        byte[] json = header(tensors);
        int padded = (json.length + 7) / 8 * 8;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        long state = seed * 0x9E3779B97F4A7C15L + 1;
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.position() < head.capacity()) {
                head.put((byte) ' ');
            }
            head.flip();
            writeFully(ch, head);
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            for (ModelSpec.Tensor t : tensors) {
                long remaining = t.elements();
                while (remaining > 0) {
                    int n = (int) Math.min(remaining, CHUNK / 2);
                    buf.clear();
                    switch (t.fill()) {
                        case ONES -> {
                            for (int i = 0; i < n; i++) {
                                buf.putShort(BF16_ONE);
                            }
                        }
                        case ZEROS -> {
                            for (int i = 0; i < n; i++) {
                                buf.putShort((short) 0);
                            }
                        }
                        case NORMAL -> {
                            int i = 0;
                            while (i < n) {
                                // xorshift64*: four 16-bit table indices per step
                                state ^= state >>> 12;
                                state ^= state << 25;
                                state ^= state >>> 27;
                                long r = state * 0x2545F4914F6CDD1DL;
                                for (int k = 0; k < 4 && i < n; k++, i++) {
                                    buf.putShort(NORMAL_TABLE[(int) (r >>> (16 * k)) & 0xFFFF]);
                                }
                            }
                        }
                    }
                    buf.flip();
                    writeFully(ch, buf);
                    remaining -= n;
                }
            }
            ch.force(false);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return safetensorsBytes(tensors);
    }

    /** The size {@link #writeSafetensors} gives these tensors: 8-byte length, padded JSON header, BF16 data. */
    public static long safetensorsBytes(List<ModelSpec.Tensor> tensors) {
        long data = tensors.stream().mapToLong(t -> t.elements() * 2).sum();
        return 8L + (header(tensors).length + 7) / 8 * 8 + data;
    }

    /** The safetensors JSON header: every tensor as BF16, data laid out in list order. */
    static byte[] header(List<ModelSpec.Tensor> tensors) {
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        header.add("__metadata__", meta);
        long offset = 0;
        for (ModelSpec.Tensor t : tensors) {
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", "BF16");
            JsonArray shape = new JsonArray();
            for (long d : t.shape()) {
                shape.add(d);
            }
            entry.add("shape", shape);
            JsonArray offsets = new JsonArray();
            long length = t.elements() * 2;
            offsets.add(offset);
            offsets.add(offset + length);
            entry.add("data_offsets", offsets);
            header.add(t.name(), entry);
            offset += length;
        }
        return new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static short[] normalTable(double std, long seed) {
        Random random = new Random(seed);
        short[] table = new short[1 << 16];
        for (int i = 0; i < table.length; i++) {
            float f = (float) (random.nextGaussian() * std);
            int bits = Float.floatToRawIntBits(f);
            bits += 0x7FFF + ((bits >>> 16) & 1); // round to nearest even
            table[i] = (short) (bits >>> 16);
        }
        return table;
    }

    /** {@code RandomCheckpoint <preset>...}: writes (or confirms) the cached directories. */
    public static void main(String[] args) {
        Path fixtures = fixtureRoot();
        for (String name : args.length == 0 ? new String[] {Qwen2VlSpec.QWEN2_VL_2B.name()} : args) {
            Prepared p = ensure(ModelSpec.named(name), cacheRoot(), fixtures);
            System.out.printf("%s: %s (%.2f GB%s)%n", name, p.directory(), p.bytes() / 1e9,
                    p.generated() ? String.format(", written in %.1f s", p.seconds()) : ", cached");
        }
    }
}
