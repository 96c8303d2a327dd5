package io.github.qwenvl.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * All safetensors weights of a model directory: a single {@code model.safetensors}, or the shards
 * listed by {@code model.safetensors.index.json} ({@code weight_map: name → shard file}), looked up
 * by their published tensor names.
 */
public final class SafetensorsCheckpoint implements TensorStore {

    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path directory;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;

    private final long mapLimitBytes;

    private SafetensorsCheckpoint(Path directory, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor,
                                  long mapLimitBytes) {
        this.mapLimitBytes = Math.min(SafetensorsFile.MAX_MAP_BYTES, mapLimitBytes);
        this.directory = directory;
        this.files = files;
        this.byTensor = byTensor;
    }

    /** True when the directory holds safetensors weights (single file or an index). */
    public static boolean isPresent(Path directory) {
        if (Files.isRegularFile(directory.resolve(INDEX_FILE))) {
            return true;
        }
        try (Stream<Path> s = Files.list(directory)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p));
        } catch (IOException e) {
            return false;
        }
    }

    public static SafetensorsCheckpoint open(Path directory) {
        return open(directory, io.github.qwenvl.EngineTuning.DEFAULTS.mapLimitBytes());
    }

    /** @param mapLimitBytes largest region of a file mapped at once ({@link SafetensorsFile#open(Path, long)}) */
    public static SafetensorsCheckpoint open(Path directory, long mapLimitBytes) {
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
            Path index = directory.resolve(INDEX_FILE);
            if (Files.isRegularFile(index)) {
                JsonObject weightMap = readWeightMap(index);
                if (weightMap.size() == 0) {
                    throw new CheckpointException(index + " lists no tensors (empty weight_map)");
                }
                // Absolute, so that a relative directory such as "." still contains its shards.
                Path root = directory.toAbsolutePath().normalize();
                Map<Path, SafetensorsFile> shards = new LinkedHashMap<>();
                for (Map.Entry<String, JsonElement> e : weightMap.entrySet()) {
                    JsonElement value = e.getValue();
                    if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
                        throw new CheckpointException(index + ": weight_map entry for tensor '" + e.getKey()
                                + "' is " + value + ", not a shard file name");
                    }
                    String shardName = value.getAsString();
                    Path shardPath;
                    try {
                        shardPath = root.resolve(shardName).normalize();
                    } catch (java.nio.file.InvalidPathException bad) {
                        throw new CheckpointException(index + ": invalid shard file name '" + shardName
                                + "' for tensor '" + e.getKey() + "'");
                    }
                    if (!shardPath.startsWith(root) || shardPath.equals(root)) {
                        throw new CheckpointException(index + " points outside the model directory: " + shardName);
                    }
                    SafetensorsFile shard = shards.computeIfAbsent(shardPath, n -> {
                        if (!Files.isRegularFile(shardPath)) {
                            throw new CheckpointException("Shard " + shardName + " listed in " + index + " is missing");
                        }
                        SafetensorsFile f = SafetensorsFile.open(shardPath, mapLimitBytes);
                        opened.add(f);
                        return f;
                    });
                    if (!shard.contains(e.getKey())) {
                        throw new CheckpointException("Tensor '" + e.getKey() + "' is listed in " + index
                                + " under " + shardName + " but that shard does not hold it");
                    }
                    byTensor.put(e.getKey(), shard);
                }
            } else {
                List<Path> candidates;
                try (Stream<Path> s = Files.list(directory)) {
                    candidates = s.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                            .filter(Files::isRegularFile).sorted().toList();
                } catch (IOException e) {
                    throw new CheckpointException("Cannot list model directory " + directory + ": " + e.getMessage(), e);
                }
                if (candidates.isEmpty()) {
                    throw new CheckpointException("No *.safetensors weights (and no " + INDEX_FILE + ") in " + directory);
                }
                for (Path p : candidates) {
                    SafetensorsFile f = SafetensorsFile.open(p, mapLimitBytes);
                    opened.add(f);
                    for (String name : f.tensors().keySet()) {
                        SafetensorsFile previous = byTensor.putIfAbsent(name, f);
                        if (previous != null) {
                            throw new CheckpointException("Tensor '" + name + "' is in both " + previous.path() + " and " + p);
                        }
                    }
                }
            }
            return new SafetensorsCheckpoint(directory, List.copyOf(opened), Collections.unmodifiableMap(byTensor),
                    mapLimitBytes);
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static JsonObject readWeightMap(Path index) {
        try {
            JsonObject root = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
            JsonObject map = root.getAsJsonObject("weight_map");
            if (map == null) {
                throw new CheckpointException(index + " has no weight_map");
            }
            return map;
        } catch (IOException | RuntimeException e) {
            if (e instanceof CheckpointException ce) {
                throw ce;
            }
            throw new CheckpointException("Cannot read " + index + ": " + e.getMessage(), e);
        }
    }

    public Path directory() {
        return directory;
    }

    /** The safetensors files, in the order they were opened. */
    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    public Set<String> names() {
        return byTensor.keySet();
    }

    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    /** Float32 view or widened copy, see {@link SafetensorsFile#float32Buffer}. */
    public ByteBuffer float32Buffer(String name) {
        return file(name).float32Buffer(name);
    }

    /** See {@link SafetensorsFile#isZeroCopyFloat32}. */
    public boolean isZeroCopyFloat32(String name) {
        return file(name).isZeroCopyFloat32(name);
    }

    /** See {@link SafetensorsFile#readFloat32Range}; integer tensors go through {@link #readFloats}. */
    @Override
    public void readFloat32Range(String name, ByteBuffer target, long fromElement, long count) {
        TensorDType dtype = info(name).dtype();
        if (dtype == TensorDType.BF16 || dtype == TensorDType.F16 || dtype == TensorDType.F32) {
            file(name).readFloat32Range(name, target, fromElement, count);
        } else {
            TensorStore.super.readFloat32Range(name, target, fromElement, count);
        }
    }

    /** See {@link SafetensorsFile#bytes(String, long, long)}. */
    public ByteBuffer bytes(String name, long from, long length) {
        return file(name).bytes(name, from, length);
    }

    public float[] readFloats(String name) {
        return file(name).readFloats(name);
    }

    private SafetensorsFile file(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new CheckpointException("Missing weight '" + name + "' in " + directory
                    + " (the checkpoint has " + byTensor.size() + " tensors; is it the right architecture?)");
        }
        return f;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    /** Largest region of a file this checkpoint maps at once. */
    public long mapLimitBytes() {
        return mapLimitBytes;
    }
}
