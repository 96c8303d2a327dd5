package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.WeightMatrix;
import io.github.qwenvl.qwen3vl.Qwen3VlConfig;
import io.github.qwenvl.testing.TestDevice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link Qwen2JavaDecoder#step(Qwen2JavaDecoder.State[], int[], long[])}: one batched decode step over several
 * sequences gives every sequence exactly (bit for bit) the logits of a single-sequence step on a twin state that
 * saw the same tokens alone. Exact, not within a tolerance: the batched kernels sum each row's products in the
 * single-vector kernels' order, so a sequence's logits (and greedy or seeded tokens) never depend on the batch it
 * runs in. Over the bundled tiny checkpoints (Qwen2-VL, Qwen2.5-VL with attention biases, Qwen3-VL with q/k norms),
 * BF16 as stored, the Q8 copies of {@code JAVA_INT8} and an F32 copy of a checkpoint; both kernel sets; three
 * threads (an odd count); sequences of mixed lengths and positions joining and leaving between steps, batches of
 * 1 to 8 in changing orders.
 */
class BatchedDecodeStepTest {

    private static final NDManager MANAGER = NDManager.newBaseManager(TestDevice.device());

    @AfterAll
    static void close() {
        MANAGER.close();
    }

    private static Path fixture(String set) {
        Path root = Path.of("..", "fixtures").toAbsolutePath().normalize();
        return root.resolve(set).resolve("model");
    }

    private static Qwen2TextConfig textConfig(Path dir) {
        ModelConfig config = ModelConfig.load(dir);
        return dir.toString().contains("qwen3") ? Qwen3VlConfig.of(config).text() : Qwen2VlConfig.of(config).text();
    }

    /** A decoder over {@code dir}'s weights (its own loader and mapping), the caller closes it. */
    private static Qwen2JavaDecoder decoder(Path dir, Kernels kernels, boolean int8) {
        Qwen2TextConfig text = textConfig(dir);
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
        NDManager manager = MANAGER.newSubManager();
        WeightLoader weights = new WeightLoader(ckpt, manager, DataType.FLOAT32);
        float[] inv = RotaryTables.inverseFrequencies(manager, text.headDim(), text.ropeTheta());
        return Qwen2JavaDecoder.create(text, weights, inv, kernels, 3, int8);
    }

    private static List<Kernels> kernelSets() {
        List<Kernels> all = new ArrayList<>();
        all.add(Kernels.get());
        if (Kernels.vectorized()) {
            all.add(Kernels.scalar());
        }
        return all;
    }

    @Test
    void batchedStepsEqualSingleStepsBf16() {
        for (String set : new String[] {"qwen2-vl-tiny", "qwen2_5-vl-tiny", "qwen3-vl-tiny"}) {
            for (Kernels k : kernelSets()) {
                try (Qwen2JavaDecoder decoder = decoder(fixture(set), k, false)) {
                    assertThat(decoder.weightFormat()).isEqualTo(WeightMatrix.Format.BF16);
                    checkSchedule(decoder, set + " BF16 " + k.name());
                }
            }
        }
    }

    @Test
    void batchedStepsEqualSingleStepsQ8() {
        for (String set : new String[] {"qwen2-vl-tiny", "qwen3-vl-tiny"}) {
            for (Kernels k : kernelSets()) {
                try (Qwen2JavaDecoder decoder = decoder(fixture(set), k, true)) {
                    assertThat(decoder.weightFormat()).isEqualTo(WeightMatrix.Format.Q8);
                    checkSchedule(decoder, set + " Q8 " + k.name());
                }
            }
        }
    }

    @Test
    void batchedStepsEqualSingleStepsQ4() {
        for (String set : new String[] {"qwen2_5-vl-tiny", "qwen3-vl-tiny"}) {
            for (Kernels k : kernelSets()) {
                Path dir = fixture(set);
                Qwen2TextConfig text = textConfig(dir);
                SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
                WeightLoader weights = new WeightLoader(ckpt, MANAGER.newSubManager(), DataType.FLOAT32);
                float[] inv = RotaryTables.inverseFrequencies(weights.manager(), text.headDim(), text.ropeTheta());
                try (Qwen2JavaDecoder decoder = Qwen2JavaDecoder.create(text, weights, inv, k, 3,
                        WeightMatrix.Format.Q4, new io.github.qwenvl.nn.cpu.MappedMatrices(ckpt),
                        io.github.qwenvl.EngineTuning.DEFAULTS.kvPageElements())) {
                    assertThat(decoder.weightFormat()).isEqualTo(WeightMatrix.Format.Q4);
                    checkSchedule(decoder, set + " Q4 " + k.name());
                }
            }
        }
    }

