package io.github.qwenvl.checkpoint;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An opt-in on-disk float32 copy of a checkpoint's BF16/F16 tensors, memory-mapped on later loads.
 *
 * <p>Why: DJL 0.36's PyTorch engine cannot hold BF16, so prefill and the vision tower need float32 copies of the
 * weights. Widening them at every start means writing twice the checkpoint's bytes into fresh memory (8.8 GB
 * for Qwen2-VL-2B, several seconds of page faults). With the cache, the first load writes those float32
 * tensors once to {@code <root>/<key>/model.safetensors}; every later load maps them read-only and hands the
 * mapped regions to the engine without a copy (as it does for float32-stored checkpoints), so loading costs
 * little more than opening files, the pages come from the OS page cache as they are first used, and several
 * processes serving the same model share them. The price is disk space: 4 bytes per parameter.
 *
 * <p>The key hashes the source files' names, sizes and modification times and every tensor's name, dtype and
 * shape, so a changed checkpoint gets a new entry (old entries are not deleted). Entries are written to a
 * temporary file and moved into place atomically; a missing, truncated or mismatching entry is rewritten. Any
 * I/O failure (disk full, read-only folder) is logged and the model loads without the cache.
 */
public final class Float32WeightCache {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Float32WeightCache.class);
    private static final String FORMAT = "qwen-vl float32 weight cache v1";
    static final String FILE = "model.safetensors";
    /** Elements widened per write (64 MB of float32). */
    private static final int CHUNK_ELEMENTS = 16 << 20;

    private Float32WeightCache() {
    }

    /** True when the store holds any BF16/F16 tensor (safetensors or PyTorch {@code .bin}). */
    public static boolean applies(TensorStore source) {
        return source.names().stream().anyMatch(n -> isSixteenBit(source.info(n)));
    }

    /**
     * The float32 copy of the source's 16-bit tensors, written first when missing or stale; null when the source
     * has none or the cache cannot be used (logged).
     */
    public static SafetensorsCheckpoint open(TensorStore source, Path root) {
        if (!applies(source)) {
            return null;
        }
        Path dir = root.resolve(key(source));
        Path file = dir.resolve(FILE);
        try {
            if (Files.isRegularFile(file)) {
                SafetensorsCheckpoint cached = openValid(source, dir);
                if (cached != null) {
                    LOG.info("Float32 weights of {} mapped from the weight cache {}", source.directory(), dir);
                    return cached;
                }
                LOG.warn("Weight cache entry {} does not match {}; rewriting it", dir, source.directory());
            }
            write(source, dir);
            SafetensorsCheckpoint cached = openValid(source, dir);
            if (cached == null) {
                LOG.warn("Weight cache entry {} could not be verified after writing; loading without it", dir);
            }
            return cached;
        } catch (IOException | RuntimeException e) {
            LOG.warn("Weight cache {} not used ({}); loading {} without it", dir, e.toString(), source.directory());
            return null;
        }
    }

    /** Opens the entry when it holds every 16-bit tensor of the source as float32 of the same shape, else null. */
    private static SafetensorsCheckpoint openValid(TensorStore source, Path dir) {
        SafetensorsCheckpoint cached;
        try {
            cached = SafetensorsCheckpoint.open(dir);
        } catch (CheckpointException e) {
            return null; // truncated or corrupt: the caller rewrites it
        }
        for (String name : source.names()) {
            TensorInfo info = source.info(name);
            if (!isSixteenBit(info)) {
                continue;
            }
            if (!cached.contains(name) || cached.info(name).dtype() != TensorDType.F32
                    || !java.util.Arrays.equals(cached.info(name).shape(), info.shape())) {
                cached.close();
                return null;
            }
        }
        return cached;
    }

    /** Writes the float32 safetensors file of the source's 16-bit tensors (temporary file, then an atomic move). */
    static void write(TensorStore source, Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, TensorInfo> tensors = new TreeMap<>();
        for (String name : source.names()) {
            TensorInfo info = source.info(name);
            if (isSixteenBit(info)) {
                tensors.put(name, info);
            }
        }
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        meta.addProperty("qwen_vl_cache", FORMAT);
        meta.addProperty("source", source.directory().toAbsolutePath().toString());
        header.add("__metadata__", meta);
        long offset = 0;
        for (TensorInfo info : tensors.values()) {
            JsonObject t = new JsonObject();
            t.addProperty("dtype", "F32");
            JsonArray shape = new JsonArray();
            for (long d : info.shape()) {
                shape.add(d);
            }
            t.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += info.elementCount() * 4;
            offsets.add(offset);
            t.add("data_offsets", offsets);
            header.add(info.name(), t);
        }
        byte[] json = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
        // pad the header with spaces (allowed by the format) so the data starts 64-byte aligned
        int padded = (int) ((8 + json.length + 63) / 64 * 64 - 8);
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        long total = offset;
        Path tmp = Files.createTempFile(dir, "model-", ".safetensors.tmp");
        long start = System.nanoTime();
        LOG.info("Writing the float32 weight cache of {} ({} MiB) to {}", source.directory(), total >> 20, dir);
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(out, head);
                ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_ELEMENTS * 4).order(ByteOrder.nativeOrder());
                long written = 0;
                int reportedTenths = 0;
                for (TensorInfo info : tensors.values()) {
                    for (long from = 0; from < info.elementCount(); from += CHUNK_ELEMENTS) {
                        int count = (int) Math.min(CHUNK_ELEMENTS, info.elementCount() - from);
                        buffer.clear();
                        source.readFloat32Range(info.name(), buffer, from, count);
                        buffer.limit(count * 4);
                        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                            throw new IOException("the weight cache is written on little-endian machines only");
                        }
                        writeFully(out, buffer);
                        written += count * 4L;
                        int tenths = (int) (written * 10 / Math.max(1, total));
                        if (tenths > reportedTenths && total >= (256L << 20)) {
                            reportedTenths = tenths;
                            LOG.info("Float32 weight cache: {}% ({} of {} MiB) in {} s", tenths * 10, written >> 20,
                                    total >> 20, String.format("%.1f", (System.nanoTime() - start) / 1e9));
                        }
                    }
                }
                out.force(false);
            }
            move(tmp, dir.resolve(FILE));
        } finally {
            Files.deleteIfExists(tmp);
        }
        LOG.info("Float32 weight cache written in {} s", String.format("%.1f", (System.nanoTime() - start) / 1e9));
    }

    private static void move(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        } catch (FileAlreadyExistsException e) {
            // another process finished first: its file is equivalent
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /**
     * The entry name: a hash of the weight files of the source's directory (name, size, modification time) and of
     * its tensor table.
     */
    static String key(TensorStore source) {
        try (var listing = Files.list(source.directory())) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            StringBuilder text = new StringBuilder(FORMAT).append('\n');
            List<Path> files = listing.filter(Files::isRegularFile).filter(f -> {
                String n = f.getFileName().toString();
                return n.endsWith(".safetensors") || n.endsWith(".bin") || n.endsWith(".index.json");
            }).sorted().toList();
            for (Path f : files) {
                text.append(f.getFileName()).append(' ').append(Files.size(f)).append(' ')
                        .append(Files.getLastModifiedTime(f).toMillis()).append('\n');
            }
            Map<String, TensorInfo> sorted = new TreeMap<>();
            source.names().forEach(n -> sorted.put(n, source.info(n)));
            for (TensorInfo info : sorted.values()) {
                text.append(info.name()).append(' ').append(info.dtype()).append(' ')
                        .append(java.util.Arrays.toString(info.shape())).append('\n');
            }
            byte[] digest = sha.digest(text.toString().getBytes(StandardCharsets.UTF_8));
            return source.directory().getFileName() + "-" + HexFormat.of().formatHex(digest, 0, 12);
        } catch (IOException e) {
            throw new CheckpointException("Cannot read the checkpoint files of " + source.directory() + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isSixteenBit(TensorInfo info) {
        return info.dtype() == TensorDType.BF16 || info.dtype() == TensorDType.F16;
    }
}
