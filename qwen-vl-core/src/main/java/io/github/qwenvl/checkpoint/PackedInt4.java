package io.github.qwenvl.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.nn.cpu.WeightMatrix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;

/**
 * The 4-bit linear layers of the official AWQ and GPTQ checkpoints (e.g. Qwen/Qwen2.5-VL-3B-Instruct-AWQ,
 * Qwen/Qwen2-VL-2B-Instruct-GPTQ-Int4), unpacked into a {@link WeightMatrix.Format#Q4} matrix of the layer's
 * (out_features × in_features) weight: the codes as stored, d = scale and m = −scale · zero per group, so that
 * d · q + m = scale · (q − zero), the value both formats dequantise to. Nothing is re-quantised.
 *
 * <p>The packed layouts, as the reference implementations read them (AutoAWQ's {@code WQLinear_GEMM} and its
 * {@code unpack_awq}/{@code reverse_awq_order}; AutoGPTQ's / GPTQModel's {@code QuantLinear} and transformers'
 * GPTQ integration):
 * <ul>
 * <li><b>AWQ</b> ({@code version: gemm}): {@code qweight} int32 (in, out / 8), packed along the output dimension:
 * bits 4p … 4p + 3 of word (i, c) hold output column 8c + [0, 2, 4, 6, 1, 3, 5, 7][p]; {@code qzeros} int32
 * (in / group, out / 8) packed the same way; {@code scales} float16 (in / group, out). Input row i is in group
 * i / group_size.
 * <li><b>GPTQ</b>: {@code qweight} int32 (in / 8, out), packed along the input dimension: bits 4p … 4p + 3 of word
 * (r, o) hold input row 8r + p; {@code qzeros} int32 (groups, out / 8), output column 8c + p in bits 4p …;
 * {@code scales} float16 (groups, out); {@code g_idx} int32 (in), the group of each input row. In the
 * {@code checkpoint_format} "gptq" (v1, the published one and the default) a stored zero is the zero minus one, so
 * the value is scale · (q − (stored + 1)); "gptq_v2" stores the zero itself.
 * </ul>
 * Act-order GPTQ checkpoints ({@code desc_act}) whose {@code g_idx} is not i / group_size are refused: the Q4 format
 * needs each group to be consecutive inputs.
 */
public final class PackedInt4 {

    /** AWQ's order of the eight output columns within a packed word: nibble p holds column AWQ_ORDER[p]. */
    static final int[] AWQ_ORDER = {0, 2, 4, 6, 1, 3, 5, 7};

    /** Quantisation methods read here. */
    public enum Method { AWQ, GPTQ }

    /**
     * A checkpoint's {@code quantization_config}.
     *
     * @param zerosMinusOne GPTQ v1: stored zeros are one less than the zeros (false for AWQ and GPTQ v2)
     */
    public record Config(Method method, int groupSize, boolean zerosMinusOne) {

        public Config {
            if (groupSize < 2 || groupSize % 2 != 0) {
                throw new CheckpointException("quantization_config: group_size " + groupSize
                        + " is not supported (an even group size is; -1, one group per row, is not)");
            }
        }

        /**
         * Reads config.json's {@code quantization_config}: {@code quant_method} awq or gptq, {@code bits} 4,
         * {@code group_size}, for AWQ {@code version} gemm and {@code zero_point} true, for GPTQ
         * {@code checkpoint_format} (default gptq, v1). Anything else is a {@link CheckpointException} that names it.
         */
        public static Config of(JsonObject quantization) {
            String method = string(quantization, "quant_method", "");
            int bits = quantization.has("bits") ? quantization.get("bits").getAsInt()
                    : quantization.has("w_bit") ? quantization.get("w_bit").getAsInt() : -1;
            if (bits != 4) {
                throw new CheckpointException("quantization_config: " + bits + "-bit weights are not supported (4-bit are)");
            }
            int group = quantization.has("group_size") ? quantization.get("group_size").getAsInt()
                    : quantization.has("q_group_size") ? quantization.get("q_group_size").getAsInt() : -1;
            switch (method.toLowerCase(Locale.ROOT)) {
                case "awq" -> {
                    String version = string(quantization, "version", "gemm");
                    if (!version.equalsIgnoreCase("gemm")) {
                        throw new CheckpointException("quantization_config: AWQ version '" + version
                                + "' is not supported (gemm is)");
                    }
                    if (quantization.has("zero_point") && !quantization.get("zero_point").getAsBoolean()) {
                        throw new CheckpointException("quantization_config: AWQ without zero points is not supported");
                    }
                    return new Config(Method.AWQ, group, false);
                }
                case "gptq" -> {
                    String format = string(quantization, "checkpoint_format", "gptq");
                    if (!format.equalsIgnoreCase("gptq") && !format.equalsIgnoreCase("gptq_v2")) {
                        throw new CheckpointException("quantization_config: GPTQ checkpoint_format '" + format
                                + "' is not supported (gptq and gptq_v2 are)");
                    }
                    return new Config(Method.GPTQ, group, format.equalsIgnoreCase("gptq"));
                }
                default -> throw new CheckpointException("quantization_config: quant_method '" + method
                        + "' is not supported (awq and gptq are)");
            }
        }

        private static String string(JsonObject o, String key, String fallback) {
            JsonElement e = o.get(key);
            return e == null || e.isJsonNull() ? fallback : e.getAsString();
        }
    }

    private PackedInt4() {
    }

