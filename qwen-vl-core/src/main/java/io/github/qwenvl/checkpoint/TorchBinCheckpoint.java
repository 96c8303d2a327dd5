package io.github.qwenvl.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * PyTorch {@code .bin} weights as {@code torch.save} writes them (zip format: {@code <archive>/data.pkl},
 * {@code <archive>/data/<key>} raw little-endian storages, {@code <archive>/version}): a single
 * {@code pytorch_model.bin} or the shards named by {@code pytorch_model.bin.index.json}. The state dict is read
 * by {@link TorchPickle}, which interprets only the opcodes and globals a tensor state dict needs and never runs
 * code. The legacy (pre-1.6, non-zip) format is refused.
 */
public final class TorchBinCheckpoint implements TensorStore {

    public static final String INDEX_FILE = "pytorch_model.bin.index.json";
    public static final String SINGLE_FILE = "pytorch_model.bin";

    private record Entry(ZipFile zip, String dataPrefix, TorchPickle.TensorRef tensor, TensorInfo info, Path file) {
    }

    private final Path directory;
    private final List<ZipFile> zips;
    private final Map<String, Entry> tensors;

    private TorchBinCheckpoint(Path directory, List<ZipFile> zips, Map<String, Entry> tensors) {
        this.directory = directory;
        this.zips = zips;
        this.tensors = tensors;
    }

    public static boolean isPresent(Path directory) {
        if (Files.isRegularFile(directory.resolve(INDEX_FILE)) || Files.isRegularFile(directory.resolve(SINGLE_FILE))) {
            return true;
        }
        try (Stream<Path> s = Files.list(directory)) {
            return s.anyMatch(p -> p.getFileName().toString().matches("pytorch_model.*\\.bin") && Files.isRegularFile(p));
        } catch (IOException e) {
            return false;
        }
    }

    public static TorchBinCheckpoint open(Path directory) {
        List<Path> files = new ArrayList<>();
        Path index = directory.resolve(INDEX_FILE);
        Path root = directory.toAbsolutePath().normalize();
        if (Files.isRegularFile(index)) {
            JsonObject weightMap;
            try {
                JsonObject json = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
                weightMap = json.getAsJsonObject("weight_map");
            } catch (IOException | RuntimeException e) {
                throw new CheckpointException("Cannot read " + index + ": " + e.getMessage(), e);
            }
            if (weightMap == null || weightMap.size() == 0) {
                throw new CheckpointException(index + " lists no tensors (empty or missing weight_map)");
            }
            for (Map.Entry<String, JsonElement> e : weightMap.entrySet()) {
                Path shard = root.resolve(e.getValue().getAsString()).normalize();
                if (!shard.startsWith(root) || shard.equals(root)) {
                    throw new CheckpointException(index + " points outside the model directory: " + e.getValue());
                }
                if (!files.contains(shard)) {
                    if (!Files.isRegularFile(shard)) {
                        throw new CheckpointException("Shard " + e.getValue().getAsString() + " listed in " + index + " is missing");
                    }
                    files.add(shard);
                }
            }
        } else {
            try (Stream<Path> s = Files.list(directory)) {
                files.addAll(s.filter(p -> p.getFileName().toString().matches("pytorch_model.*\\.bin"))
                        .filter(Files::isRegularFile).sorted().toList());
            } catch (IOException e) {
                throw new CheckpointException("Cannot list " + directory + ": " + e.getMessage(), e);
            }
            if (files.isEmpty()) {
                throw new CheckpointException("No pytorch_model*.bin (and no " + INDEX_FILE + ") in " + directory);
            }
        }
        List<ZipFile> zips = new ArrayList<>();
        Map<String, Entry> tensors = new LinkedHashMap<>();
        try {
            for (Path file : files) {
                ZipFile zip = openZip(file);
                zips.add(zip);
                readStateDict(file, zip, tensors);
            }
        } catch (RuntimeException e) {
            for (ZipFile z : zips) {
                closeQuietly(z);
            }
            throw e;
        }
        return new TorchBinCheckpoint(directory, zips, tensors);
    }

