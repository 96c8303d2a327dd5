package io.github.qwenvl.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Test helper: writes state dicts the way {@code torch.save} does (zip, STORED entries {@code archive/data.pkl},
 * {@code archive/byteorder}, {@code archive/data/<key>}, {@code archive/version}; pickle protocol 2 with
 * {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2} and BINPERSID typed storages), and
 * raw hostile pickles.
 */
public final class TorchZipWriter {

    /** A tensor to save: raw little-endian storage bytes and its view. */
    public record Tensor(String storageType, byte[] storage, long numel, long offset, long[] shape, long[] stride) {
        public static Tensor contiguous(String storageType, byte[] storage, long[] shape) {
            long[] stride = new long[shape.length];
            long s = 1;
            for (int d = shape.length - 1; d >= 0; d--) {
                stride[d] = s;
                s *= shape[d];
            }
            return new Tensor(storageType, storage, s, 0, shape, stride);
        }
    }

    private TorchZipWriter() {
    }

    /** A pickle byte stream under construction. */
    public static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        public Pickle op(int code) {
            out.write(code);
            return this;
        }

        public Pickle proto() {
            return op(0x80).op(2);
        }

        public Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        public Pickle string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        public Pickle integer(long v) {
            if (v >= 0 && v < 256) {
                return op('K').op((int) v);
            }
            if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                op('J');
                out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
                return this;
            }
            op(0x8a).op(8);
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        public Pickle tuple(long[] values) {
            op('(');
            for (long v : values) {
                integer(v);
            }
            return op('t');
        }

        public byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** The data.pkl of a state dict whose tensor i uses storage key String.valueOf(i). */
    public static byte[] statePickle(Map<String, Tensor> tensors) {
        Pickle p = new Pickle().proto().global("collections", "OrderedDict").op(')').op('R').op('q').op(0).op('(');
        int key = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            p.string(e.getKey());
            p.global("torch._utils", "_rebuild_tensor_v2").op('(');
            p.op('(').string("storage").global("torch", t.storageType()).string(String.valueOf(key++)).string("cpu")
                    .integer(t.numel()).op('t').op('Q');
            p.integer(t.offset()).tuple(t.shape()).tuple(t.stride()).op(0x89);
            p.global("collections", "OrderedDict").op(')').op('R');
            p.op('t').op('R');
        }
        p.op('u');
        // the _metadata attribute torch stores with a state dict (BUILD with a dict of dicts)
        p.op('}').string("_metadata").global("collections", "OrderedDict").op(')').op('R')
                .string("").op('}').string("version").integer(1).op('s').op('s').op('s').op('b');
        return p.op('.').bytes();
    }

    public static void write(Path file, Map<String, Tensor> tensors) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", statePickle(tensors));
        entries.put("archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        int key = 0;
        for (Tensor t : tensors.values()) {
            entries.put("archive/data/" + key++, t.storage());
        }
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        writeZip(file, entries);
    }

    public static void writeZip(Path file, Map<String, byte[]> entries) {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                z.setMethod(ZipEntry.STORED);
                z.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                z.setCrc(crc.getValue());
                zip.putNextEntry(z);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Converts a safetensors file's tensors (raw bytes kept, same dtype) into torch.save shards. */
    public static void convert(SafetensorsFile from, List<Path> shards, Map<String, Integer> shardOf) {
        List<Map<String, Tensor>> parts = new java.util.ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            parts.add(new LinkedHashMap<>());
        }
        for (String name : from.tensors().keySet()) {
            TensorInfo info = from.info(name);
            String type = switch (info.dtype()) {
                case BF16 -> "BFloat16Storage";
                case F16 -> "HalfStorage";
                case F32 -> "FloatStorage";
                default -> throw new IllegalArgumentException(info.dtype().toString());
            };
            ByteBuffer raw = from.bytes(name);
            byte[] bytes = new byte[raw.remaining()];
            raw.get(bytes);
            parts.get(shardOf.getOrDefault(name, 0)).put(name, Tensor.contiguous(type, bytes, info.shape()));
        }
        for (int i = 0; i < shards.size(); i++) {
            write(shards.get(i), parts.get(i));
        }
    }
}