    /**
     * Refuses to load a whole model from a quantised checkpoint (config.json with a {@code quantization_config}):
     * its packed layers can be read ({@link #read}), but the networks take their matrices from 16- or 32-bit tensors.
     * The message names the method and the way to 4-bit decode that exists: the float checkpoint with
     * {@code decodeMode JAVA_INT4}.
     */
    public static void refuseWholeModel(JsonObject config, java.nio.file.Path directory) {
        if (config == null || !config.has("quantization_config")) {
            return;
        }
        JsonElement q = config.get("quantization_config");
        String method = q.isJsonObject() && q.getAsJsonObject().has("quant_method")
                ? q.getAsJsonObject().get("quant_method").getAsString() : "unknown method";
        throw new CheckpointException("Quantised checkpoint in " + directory + " (" + method + ", quantization_config"
                + " in config.json): loading a model from GPTQ Int4 / AWQ checkpoints is not supported; load the float"
                + " checkpoint (e.g. Qwen/Qwen2-VL-2B-Instruct instead of its -GPTQ-Int4) and set decode-mode java-int4"
                + " for 4-bit decode");
    }

    /** True when the checkpoint holds the packed tensors of the linear layer {@code base} ({@code base.qweight}). */
    public static boolean isPacked(SafetensorsCheckpoint checkpoint, String base) {
        return checkpoint.contains(base + ".qweight");
    }

    /**
     * The (out × in) weight of the packed linear layer {@code base} as a Q4 matrix in heap buffers (0.5625 bytes per
     * value at groups of 128). Shapes and dtypes are checked against {@code out}, {@code in} and the config.
     */
    public static WeightMatrix read(SafetensorsCheckpoint checkpoint, String base, int out, int in, Config config) {
        if (out % 8 != 0 || in % 8 != 0 || in % config.groupSize() != 0) {
            throw new CheckpointException("'" + base + "': a " + out + "x" + in + " layer cannot be packed 4-bit in"
                    + " groups of " + config.groupSize());
        }
        int groups = in / config.groupSize();
        boolean awq = config.method() == Method.AWQ;
        ByteBuffer qweight = tensor(checkpoint, base + ".qweight", TensorDType.I32,
                awq ? new long[] {in, out / 8} : new long[] {in / 8, out});
        ByteBuffer qzeros = tensor(checkpoint, base + ".qzeros", TensorDType.I32, new long[] {groups, out / 8});
        ByteBuffer scales = tensor(checkpoint, base + ".scales", TensorDType.F16, new long[] {groups, out});
        if (!awq && checkpoint.contains(base + ".g_idx")) {
            ByteBuffer gIdx = tensor(checkpoint, base + ".g_idx", TensorDType.I32, new long[] {in});
            for (int i = 0; i < in; i++) {
                if (gIdx.getInt(4 * i) != i / config.groupSize()) {
                    throw new CheckpointException("'" + base + ".g_idx' assigns input " + i + " to group "
                            + gIdx.getInt(4 * i) + ", not " + i / config.groupSize()
                            + ": act-order (desc_act) GPTQ checkpoints are not supported");
                }
            }
        }
        ByteBuffer codes = ByteBuffer.allocate(Math.toIntExact((long) out * in / 2)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer d = ByteBuffer.allocate(out * groups * 4).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer m = ByteBuffer.allocate(out * groups * 4).order(ByteOrder.LITTLE_ENDIAN);
        byte[] row = new byte[in / 2];
        for (int o = 0; o < out; o++) {
            Arrays.fill(row, (byte) 0);
            for (int i = 0; i < in; i++) {
                int code = awq ? nibble(qweight.getInt(4 * (i * (out / 8) + o / 8)), awqNibble(o % 8))
                        : nibble(qweight.getInt(4 * ((i / 8) * out + o)), i % 8);
                row[i >> 1] |= (byte) ((i & 1) == 0 ? code : code << 4);
            }
            codes.put(o * (in / 2), row);
            for (int g = 0; g < groups; g++) {
                int word = qzeros.getInt(4 * (g * (out / 8) + o / 8));
                int zero = nibble(word, awq ? awqNibble(o % 8) : o % 8) + (config.zerosMinusOne() ? 1 : 0);
                float scale = halfToFloat(scales.getShort(2 * (g * out + o)));
                d.putFloat(4 * (o * groups + g), scale);
                m.putFloat(4 * (o * groups + g), -scale * zero); // exact: an 11-bit significand times at most 16
            }
        }
        return WeightMatrix.q4(out, in, config.groupSize(), codes, d, m);
    }

    /** The nibble position p of AWQ's packing that holds column {@code column} (0–7) of its group of eight. */
    static int awqNibble(int column) {
        for (int p = 0; p < 8; p++) {
            if (AWQ_ORDER[p] == column) {
                return p;
            }
        }
        throw new IllegalArgumentException("column " + column);
    }

    private static int nibble(int word, int p) {
        return (word >>> (4 * p)) & 0xF;
    }

    private static ByteBuffer tensor(SafetensorsCheckpoint checkpoint, String name, TensorDType dtype, long[] shape) {
        if (!checkpoint.contains(name)) {
            throw new CheckpointException("Missing weight '" + name + "' of a 4-bit packed layer in "
                    + checkpoint.directory());
        }
        TensorInfo info = checkpoint.info(name);
        if (info.dtype() != dtype || !Arrays.equals(info.shape(), shape)) {
            throw new CheckpointException("'" + name + "' is " + info.dtype() + " " + Arrays.toString(info.shape())
                    + ", expected " + dtype + " " + Arrays.toString(shape));
        }
        return checkpoint.bytes(name, 0, info.length()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** IEEE 754 binary16 bits to float (exact: every half is a float). */
    public static float halfToFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13)); // inf, NaN
        }
        if (exponent == 0) {
            float magnitude = mantissa * 0x1p-24f; // subnormal (or zero): exact in float
            return sign != 0 ? -magnitude : magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}
