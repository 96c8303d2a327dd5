package io.github.qwenvl.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsRoundTripTest {

    @TempDir
    Path dir;

    /** IEEE 754 binary16 → value, computed in double arithmetic from the definition. */
    static double f16Reference(int h) {
        int sign = (h >>> 15) & 1;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        double s = sign == 1 ? -1.0 : 1.0;
        if (exponent == 0x1F) {
            return mantissa == 0 ? s * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (exponent == 0) {
            return s * mantissa * Math.pow(2, -24); // subnormal (and ±0)
        }
        return s * (1.0 + mantissa / 1024.0) * Math.pow(2, exponent - 15);
    }

    private static void assertSameFloat(float actual, float expected, String what) {
        if (Float.isNaN(expected)) {
            assertThat(actual).as(what).isNaN();
        } else {
            // bit comparison distinguishes -0.0 from 0.0
            assertThat(Float.floatToRawIntBits(actual)).as(what + " = " + actual + " vs " + expected)
                    .isEqualTo(Float.floatToRawIntBits(expected));
        }
    }

    @Test
    void f16ToFloatMatchesIeeeDefinitionForAll65536Patterns() {
        for (int h = 0; h < 0x10000; h++) {
            double ref = f16Reference(h);
            float expected = (float) ref; // exact: every half is representable as a float
            if (!Double.isNaN(ref) && !Double.isInfinite(ref)) {
                assertThat((double) expected).isEqualTo(ref);
            }
            assertSameFloat(SafetensorsFile.f16ToFloat((short) h), expected, "half 0x" + Integer.toHexString(h));
        }
    }

    @Test
    void f16NaNKeepsSignAndPayloadBits() {
        // quiet NaN 0x7E00 → 0x7FC00000, payload bits shifted into the float mantissa
        assertThat(Float.floatToRawIntBits(SafetensorsFile.f16ToFloat((short) 0x7E00))).isEqualTo(0x7FC00000);
        assertThat(Float.floatToRawIntBits(SafetensorsFile.f16ToFloat((short) 0xFE01))).isEqualTo(0xFFC02000);
    }

    @Test
    void bf16ToFloatIsTheTopHalfOfFloat32ForAll65536Patterns() {
        for (int b = 0; b < 0x10000; b++) {
            float expected = Float.intBitsToFloat(b << 16);
            float actual = SafetensorsFile.bf16ToFloat((short) b);
            if (Float.isNaN(expected)) {
                assertThat(actual).isNaN();
            } else {
                assertThat(Float.floatToRawIntBits(actual)).isEqualTo(b << 16);
            }
        }
    }

    private static short[] allPatterns() {
        short[] all = new short[0x10000];
        for (int i = 0; i < all.length; i++) {
            all[i] = (short) i;
        }
        return all;
    }

    static final float[] F32_VALUES = {0f, -0f, 1f, -1.5f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
        Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
        3.14159274f, 1e-40f, 123456.789f};

    private Path writeAllDtypes() {
        short[] f16 = {0x0000, (short) 0x8000, 0x0001, (short) 0x8001, 0x03FF, 0x0400, 0x3C00, (short) 0xC000, 0x7BFF,
            0x7C00, (short) 0xFC00, 0x7E00, 0x3555};
        short[] bf16 = {0x0000, (short) 0x8000, 0x3F80, (short) 0xBFC0, 0x0001, 0x7F7F, 0x7F80, (short) 0xFF80,
            0x7FC0, 0x4049, 0x0080};
        return new TestSafetensorsWriter()
                .metadata("format", "pt")
                .f32("f32", new long[] {3, 5}, F32_VALUES)
                .bits16("f16", "F16", new long[] {f16.length}, f16)
                .bits16("bf16", "BF16", new long[] {bf16.length, 1}, bf16)
                .i64("i64", new long[] {5}, 0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40)
                .i32("i32", new long[] {2, 2}, 0, -7, Integer.MAX_VALUE, Integer.MIN_VALUE)
                .u8("u8", new long[] {4}, 0, 1, 127, 255)
                .f32("scalar", new long[0], 42.5f)
                .f32("empty", new long[] {0, 7})
                .write(dir.resolve("all.safetensors"));
    }

    @Test
    void headerRoundTrip() {
        try (SafetensorsFile f = SafetensorsFile.open(writeAllDtypes())) {
            assertThat(f.tensors().keySet()).containsExactly("f32", "f16", "bf16", "i64", "i32", "u8", "scalar", "empty");
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertThat(f.info("f32").dtype()).isEqualTo(TensorDType.F32);
            assertThat(f.info("f32").shape()).containsExactly(3, 5);
            assertThat(f.info("bf16").shape()).containsExactly(11, 1);
            assertThat(f.info("scalar").rank()).isZero();
            assertThat(f.info("scalar").elementCount()).isEqualTo(1);
            assertThat(f.info("empty").elementCount()).isZero();
            assertThat(f.info("i64").length()).isEqualTo(40);
            assertThat(f.info("u8").offset()).isEqualTo(60 + 26 + 22 + 40 + 16);
        }
    }

    @Test
    void f32ReadsBackBitExactThroughEveryPath() {
        try (SafetensorsFile f = SafetensorsFile.open(writeAllDtypes())) {
            float[] floats = f.readFloats("f32");
            ByteBuffer buffer = f.float32Buffer("f32");
            assertThat(buffer.order()).isEqualTo(ByteOrder.nativeOrder());
            assertThat(buffer.capacity()).isEqualTo(F32_VALUES.length * 4);
            ByteBuffer raw = f.bytes("f32");
            for (int i = 0; i < F32_VALUES.length; i++) {
                assertSameFloat(floats[i], F32_VALUES[i], "f32[" + i + "]");
                assertSameFloat(buffer.getFloat(i * 4), F32_VALUES[i], "f32 buffer[" + i + "]");
                assertThat(raw.getInt(i * 4)).isEqualTo(Float.floatToRawIntBits(F32_VALUES[i]));
            }
            assertThat(f.readFloats("scalar")).containsExactly(42.5f);
            assertThat(f.readFloats("empty")).isEmpty();
            assertThat(f.float32Buffer("empty").capacity()).isZero();
        }
    }

    @Test
    void f16AndBf16WidenExactly() {
        try (SafetensorsFile f = SafetensorsFile.open(writeAllDtypes())) {
            float[] half = f.readFloats("f16");
            float[] expectedHalf = {0f, -0f, 0x1p-24f, -0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f, 1f, -2f, 65504f,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, (float) f16Reference(0x3555)};
            assertThat(half).hasSize(expectedHalf.length);
            for (int i = 0; i < half.length; i++) {
                assertSameFloat(half[i], expectedHalf[i], "f16[" + i + "]");
            }
            float[] bf = f.readFloats("bf16");
            ByteBuffer bfBuffer = f.float32Buffer("bf16");
            float[] expectedBf = {0f, -0f, 1f, -1.5f, Float.intBitsToFloat(0x00010000), Float.intBitsToFloat(0x7F7F0000),
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 3.140625f, Float.MIN_NORMAL};
            for (int i = 0; i < bf.length; i++) {
                assertSameFloat(bf[i], expectedBf[i], "bf16[" + i + "]");
                assertSameFloat(bfBuffer.getFloat(i * 4), expectedBf[i], "bf16 buffer[" + i + "]");
            }
        }
    }

    @Test
    void everyF16AndBf16PatternWidensThroughTheFile() {
        short[] all = allPatterns();
        Path file = new TestSafetensorsWriter()
                .bits16("h", "F16", new long[] {256, 256}, all)
                .bits16("b", "BF16", new long[] {0x10000}, all)
                .write(dir.resolve("patterns.safetensors"));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            float[] h = f.readFloats("h");
            float[] b = f.readFloats("b");
            ByteBuffer hb = f.float32Buffer("h");
            ByteBuffer bb = f.float32Buffer("b");
            for (int i = 0; i < 0x10000; i++) {
                float eh = (float) f16Reference(i);
                assertSameFloat(h[i], eh, "h[" + i + "]");
                assertSameFloat(hb.getFloat(i * 4), eh, "h buffer[" + i + "]");
                float eb = Float.intBitsToFloat(i << 16);
                assertSameFloat(b[i], eb, "b[" + i + "]");
                assertSameFloat(bb.getFloat(i * 4), eb, "b buffer[" + i + "]");
            }
        }
    }

    @Test
    void integerTensorsReadBackExactly() {
        try (SafetensorsFile f = SafetensorsFile.open(writeAllDtypes())) {
            assertThat(f.readLongs("i64")).containsExactly(0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40);
            assertThat(f.readLongs("i32")).containsExactly(0, -7, Integer.MAX_VALUE, Integer.MIN_VALUE);
            assertThat(f.readLongs("u8")).containsExactly(0, 1, 127, 255);
            assertThat(f.readFloats("u8")).containsExactly(0f, 1f, 127f, 255f);
            assertThat(f.readFloats("i32")).containsExactly(0f, -7f, (float) Integer.MAX_VALUE, (float) Integer.MIN_VALUE);
            assertThat(f.readFloats("i64")).containsExactly(0f, -1f, (float) Long.MAX_VALUE, (float) Long.MIN_VALUE,
                    (float) (1L << 40));
            assertThatThrownBy(() -> f.readLongs("f32")).isExactlyInstanceOf(CheckpointException.class)
                    .hasMessageContaining("f32").hasMessageContaining(f.path().toString());
        }
    }

    @Test
    void unknownTensorNamesTheFile() {
        try (SafetensorsFile f = SafetensorsFile.open(writeAllDtypes())) {
            assertThat(f.contains("nope")).isFalse();
            assertThatThrownBy(() -> f.readFloats("nope")).isExactlyInstanceOf(CheckpointException.class)
                    .hasMessageContaining("'nope'").hasMessageContaining(f.path().toString());
        }
    }

    @Test
    void readsAfterCloseFailCleanly() {
        SafetensorsFile f = SafetensorsFile.open(writeAllDtypes());
        f.close();
        assertThatThrownBy(() -> f.readFloats("f32")).isExactlyInstanceOf(CheckpointException.class)
                .hasMessageContaining(f.path().toString());
    }
}
