package io.github.qwenvl.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A memory-mapped reader of one {@code .safetensors} file.
 *
 * <p>Why not DJL's {@code NDList.decode}: it reads the whole file into one {@code byte[]} (2 GiB
 * cap) and cannot represent BF16, which DJL 0.36's PyTorch engine aborts on. Here the header is
 * validated completely before any data is touched (every offset inside the file, every byte length
 * equal to shape × dtype width), so a corrupt file is a {@link CheckpointException}, never a JVM
 * crash, and tensor data is mapped lazily, tensor by tensor.
 *
 * <p>Layout: 8-byte little-endian header length N, N bytes of JSON
 * ({@code name → {dtype, shape, data_offsets: [begin, end)}} plus optional {@code __metadata__}),
 * then the data section.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** Headers of real checkpoints are well under 1 MiB; refuse absurd sizes before allocating. */
    private static final long MAX_HEADER_BYTES = 100L << 20;
    /** Largest region mapped at once (a MappedByteBuffer is int-indexed). */
    static final long MAX_MAP_BYTES = 1L << 30;
    /**
     * The mapping limit of this file ({@link io.github.qwenvl.EngineTuning#mapLimitBytes}): at most {@link #MAX_MAP_BYTES};
     * tests lower it to run the chunked paths of {@link #readFloats} / {@link #float32Buffer} without gigabyte files.
     */
    private final long mapLimitBytes;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata, long mapLimitBytes) {
        this.mapLimitBytes = Math.min(MAX_MAP_BYTES, mapLimitBytes);
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates a safetensors file; tensor data stays on disk until read. */
    public static SafetensorsFile open(Path path) {
        return open(path, MAX_MAP_BYTES);
    }

    /** As {@link #open(Path)}, mapping at most {@code mapLimitBytes} at once (larger tensors are read in chunks). */
    public static SafetensorsFile open(Path path, long mapLimitBytes) {
        if (mapLimitBytes < 1) {
            throw new IllegalArgumentException("mapLimitBytes must be positive");
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("Safetensors file not found: " + path);
        } catch (IOException e) {
            throw new CheckpointException("Cannot open safetensors file " + path + ": " + e.getMessage(), e);
        }
        try {
            return readHeader(path, channel, mapLimitBytes);
        } catch (RuntimeException | IOException e) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // already failing
            }
            if (e instanceof CheckpointException ce) {
                throw ce;
            }
            throw CheckpointException.corrupt(path, null, e.getMessage());
        }
    }

    private static SafetensorsFile readHeader(Path path, FileChannel channel, long mapLimitBytes) throws IOException {
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw CheckpointException.corrupt(path, null, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, lengthBytes, 0);
        long headerLength = lengthBytes.getLong(0);
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || headerLength > fileSize - 8) {
            throw CheckpointException.corrupt(path, null, "header length " + Long.toUnsignedString(headerLength)
                    + " is past the end of the file (" + fileSize + " bytes) or implausible");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
        readFully(channel, headerBytes, 8);
        JsonObject header;
        try {
            JsonElement parsed = JsonParser.parseString(new String(headerBytes.array(), StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw CheckpointException.corrupt(path, null, "header is not a JSON object");
            }
            header = parsed.getAsJsonObject();
        } catch (RuntimeException e) {
            if (e instanceof CheckpointException ce) {
                throw ce;
            }
            throw CheckpointException.corrupt(path, null, "header is not valid JSON (" + e.getMessage() + ")");
        }
        long dataStart = 8 + headerLength;
        long dataSize = fileSize - dataStart;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> entry : header.entrySet()) {
            String name = entry.getKey();
            if (name.equals("__metadata__")) {
                if (entry.getValue().isJsonObject()) {
                    entry.getValue().getAsJsonObject().entrySet().forEach(
                            m -> metadata.put(m.getKey(), m.getValue().isJsonPrimitive() ? m.getValue().getAsString() : m.getValue().toString()));
                }
                continue;
            }
            tensors.put(name, parseEntry(path, name, entry.getValue(), dataSize));
        }
        return new SafetensorsFile(path, channel, dataStart, Collections.unmodifiableMap(tensors),
                Collections.unmodifiableMap(metadata), mapLimitBytes);
    }

    private static TensorInfo parseEntry(Path path, String name, JsonElement element, long dataSize) {
        try {
            JsonObject o = element.getAsJsonObject();
            String dtypeName = o.get("dtype").getAsString();
            TensorDType dtype = TensorDType.parse(dtypeName);
            if (dtype == null) {
                throw CheckpointException.corrupt(path, name, "unknown dtype '" + dtypeName + "'");
            }
            var shapeJson = o.getAsJsonArray("shape");
            long[] shape = new long[shapeJson.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = exactLong(path, name, "shape", shapeJson.get(i));
                if (shape[i] < 0) {
                    throw CheckpointException.corrupt(path, name, "negative dimension " + shape[i]);
                }
                try {
                    elements = Math.multiplyExact(elements, shape[i]);
                } catch (ArithmeticException overflow) {
                    throw CheckpointException.corrupt(path, name, "element count of shape " + shapeJson
                            + " overflows a 64-bit integer");
                }
            }
            var offsets = o.getAsJsonArray("data_offsets");
            if (offsets == null || offsets.size() != 2) {
                throw CheckpointException.corrupt(path, name, "data_offsets must be [begin, end]");
            }
            long begin = exactLong(path, name, "data_offsets", offsets.get(0));
            long end = exactLong(path, name, "data_offsets", offsets.get(1));
            if (begin < 0 || end < begin || end > dataSize) {
                throw CheckpointException.corrupt(path, name, "data_offsets [" + begin + ", " + end
                        + ") lie outside the data section of " + dataSize + " bytes (truncated file?)");
            }
            long expected;
            try {
                expected = Math.multiplyExact(elements, dtype.byteSize());
            } catch (ArithmeticException overflow) {
                throw CheckpointException.corrupt(path, name, "byte length of shape " + shapeJson + " x " + dtype
                        + " overflows a 64-bit integer");
            }
            if (end - begin != expected) {
                throw CheckpointException.corrupt(path, name, "byte length " + (end - begin) + " does not match shape "
                        + java.util.Arrays.toString(shape) + " x " + dtype + " = " + expected + " bytes");
            }
            return new TensorInfo(name, dtype, shape, begin, end - begin);
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw CheckpointException.corrupt(path, name, "malformed header entry " + element + " (" + e + ")");
        }
    }

    /** A JSON number that is an integer within the long range (no silent truncation or wrap-around). */
    private static long exactLong(Path path, String name, String field, JsonElement e) {
        try {
            if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
                return e.getAsBigDecimal().longValueExact();
            }
        } catch (ArithmeticException | NumberFormatException ignored) {
            // reported below
        }
        throw CheckpointException.corrupt(path, name, field + " value " + e + " is not an integer in the 64-bit range");
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor entries in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new CheckpointException("Tensor '" + name + "' is not in " + path + " (" + tensors.size() + " tensors)");
        }
        return info;
    }

    /**
     * The raw little-endian bytes of a tensor, memory-mapped read-only (no copy). Throws for tensors
     * over 1 GiB; use {@link #readFloats} or {@link #float32Buffer} which work in chunks.
     */
    public ByteBuffer bytes(String name) {
        TensorInfo info = info(name);
        if (info.length() > mapLimitBytes) {
            throw new CheckpointException("Tensor '" + name + "' in " + path + " is " + info.length()
                    + " bytes, too large for a single mapping");
        }
        return map(info, 0, info.length());
    }

    /**
     * Bytes [from, from + length) of a tensor's data, memory-mapped read-only and little-endian (no copy); at
     * most 1 GiB per call. Lets callers map a large tensor in pieces (e.g. whole rows of a matrix).
     */
    public ByteBuffer bytes(String name, long from, long length) {
        TensorInfo info = info(name);
        if (from < 0 || length < 0 || from + length > info.length()) {
            throw new IndexOutOfBoundsException("bytes [" + from + ", " + (from + length) + ") of tensor '" + name
                    + "' (" + info.length() + " bytes)");
        }
        if (length > mapLimitBytes) {
            throw new CheckpointException("Cannot map " + length + " bytes of tensor '" + name + "' at once (limit "
                    + mapLimitBytes + ")");
        }
        return map(info, from, length);
    }

    /** The mapping limit per region, see {@link #bytes(String, long, long)}. */
    public long maxMapBytes() {
        return mapLimitBytes;
    }

    private ByteBuffer map(TensorInfo info, long from, long length) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.offset() + from, length)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException("Cannot map tensor '" + info.name() + "' of " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * The tensor as float32 in a direct, native-order buffer, suitable for
     * {@code NDManager.create(buffer, shape, FLOAT32)}. F32 data is returned as the mapped file
     * region itself (zero copy: never modify it in place); F16/BF16/F64 are widened into a new
     * direct buffer. BF16 → F32 is exact ({@code bits << 16}).
     */
    public ByteBuffer float32Buffer(String name) {
        TensorInfo info = info(name);
        if (info.dtype() == TensorDType.F32 && info.length() <= mapLimitBytes
                && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            return map(info, 0, info.length()).order(ByteOrder.nativeOrder());
        }
        long count = info.elementCount();
        if (count * 4 > Integer.MAX_VALUE) {
            throw new CheckpointException("Tensor '" + name + "' in " + path + " has " + count
                    + " elements, more than one float32 buffer can hold");
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) (count * 4)).order(ByteOrder.nativeOrder());
        widenInto(info, (index, value) -> out.putFloat(index * 4, value));
        return out;
    }

    /**
     * True when {@link #float32Buffer} can hand out the file's own bytes (F32 stored little-endian,
     * within one mapping): no copy at all.
     */
    public boolean isZeroCopyFloat32(String name) {
        TensorInfo info = info(name);
        return info.dtype() == TensorDType.F32 && info.length() <= mapLimitBytes
                && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    }

    /**
     * Widens elements [fromElement, fromElement + count) of a BF16/F16/F32 tensor to float32 into {@code target}
     * (native byte order, at least count × 4 bytes): one slice of a tensor filled by several threads.
     */
    public void readFloat32Range(String name, ByteBuffer target, long fromElement, long count) {
        TensorInfo info = info(name);
        if (info.dtype() != TensorDType.BF16 && info.dtype() != TensorDType.F16 && info.dtype() != TensorDType.F32) {
            throw new IllegalArgumentException("tensor '" + name + "' is " + info.dtype() + "; ranges are for float types");
        }
        info.checkRange(fromElement, count, target.capacity());
        widenBulk(info, target.duplicate().order(ByteOrder.nativeOrder()).asFloatBuffer(), fromElement, count);
    }

    /** Elements converted per block: arrays small enough for the cache, large enough to amortise the calls. */
    private static final int BLOCK = 1 << 16;

    /**
     * Bulk 16/32-bit float → float32 through small heap arrays (JIT-vectorised loops instead of one
     * buffer call per element, which would be far slower than the disk).
     */
    private void widenBulk(TensorInfo info, java.nio.FloatBuffer out, long fromElement, long elementCount) {
        int width = info.dtype().byteSize();
        // Positional reads into a small heap block rather than a mapping: a mapped region stays resident, and
        // counts in the process's RSS, until its buffer is garbage-collected — for every tensor of a load.
        // scratch sized to the range: a load fills hundreds of norm and bias vectors of a few thousand elements, and
        // full-size blocks for each would make enough garbage to make G1 grow the heap
        int scratch = (int) Math.min(BLOCK, elementCount);
        ByteBuffer block = ByteBuffer.allocate(scratch * width).order(ByteOrder.LITTLE_ENDIAN);
        short[] halves = new short[scratch];
        float[] floats = new float[scratch];
        boolean bf16 = info.dtype() == TensorDType.BF16;
        long position = dataStart + info.offset() + fromElement * width;
        long left = elementCount;
        while (left > 0) {
            int count = (int) Math.min(scratch, left);
            block.clear().limit(count * width);
            readFully(info, block, position);
            block.flip();
            if (info.dtype() == TensorDType.F32) {
                block.asFloatBuffer().get(floats, 0, count);
            } else {
                block.asShortBuffer().get(halves, 0, count);
                if (bf16) {
                    for (int i = 0; i < count; i++) {
                        floats[i] = Float.intBitsToFloat(halves[i] << 16);
                    }
                } else {
                    for (int i = 0; i < count; i++) {
                        floats[i] = f16ToFloat(halves[i]);
                    }
                }
            }
            out.put(floats, 0, count);
            position += (long) count * width;
            left -= count;
        }
    }

    /** Fills {@code buffer} from the file at {@code position} (thread-safe positional reads). */
    private void readFully(TensorInfo info, ByteBuffer buffer, long position) {
        try {
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, position);
                if (n < 0) {
                    throw new CheckpointException("Tensor '" + info.name() + "' of " + path + " is truncated");
                }
                position += n;
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot read tensor '" + info.name() + "' of " + path + ": " + e.getMessage(), e);
        }
    }

    /** The tensor widened to a float array (F32/F16/BF16/F64 and integer types). */
    public float[] readFloats(String name) {
        TensorInfo info = info(name);
        long count = info.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new CheckpointException("Tensor '" + name + "' in " + path + " is too large for a float[]");
        }
        float[] out = new float[(int) count];
        widenInto(info, (index, value) -> out[index] = value);
        return out;
    }

    /** An integer tensor (I64/I32/I16/I8/U8/BOOL) as longs. */
    public long[] readLongs(String name) {
        TensorInfo info = info(name);
        if (info.dtype().isFloatingPoint()) {
            throw new CheckpointException("Tensor '" + name + "' in " + path + " is " + info.dtype() + ", not an integer tensor");
        }
        long count = info.elementCount();
        long[] out = new long[Math.toIntExact(count)];
        ByteBuffer b = bytes(name);
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (info.dtype()) {
                case I64 -> b.getLong(i * 8);
                case I32 -> b.getInt(i * 4);
                case I16 -> b.getShort(i * 2);
                case I8 -> b.get(i);
                case U8, BOOL -> b.get(i) & 0xFF;
                default -> throw new IllegalStateException();
            };
        }
        return out;
    }

    @FunctionalInterface
    private interface FloatSink {
        void put(int index, float value);
    }

    private void widenInto(TensorInfo info, FloatSink sink) {
        int width = info.dtype().byteSize();
        // Map in chunks of whole elements so tensors over 2 GiB still read.
        long chunkBytes = Math.max(width, (mapLimitBytes / width) * width);
        int index = 0;
        for (long from = 0; from < info.length(); from += chunkBytes) {
            long length = Math.min(chunkBytes, info.length() - from);
            ByteBuffer b = map(info, from, length);
            int n = (int) (length / width);
            switch (info.dtype()) {
                case F32 -> {
                    for (int i = 0; i < n; i++) sink.put(index++, b.getFloat(i * 4));
                }
                case BF16 -> {
                    for (int i = 0; i < n; i++) sink.put(index++, bf16ToFloat(b.getShort(i * 2)));
                }
                case F16 -> {
                    for (int i = 0; i < n; i++) sink.put(index++, f16ToFloat(b.getShort(i * 2)));
                }
                case F64 -> {
                    for (int i = 0; i < n; i++) sink.put(index++, (float) b.getDouble(i * 8));
                }
                case I64 -> {
                    for (int i = 0; i < n; i++) sink.put(index++, b.getLong(i * 8));
                }
                case I32 -> {
                    for (int i = 0; i < n; i++) sink.put(index++, b.getInt(i * 4));
                }
                case I16 -> {
                    for (int i = 0; i < n; i++) sink.put(index++, b.getShort(i * 2));
                }
                case I8 -> {
                    for (int i = 0; i < n; i++) sink.put(index++, b.get(i));
                }
                case U8, BOOL -> {
                    for (int i = 0; i < n; i++) sink.put(index++, b.get(i) & 0xFF);
                }
            }
        }
    }

    /** Exact: bfloat16 is the top half of a float32. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** IEEE half → float (Java 17 has no Float.float16ToFloat). */
    public static float f16ToFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal half: value = mantissa * 2^-24
            float v = mantissa * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // read-only channel; nothing to flush
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