    /** The tensors of one {@code .bin} file (for tests and tools); the caller closes nothing. */
    public static Map<String, float[]> readAll(Path file) {
        try (ZipFile zip = openZip(file)) {
            Map<String, Entry> tensors = new LinkedHashMap<>();
            readStateDict(file, zip, tensors);
            Map<String, float[]> out = new LinkedHashMap<>();
            for (Map.Entry<String, Entry> e : tensors.entrySet()) {
                out.put(e.getKey(), toFloats(e.getValue()));
            }
            return out;
        } catch (IOException e) {
            throw new CheckpointException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static ZipFile openZip(Path file) {
        try {
            return new ZipFile(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException("Cannot open " + file + " as a PyTorch zip checkpoint (the legacy non-zip"
                    + " torch.save format is not supported; re-save it with torch >= 1.6 or convert to safetensors): "
                    + e.getMessage(), e);
        }
    }

    private static void readStateDict(Path file, ZipFile zip, Map<String, Entry> into) {
        ZipEntry pkl = null;
        for (var en = zip.entries(); en.hasMoreElements(); ) {
            ZipEntry e = en.nextElement();
            String n = e.getName();
            if (n.equals("data.pkl") || (n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length())) {
                pkl = e;
                break;
            }
        }
        if (pkl == null) {
            throw new CheckpointException(file + " is not a torch.save zip archive (no <archive>/data.pkl)");
        }
        String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
        byte[] pickle;
        try (InputStream in = zip.getInputStream(pkl)) {
            pickle = in.readAllBytes();
        } catch (IOException e) {
            throw new CheckpointException("Cannot read " + pkl.getName() + " of " + file + ": " + e.getMessage(), e);
        }
        Object root = TorchPickle.load(pickle, file.toString());
        if (!(root instanceof Map<?, ?> dict)) {
            throw new CheckpointException(file + ": data.pkl holds " + TorchPickle.describe(root) + ", not a state dict");
        }
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name) || !(e.getValue() instanceof TorchPickle.TensorRef tensor)) {
                throw new CheckpointException(file + ": state dict entry " + e.getKey() + " is "
                        + TorchPickle.describe(e.getValue()) + ", not a tensor");
            }
            String key = prefix + "data/" + tensor.storage().key();
            if (zip.getEntry(key) == null) {
                throw new CheckpointException(file + ": tensor '" + name + "' refers to storage " + key + ", which is missing");
            }
            long elements = 1;
            for (long d : tensor.shape()) {
                elements *= d;
            }
            TensorInfo info = new TensorInfo(name, tensor.storage().dtype(), tensor.shape(), tensor.offset(),
                    elements * tensor.storage().dtype().byteSize());
            into.put(name, new Entry(zip, prefix, tensor, info, file));
        }
    }

    @Override
    public Path directory() {
        return directory;
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        return entry(name).info();
    }

    private Entry entry(String name) {
        Entry e = tensors.get(name);
        if (e == null) {
            throw new CheckpointException("Missing weight '" + name + "' in " + directory + " (the checkpoint has "
                    + tensors.size() + " tensors; is it the right architecture?)");
        }
        return e;
    }

    @Override
    public ByteBuffer float32Buffer(String name) {
        float[] values = readFloats(name);
        ByteBuffer out = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
        out.asFloatBuffer().put(values);
        return out;
    }

    @Override
    public float[] readFloats(String name) {
        return toFloats(entry(name));
    }