    @Test
    void batchedStepsEqualSingleStepsF32(@TempDir Path dir) throws IOException {
        Path source = fixture("qwen2_5-vl-tiny");
        writeFloat32Copy(source, dir);
        for (Kernels k : kernelSets()) {
            try (Qwen2JavaDecoder decoder = decoder(dir, k, false)) {
                assertThat(decoder.weightFormat()).isEqualTo(WeightMatrix.Format.F32);
                checkSchedule(decoder, "F32 " + k.name());
            }
        }
    }

    /**
     * Eight sequences with caches of 0 to 20 random tokens (the twins load the same values), stepped through batches
     * that change between steps: sequences join and leave, the order changes, sizes 1 to 8. After every batched step,
     * each member's logits equal its twin's single step exactly, and the lengths advance only for the members.
     */
    private static void checkSchedule(Qwen2JavaDecoder decoder, String what) {
        Qwen2TextConfig text = decoderConfig(decoder);
        Random random = new Random(5);
        int n = 8;
        int[] context = {0, 3, 1, 20, 7, 12, 5, 9};
        Qwen2JavaDecoder.State[] batched = new Qwen2JavaDecoder.State[n];
        Qwen2JavaDecoder.State[] alone = new Qwen2JavaDecoder.State[n];
        long[] position = new long[n];
        for (int i = 0; i < n; i++) {
            batched[i] = decoder.newState(64);
            alone[i] = decoder.newState(64);
            if (context[i] > 0) {
                int kv = text.numKeyValueHeads() * context[i] * text.headDim();
                for (int l = 0; l < text.numLayers(); l++) {
                    float[] keys = new float[kv];
                    float[] values = new float[kv];
                    for (int e = 0; e < kv; e++) {
                        keys[e] = (float) random.nextGaussian();
                        values[e] = (float) random.nextGaussian();
                    }
                    batched[i].load(l, keys, values, context[i]);
                    alone[i].load(l, keys.clone(), values.clone(), context[i]);
                }
            }
            // M-RoPE positions after an image run behind the cache length: a position of its own per sequence
            position[i] = context[i] + 3L * i;
        }
        int[][] schedule = {{0}, {0, 1}, {2, 0, 1}, {3, 1, 0, 2}, {4, 5, 6, 7, 0}, {7, 6, 5, 4, 3, 2, 1, 0},
            {1, 3, 5, 7, 0, 2}, {6, 4, 2, 0, 1, 3, 5}, {5}, {2, 7}, {0, 1, 2, 3, 4, 5, 6, 7}, {3, 6, 1}};
        TreeSet<Integer> sizes = new TreeSet<>();
        for (int[] members : schedule) {
            sizes.add(members.length);
            Qwen2JavaDecoder.State[] states = new Qwen2JavaDecoder.State[members.length];
            int[] tokens = new int[members.length];
            long[] positions = new long[members.length];
            int[] before = new int[n];
            for (int i = 0; i < n; i++) {
                before[i] = batched[i].length();
            }
            for (int m = 0; m < members.length; m++) {
                int i = members[m];
                states[m] = batched[i];
                tokens[m] = random.nextInt(text.vocabSize());
                positions[m] = position[i];
            }
            float[][] logits = decoder.step(states, tokens, positions);
            assertThat(logits.length).isEqualTo(members.length);
            for (int m = 0; m < members.length; m++) {
                int i = members[m];
                float[] expected = decoder.step(alone[i], tokens[m], positions[m]);
                assertThat(logits[m]).as("%s: sequence %d at position %d in a batch of %d", what, i, positions[m],
                        members.length).containsExactly(expected);
                position[i]++;
            }
            for (int i = 0; i < n; i++) {
                boolean member = false;
                for (int m : members) {
                    member |= m == i;
                }
                assertThat(batched[i].length()).isEqualTo(before[i] + (member ? 1 : 0))
                        .isEqualTo(alone[i].length());
            }
        }
        assertThat(sizes).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    }

