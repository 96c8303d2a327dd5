package io.github.qwenvl.checkpoint;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.qwenvl.nn.cpu.DecodeThreads;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.MatVec;
import io.github.qwenvl.nn.cpu.WeightMatrix;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * AWQ and GPTQ layers written from known float weights in each published packing (written here by a packer of this
 * test, from the layout the reference implementations read: AutoAWQ's GEMM order, AutoGPTQ's v1 zeros) into a
 * safetensors file, read back through {@link PackedInt4}: every code, scale and zero lands on the right (output, input)
 * element, the dequantised values are exactly scale · (q − zero), and products over them match a double-precision
 * reference.
 */
class PackedInt4Test {

    @TempDir
    Path dir;

    /** A layer quantised as the 4-bit formats do: codes (out, in), zeros and float16 scales per (group, out). */
    record Quantized(int out, int in, int group, int[][] codes, int[][] zeros, short[][] scales, float[][] weights) {

        float value(int o, int i) {
            return PackedInt4.halfToFloat(scales[i / group][o]) * (codes[o][i] - zeros[i / group][o]);
        }
    }

    static Quantized quantize(Random random, int out, int in, int group, boolean symmetric, int minZero) {
        float[][] w = new float[out][in];
        int[][] q = new int[out][in];
        int groups = in / group;
        int[][] z = new int[groups][out];
        short[][] s = new short[groups][out];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                w[o][i] = (float) random.nextGaussian() * 0.02f + (o % 3 == 0 ? 0.01f : 0f);
            }
            for (int g = 0; g < groups; g++) {
                float min = 0f;
                float max = 0f;
                for (int i = g * group; i < (g + 1) * group; i++) {
                    min = Math.min(min, w[o][i]);
                    max = Math.max(max, w[o][i]);
                }
                float scale = symmetric ? Math.max(Math.abs(min), Math.abs(max)) / 7.5f : (max - min) / 15f;
                short half = floatToHalf(scale);
                float hs = PackedInt4.halfToFloat(half);
                int zero = symmetric ? 8 : Math.max(minZero, Math.min(15, Math.round(-min / hs)));
                s[g][o] = half;
                z[g][o] = zero;
                for (int i = g * group; i < (g + 1) * group; i++) {
                    q[o][i] = Math.max(0, Math.min(15, Math.round(w[o][i] / hs) + zero));
                }
            }
        }
        return new Quantized(out, in, group, q, z, s, w);
    }

    /** AWQ GEMM packing: along the output dimension, nibble p of a word holds column [0, 2, 4, 6, 1, 3, 5, 7][p]. */
    static void writeAwq(TestSafetensorsWriter writer, String base, Quantized l) {
        int[] order = {0, 2, 4, 6, 1, 3, 5, 7};
        int[] qweight = new int[l.in() * l.out() / 8];
        for (int i = 0; i < l.in(); i++) {
            for (int c = 0; c < l.out() / 8; c++) {
                int word = 0;
                for (int p = 0; p < 8; p++) {
                    word |= l.codes()[8 * c + order[p]][i] << (4 * p);
                }
                qweight[i * (l.out() / 8) + c] = word;
            }
        }
        int groups = l.in() / l.group();
        int[] qzeros = new int[groups * l.out() / 8];
        for (int g = 0; g < groups; g++) {
            for (int c = 0; c < l.out() / 8; c++) {
                int word = 0;
                for (int p = 0; p < 8; p++) {
                    word |= l.zeros()[g][8 * c + order[p]] << (4 * p);
                }
                qzeros[g * (l.out() / 8) + c] = word;
            }
        }
        writer.i32(base + ".qweight", new long[] {l.in(), l.out() / 8}, qweight);
        writer.i32(base + ".qzeros", new long[] {groups, l.out() / 8}, qzeros);
        writer.bits16(base + ".scales", "F16", new long[] {groups, l.out()}, flatten(l.scales()));
    }

    /** GPTQ packing: weights along the input dimension in order, zeros along the output; v1 stores zero − 1. */
    static void writeGptq(TestSafetensorsWriter writer, String base, Quantized l, boolean v1, int[] gIdx) {
        int[] qweight = new int[l.in() / 8 * l.out()];
        for (int r = 0; r < l.in() / 8; r++) {
            for (int o = 0; o < l.out(); o++) {
                int word = 0;
                for (int p = 0; p < 8; p++) {
                    word |= l.codes()[o][8 * r + p] << (4 * p);
                }
                qweight[r * l.out() + o] = word;
            }
        }
        int groups = l.in() / l.group();
        int[] qzeros = new int[groups * l.out() / 8];
        for (int g = 0; g < groups; g++) {
            for (int c = 0; c < l.out() / 8; c++) {
                int word = 0;
                for (int p = 0; p < 8; p++) {
                    word |= ((l.zeros()[g][8 * c + p] - (v1 ? 1 : 0)) & 0xF) << (4 * p);
                }
                qzeros[g * (l.out() / 8) + c] = word;
            }
        }
        writer.i32(base + ".qweight", new long[] {l.in() / 8, l.out()}, qweight);
        writer.i32(base + ".qzeros", new long[] {groups, l.out() / 8}, qzeros);
        writer.bits16(base + ".scales", "F16", new long[] {groups, l.out()}, flatten(l.scales()));
        writer.i32(base + ".g_idx", new long[] {l.in()}, gIdx);
    }

    private static int[] sequentialGroups(int in, int group) {
        int[] g = new int[in];
        for (int i = 0; i < in; i++) {
            g[i] = i / group;
        }
        return g;
    }

    private static short[] flatten(short[][] a) {
        short[] out = new short[a.length * a[0].length];
        for (int r = 0; r < a.length; r++) {
            System.arraycopy(a[r], 0, out, r * a[0].length, a[0].length);
        }
        return out;
    }

    private static JsonObject config(String json) {
        return JsonParser.parseString(json).getAsJsonObject();
    }

    private void assertReadsExactly(WeightMatrix m, Quantized l) {
        assertThat(m.format()).isEqualTo(WeightMatrix.Format.Q4);
        assertThat(m.rows()).isEqualTo(l.out());
        assertThat(m.cols()).isEqualTo(l.in());
        assertThat(m.groupSize()).isEqualTo(l.group());
        float[] row = new float[l.in()];
        for (int o = 0; o < l.out(); o++) {
            m.row(o, row);
            for (int i = 0; i < l.in(); i++) {
                assertThat(row[i]).as("(%d, %d)", o, i).isEqualTo(l.value(o, i));
                float step = PackedInt4.halfToFloat(l.scales()[i / l.group()][o]);
                // within a step of the float weight (half a step, but a whole one where a code was clamped to 0 or 15)
                assertThat((double) row[i]).as("(%d, %d) near the float weight", o, i)
                        .isCloseTo(l.weights()[o][i], Offset.offset(step * 1.0001 + 1e-6));
            }
        }
        // products through the decode kernels over the dequantised values
        float[] x = new float[l.in()];
        Random random = new Random(9);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        try (DecodeThreads threads = new DecodeThreads(2)) {
            float[] out = new float[l.out()];
            new MatVec(Kernels.get(), threads).multiply(x, new float[l.in()], new float[l.in()], m, out);
            for (int o = 0; o < l.out(); o++) {
                double expected = 0;
                double magnitude = 0;
                for (int i = 0; i < l.in(); i++) {
                    expected += (double) l.value(o, i) * x[i];
                    magnitude += Math.abs((double) l.value(o, i) * x[i]);
                }
                assertThat((double) out[o]).isCloseTo(expected, Offset.offset(1e-5 * magnitude + 1e-6));
            }
        }
    }

    @Test
    void awqLayersUnpackToTheirCodesZerosAndScales() {
        Quantized l = quantize(new Random(1), 24, 256, 128, false, 0);
        TestSafetensorsWriter writer = new TestSafetensorsWriter();
        writeAwq(writer, "model.layers.0.mlp.up_proj", l);
        writer.write(dir.resolve("model.safetensors"));
        PackedInt4.Config config = PackedInt4.Config.of(config(
                "{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":128,\"version\":\"gemm\",\"zero_point\":true}"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertThat(PackedInt4.isPacked(ckpt, "model.layers.0.mlp.up_proj")).isTrue();
            assertReadsExactly(PackedInt4.read(ckpt, "model.layers.0.mlp.up_proj", 24, 256, config), l);
        }
    }

    @Test
    void gptqV1LayersAddOneToTheirStoredZeros() {
        for (boolean symmetric : new boolean[] {true, false}) {
            Quantized l = quantize(new Random(2), 16, 128, 32, symmetric, 1); // v1 cannot store a zero of 0
            TestSafetensorsWriter writer = new TestSafetensorsWriter();
            writeGptq(writer, "q", l, true, sequentialGroups(128, 32));
            Path sub = dir.resolve(symmetric ? "sym" : "asym");
            sub.toFile().mkdirs();
            writer.write(sub.resolve("model.safetensors"));
            PackedInt4.Config config = PackedInt4.Config.of(config(
                    "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":32,\"desc_act\":false,\"sym\":" + symmetric + "}"));
            assertThat(config.zerosMinusOne()).isTrue();
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(sub)) {
                assertReadsExactly(PackedInt4.read(ckpt, "q", 16, 128, config), l);
            }
        }
    }

    @Test
    void gptqV2LayersStoreTheirZeros() {
        Quantized l = quantize(new Random(3), 8, 64, 16, false, 0);
        TestSafetensorsWriter writer = new TestSafetensorsWriter();
        writeGptq(writer, "k", l, false, sequentialGroups(64, 16));
        writer.write(dir.resolve("model.safetensors"));
        PackedInt4.Config config = PackedInt4.Config.of(config(
                "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":16,\"checkpoint_format\":\"gptq_v2\"}"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertReadsExactly(PackedInt4.read(ckpt, "k", 8, 64, config), l);
        }
    }

    @Test
    void actOrderGroupsAndOtherFormatsAreRefusedByName() {
        Quantized l = quantize(new Random(4), 8, 64, 16, true, 1);
        int[] shuffled = sequentialGroups(64, 16);
        shuffled[0] = 3;
        shuffled[63] = 0;
        TestSafetensorsWriter writer = new TestSafetensorsWriter();
        writeGptq(writer, "v", l, true, shuffled);
        writer.write(dir.resolve("model.safetensors"));
        PackedInt4.Config config = PackedInt4.Config.of(config("{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":16}"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertThatThrownBy(() -> PackedInt4.read(ckpt, "v", 8, 64, config))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("desc_act");
            assertThatThrownBy(() -> PackedInt4.read(ckpt, "v", 16, 64, config))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("v.qweight");
        }
        assertThatThrownBy(() -> PackedInt4.Config.of(config("{\"quant_method\":\"gptq\",\"bits\":8,\"group_size\":128}")))
                .hasMessageContaining("8-bit");
        assertThatThrownBy(() -> PackedInt4.Config.of(config("{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":128,\"version\":\"gemv\"}")))
                .hasMessageContaining("gemv");
        assertThatThrownBy(() -> PackedInt4.Config.of(config("{\"quant_method\":\"bitsandbytes\",\"bits\":4,\"group_size\":64}")))
                .hasMessageContaining("bitsandbytes");
        assertThatThrownBy(() -> PackedInt4.Config.of(config("{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":-1}")))
                .hasMessageContaining("group_size -1");
    }

    @Test
    void loadingAWholeModelFromAQuantisedCheckpointIsRefusedWithTheWayTo4BitDecode() throws Exception {
        Path source = io.github.qwenvl.testing.FixtureRoot.bundled().resolve("qwen2_5-vl-tiny").resolve("model");
        Path model = dir.resolve("awq");
        java.nio.file.Files.createDirectories(model);
        try (var files = java.nio.file.Files.list(source)) {
            for (Path f : files.toList()) {
                java.nio.file.Files.copy(f, model.resolve(f.getFileName().toString()));
            }
        }
        String config = java.nio.file.Files.readString(model.resolve("config.json")).replaceFirst("\\{",
                "{\"quantization_config\": {\"quant_method\": \"awq\", \"bits\": 4, \"group_size\": 128},");
        java.nio.file.Files.writeString(model.resolve("config.json"), config);
        assertThatThrownBy(() -> io.github.qwenvl.QwenVlModel.load(model)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("awq").hasMessageContaining("java-int4");
    }

    @Test
    void halvesWidenExactly() {
        assertThat(PackedInt4.halfToFloat((short) 0x3C00)).isEqualTo(1f);
        assertThat(PackedInt4.halfToFloat((short) 0xC000)).isEqualTo(-2f);
        assertThat(PackedInt4.halfToFloat((short) 0x7BFF)).isEqualTo(65504f);
        assertThat(PackedInt4.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(PackedInt4.halfToFloat((short) 0x8000)).isEqualTo(-0f);
        assertThat(PackedInt4.halfToFloat((short) 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(PackedInt4.halfToFloat((short) 0x7E00)).isNaN();
        for (int bits = 0; bits < 0x7C00; bits++) { // every finite half round-trips
            assertThat(floatToHalf(PackedInt4.halfToFloat((short) bits))).isEqualTo((short) bits);
        }
    }

    /** Float to half, round to nearest even, for finite values in half's range (test data only). */
    static short floatToHalf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        float a = Math.abs(f);
        if (a < 0x1p-14f) { // subnormal half: multiples of 2^-24
            return (short) (sign | Math.round(a * 0x1p24f));
        }
        int exponent = Math.getExponent(a);
        float unit = Math.scalb(1f, exponent - 10);
        float rounded = (float) Math.rint(a / unit) * unit;
        int e = Math.getExponent(rounded);
        int mantissa = Math.round(rounded / Math.scalb(1f, e - 10)) - 1024;
        return (short) (sign | ((e + 15) << 10) | mantissa);
    }
}