    /**
     * Streams a range of a contiguous tensor from its (stored, uncompressed) zip entry, widening block by block;
     * no buffer of the whole tensor, so the 2.5 GB (as float32) embedding of Qwen-VL-Chat loads. Strided views
     * (rare in state dicts) go through {@link #readFloats}.
     */
    @Override
    public void readFloat32Range(String name, ByteBuffer target, long fromElement, long count) {
        Entry e = entry(name);
        TorchPickle.TensorRef t = e.tensor();
        TensorDType dtype = t.storage().dtype();
        long total = e.info().elementCount();
        e.info().checkRange(fromElement, count, target.capacity());
        if (!isContiguous(t) || !dtype.isFloatingPoint()) {
            TensorStore.super.readFloat32Range(name, target, fromElement, count);
            return;
        }
        if (t.offset() < 0 || t.offset() + total > t.storage().numel()) {
            throw new CheckpointException("Tensor '" + name + "' in " + e.file() + " reads past its storage");
        }
        int size = dtype.byteSize();
        java.nio.FloatBuffer out = target.duplicate().order(ByteOrder.nativeOrder()).asFloatBuffer();
        ZipEntry data = e.zip().getEntry(e.dataPrefix() + "data/" + t.storage().key());
        byte[] block = new byte[1 << 20];
        float[] floats = new float[block.length / size];
        try (InputStream in = e.zip().getInputStream(data)) {
            in.skipNBytes((t.offset() + fromElement) * size);
            long left = count;
            while (left > 0) {
                int n = (int) Math.min(floats.length, left);
                int read = in.readNBytes(block, 0, n * size);
                if (read != n * size) {
                    throw new CheckpointException("Storage of tensor '" + name + "' in " + e.file() + " is truncated");
                }
                ByteBuffer b = ByteBuffer.wrap(block, 0, read).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    floats[i] = element(b, dtype, i * size);
                }
                out.put(floats, 0, n);
                left -= n;
            }
        } catch (IOException ex) {
            throw new CheckpointException("Cannot read storage of tensor '" + name + "' in " + e.file() + ": "
                    + ex.getMessage(), ex);
        }
    }

    private static boolean isContiguous(TorchPickle.TensorRef t) {
        long expected = 1;
        for (int d = t.shape().length - 1; d >= 0; d--) {
            if (t.shape()[d] != 1 && t.stride()[d] != expected) {
                return false;
            }
            expected *= t.shape()[d];
        }
        return true;
    }

    private static float[] toFloats(Entry e) {
        TorchPickle.TensorRef t = e.tensor();
        TensorDType dtype = t.storage().dtype();
        int size = dtype.byteSize();
        long count = e.info().elementCount();
        if (count * Math.max(4, size) > Integer.MAX_VALUE - 8) {
            throw new CheckpointException("Tensor '" + e.info().name() + "' in " + e.file() + " is too large for one buffer");
        }
        // the span of the storage the tensor reads: offset .. offset + max index
        long maxIndex = 0;
        for (int d = 0; d < t.shape().length; d++) {
            if (t.shape()[d] == 0) {
                return new float[0];
            }
            maxIndex += (t.shape()[d] - 1) * t.stride()[d];
        }
        long first = t.offset();
        long spanElements = count == 0 ? 0 : maxIndex + 1;
        if (first < 0 || first + spanElements > t.storage().numel()) {
            throw new CheckpointException("Tensor '" + e.info().name() + "' in " + e.file() + " reads past its storage");
        }
        byte[] raw;
        ZipEntry data = e.zip().getEntry(e.dataPrefix() + "data/" + t.storage().key());
        try (InputStream in = e.zip().getInputStream(data)) {
            in.skipNBytes(first * size);
            raw = in.readNBytes(Math.toIntExact(spanElements * size));
        } catch (IOException ex) {
            throw new CheckpointException("Cannot read storage of tensor '" + e.info().name() + "' in " + e.file() + ": "
                    + ex.getMessage(), ex);
        }
        if (raw.length != spanElements * size) {
            throw new CheckpointException("Storage of tensor '" + e.info().name() + "' in " + e.file() + " is truncated");
        }
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) count];
        int rank = t.shape().length;
        boolean contiguous = true;
        long expected = 1;
        for (int d = rank - 1; d >= 0; d--) {
            contiguous &= t.shape()[d] == 1 || t.stride()[d] == expected;
            expected *= t.shape()[d];
        }
        if (contiguous) {
            for (int i = 0; i < out.length; i++) {
                out[i] = element(b, dtype, i * size);
            }
            return out;
        }
        long[] idx = new long[rank];
        for (int i = 0; i < out.length; i++) {
            long at = 0;
            for (int d = 0; d < rank; d++) {
                at += idx[d] * t.stride()[d];
            }
            int p = (int) (at * size);
            out[i] = element(b, dtype, p);
            for (int d = rank - 1; d >= 0; d--) {
                if (++idx[d] < t.shape()[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }

    private static float element(ByteBuffer b, TensorDType dtype, int p) {
        return switch (dtype) {
            case F32 -> b.getFloat(p);
            case F64 -> (float) b.getDouble(p);
            case F16 -> SafetensorsFile.f16ToFloat(b.getShort(p));
            case BF16 -> SafetensorsFile.bf16ToFloat(b.getShort(p));
            case I64 -> (float) b.getLong(p);
            case I32 -> (float) b.getInt(p);
            case I16 -> (float) b.getShort(p);
            case I8 -> (float) b.get(p);
            case U8, BOOL -> (float) (b.get(p) & 0xFF);
        };
    }

    private static void closeQuietly(ZipFile z) {
        try {
            z.close();
        } catch (IOException ignored) {
            // closing a read-only zip
        }
    }

    @Override
    public void close() {
        for (ZipFile z : zips) {
            closeQuietly(z);
        }
    }
}