    private static Qwen2TextConfig decoderConfig(Qwen2JavaDecoder decoder) {
        return decoder.config();
    }

    /** Refusals leave every state as it was; an empty batch is no step. */
    @Test
    void refusedStepsChangeNothing() {
        try (Qwen2JavaDecoder decoder = decoder(fixture("qwen2-vl-tiny"), Kernels.get(), false);
             Qwen2JavaDecoder other = decoder(fixture("qwen2-vl-tiny"), Kernels.get(), false)) {
            Qwen2JavaDecoder.State a = decoder.newState(8);
            Qwen2JavaDecoder.State b = decoder.newState(1);
            Qwen2JavaDecoder.State c = decoder.newState(8);
            decoder.step(b, 1, 0); // b is full now
            assertThatThrownBy(() -> decoder.step(new Qwen2JavaDecoder.State[] {a, a}, new int[] {1, 2}, new long[] {0, 0}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
            assertThatThrownBy(() -> decoder.step(new Qwen2JavaDecoder.State[] {a, b}, new int[] {1, 2}, new long[] {0, 1}))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("KV cache full");
            assertThatThrownBy(() -> decoder.step(new Qwen2JavaDecoder.State[] {a, other.newState(8)}, new int[] {1, 2},
                    new long[] {0, 0})).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> decoder.step(new Qwen2JavaDecoder.State[] {a, c}, new int[] {1, -1},
                    new long[] {0, 0})).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> decoder.step(new Qwen2JavaDecoder.State[] {a, c}, new int[] {1},
                    new long[] {0, 0})).isInstanceOf(IllegalArgumentException.class);
            assertThat(a.length()).isZero();
            assertThat(c.length()).isZero();
            assertThat(b.length()).isEqualTo(1);
            assertThat(decoder.step(new Qwen2JavaDecoder.State[0], new int[0], new long[0]).length).isZero();
            // the states still step normally, alone and batched alike
            float[] single = decoder.step(decoder.newState(8), 1, 0).clone();
            for (float[] logits : decoder.step(new Qwen2JavaDecoder.State[] {a, c}, new int[] {1, 1}, new long[] {0, 0})) {
                assertThat(logits).containsExactly(single);
            }
        }
    }

    /** The checkpoint in {@code source} with every tensor stored as float32 (safetensors, one file), and its config. */
    static void writeFloat32Copy(Path source, Path target) throws IOException {
        Files.copy(source.resolve("config.json"), target.resolve("config.json"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(source)) {
            List<String> names = new ArrayList<>(new TreeSet<>(ckpt.names()));
            JsonObject header = new JsonObject();
            long offset = 0;
            List<float[]> data = new ArrayList<>();
            for (String name : names) {
                float[] values = ckpt.readFloats(name);
                data.add(values);
                JsonObject entry = new JsonObject();
                entry.addProperty("dtype", "F32");
                com.google.gson.JsonArray shape = new com.google.gson.JsonArray();
                for (long d : ckpt.info(name).shape()) {
                    shape.add(d);
                }
                entry.add("shape", shape);
                com.google.gson.JsonArray offsets = new com.google.gson.JsonArray();
                offsets.add(offset);
                offsets.add(offset + 4L * values.length);
                entry.add("data_offsets", offsets);
                header.add(name, entry);
                offset += 4L * values.length;
            }
            byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
            int padded = (json.length + 7) / 8 * 8;
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(padded);
            out.put(json);
            for (int i = json.length; i < padded; i++) {
                out.put((byte) ' ');
            }
            for (float[] values : data) {
                for (float v : values) {
                    out.putFloat(v);
                }
            }
            out.flip();
            try (FileChannel ch = FileChannel.open(target.resolve("model.safetensors"), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                while (out.hasRemaining()) {
                    ch.write(out);
                }
            }
        }
    }
}
