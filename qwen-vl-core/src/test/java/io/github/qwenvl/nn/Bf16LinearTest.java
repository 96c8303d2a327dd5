package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bfloat16 matrix product ({@link Bf16Linear}, reached through {@link Ops#linear}) against float32 math on the
 * same bfloat16-rounded operands: the only differences allowed are the rounding of the result to bfloat16 (half a unit
 * in its 8th significant bit) and the order of the float32 sums. Weights are read in place from a memory mapping, and
 * no bfloat16 tensor reaches DJL's Java side (the JVM would abort).
 */
class Bf16LinearTest {

    @TempDir
    Path dir;

    @Test
    void matchesFloat32MathOnRoundedOperands() throws IOException {
        int rows = 37;
        int in = 96;
        int out = 80;
        Random random = new Random(7);
        float[] w = randomRounded(random, out * in, 0.1f);
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        float[] bias = new float[out];
        for (int i = 0; i < out; i++) {
            bias[i] = (float) random.nextGaussian();
        }
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            ByteBuffer mapped = map(bits(w), "w.bin", FileChannel.MapMode.READ_ONLY);
            NDArray weight = Bf16Linear.weight(manager, mapped, out, in, "test.weight");
            assertThat(weight.getDataType()).isEqualTo(DataType.FLOAT16);
            assertThat(Bf16Linear.isBf16(weight)).isTrue();

            NDArray input = manager.create(x, new Shape(rows, in));
            NDArray withBias = Ops.linear(input, weight, manager.create(bias));
            NDArray without = Ops.linear(input, weight, null);
            assertThat(withBias.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(withBias.getShape()).isEqualTo(new Shape(rows, out));
            assertThat(withBias.getManager()).isSameAs(input.getManager());

            float[] expected = reference(round(x), w, rows, in, out);
            float[] got = without.toFloatArray();
            float[] gotBias = withBias.toFloatArray();
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    int i = r * out + o;
                    // |result - exact| <= half a bfloat16 unit (2^-9 relative) + float32 summation noise
                    double bound = Math.abs(expected[i]) * 0x1p-8 + 1e-4;
                    assertThat((double) got[i]).as("row %d col %d", r, o).isCloseTo(expected[i],
                            org.assertj.core.data.Offset.offset(bound));
                    assertThat(gotBias[i]).as("bias added in float32").isEqualTo(got[i] + bias[o]);
                }
            }
            // any leading dimensions, as torch.nn.functional.linear
            NDArray batched = Ops.linear(input.reshape(1, rows, in), weight, null);
            assertThat(batched.getShape()).isEqualTo(new Shape(1, rows, out));
            assertThat(batched.toFloatArray()).containsExactly(got);
        }
    }

    @Test
    void readsTheMappedBytesInPlace() throws IOException {
        int out = 4;
        int in = 8;
        float[] w = new float[out * in];
        java.util.Arrays.fill(w, 1f);
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            MappedByteBuffer mapped = map(bits(w), "rw.bin", FileChannel.MapMode.READ_WRITE);
            NDArray weight = Bf16Linear.weight(manager, mapped, out, in, "rw.weight");
            NDArray x = manager.ones(new Shape(1, in));
            assertThat(Ops.linear(x, weight, null).toFloatArray()).containsExactly(8f, 8f, 8f, 8f);
            // 2.0 in bfloat16 is 0x4000: row 2 of the file changes under the tensor, without a copy
            for (int c = 0; c < in; c++) {
                mapped.putShort((2 * in + c) * 2, (short) 0x4000);
            }
            assertThat(Ops.linear(x, weight, null).toFloatArray()).containsExactly(8f, 8f, 16f, 8f);
        }
    }

    @Test
    void otherWeightsAreNotBf16() {
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray f16 = manager.ones(new Shape(2, 2), DataType.FLOAT16);
            f16.setName("model.layers.0.mlp.up_proj.weight");
            assertThat(Bf16Linear.isBf16(f16)).isFalse();
            assertThat(Bf16Linear.isBf16(manager.ones(new Shape(2, 2)))).isFalse();
        }
    }

    private static float[] randomRounded(Random random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = roundBf16((float) random.nextGaussian() * scale);
        }
        return v;
    }

    private static float[] round(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = roundBf16(v[i]);
        }
        return r;
    }

    /** Round to nearest even at 16 bits (finite values), what torch's float → bfloat16 conversion does. */
    static float roundBf16(float f) {
        int bits = Float.floatToIntBits(f);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }

    private static float[] reference(float[] x, float[] w, int rows, int in, int out) {
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int k = 0; k < in; k++) {
                    s += (double) x[r * in + k] * w[o * in + k];
                }
                y[r * out + o] = (float) s;
            }
        }
        return y;
    }

    private static byte[] bits(float[] w) {
        ByteBuffer b = ByteBuffer.allocate(w.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : w) {
            b.putShort((short) (Float.floatToIntBits(v) >>> 16));
        }
        return b.array();
    }

    private MappedByteBuffer map(byte[] bytes, String name, FileChannel.MapMode mode) throws IOException {
        Path file = dir.resolve(name);
        java.nio.file.Files.write(file, bytes);
        try (FileChannel channel = mode == FileChannel.MapMode.READ_ONLY
                ? FileChannel.open(file, StandardOpenOption.READ)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MappedByteBuffer m = channel.map(mode, 0, bytes.length);
            m.order(ByteOrder.LITTLE_ENDIAN);
            return m;
        }
    }
}
