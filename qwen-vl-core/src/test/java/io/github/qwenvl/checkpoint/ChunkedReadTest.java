package io.github.qwenvl.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The chunked read path (tensors over the 1 GiB single-mapping limit), exercised by lowering
 * the file's mapping limit ({@link SafetensorsFile#open(Path, long)}) instead of writing gigabyte files.
 */
class ChunkedReadTest {

    @TempDir
    Path dir;

    @Test
    void defaultLimitIsOneGiB() {
        try (SafetensorsFile f = SafetensorsFile.open(file())) {
            assertThat(f.maxMapBytes()).isEqualTo(1L << 30).isEqualTo(io.github.qwenvl.EngineTuning.DEFAULTS.mapLimitBytes());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file(), 1L << 40)) {
            assertThat(f.maxMapBytes()).as("never above what one mapping can hold").isEqualTo(1L << 30);
        }
    }

    private Path file() {
        Random r = new Random(7);
        int n = 1001; // odd: chunks never divide evenly
        float[] f32 = new float[n];
        short[] half = new short[n];
        short[] bf = new short[n];
        long[] i64 = new long[n];
        int[] u8 = new int[n];
        for (int i = 0; i < n; i++) {
            f32[i] = (float) r.nextGaussian();
            half[i] = (short) r.nextInt(0x10000);
            bf[i] = (short) r.nextInt(0x10000);
            i64[i] = r.nextLong() >> r.nextInt(64);
            u8[i] = r.nextInt(256);
        }
        return new TestSafetensorsWriter()
                .u8("u8", new long[] {n}, u8) // first: later tensors start at unaligned offsets
                .f32("f32", new long[] {7, 11, 13}, f32)
                .bits16("f16", "F16", new long[] {n}, half)
                .bits16("bf16", "BF16", new long[] {n}, bf)
                .i64("i64", new long[] {n}, i64)
                .write(dir.resolve("chunks.safetensors"));
    }

    private static float[] toArray(ByteBuffer b) {
        float[] out = new float[b.capacity() / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getFloat(i * 4);
        }
        return out;
    }

    private static int[] bits(float[] a) {
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = Float.floatToRawIntBits(a[i]);
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 6, 7, 8, 9, 64, 1000, 4003, 8007})
    void chunkedReadsEqualSingleMappingReads(long limit) {
        Path file = file();
        String[] names = {"u8", "f32", "f16", "bf16", "i64"};
        float[][] reference = new float[names.length][];
        float[][] referenceBuffers = new float[names.length][];
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (int i = 0; i < names.length; i++) {
                reference[i] = f.readFloats(names[i]);
                referenceBuffers[i] = toArray(f.float32Buffer(names[i]));
            }
        }
        try (SafetensorsFile f = SafetensorsFile.open(file, limit)) {
            for (int i = 0; i < names.length; i++) {
                assertThat(reference[i]).hasSize((int) f.info(names[i]).elementCount());
                assertThat(bits(f.readFloats(names[i]))).as(names[i] + " @ " + limit).isEqualTo(bits(reference[i]));
                ByteBuffer chunked = f.float32Buffer(names[i]);
                assertThat(chunked.isDirect()).isTrue();
                assertThat(bits(toArray(chunked))).as(names[i] + " buffer @ " + limit)
                        .isEqualTo(bits(referenceBuffers[i]));
            }
        }
    }

    @Test
    void f32OverTheLimitIsWidenedNotMapped() {
        Path file = file();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.float32Buffer("f32").isReadOnly()).isTrue(); // zero-copy mapping under the limit
        }
        try (SafetensorsFile f = SafetensorsFile.open(file, 100)) {
            ByteBuffer copy = f.float32Buffer("f32");
            assertThat(copy.isReadOnly()).isFalse();
            assertThat(copy.capacity()).isEqualTo(1001 * 4);
        }
    }

    @Test
    void rawBytesRefuseTensorsOverTheLimit() {
        Path file = file();
        try (SafetensorsFile f = SafetensorsFile.open(file, 100)) {
            assertThatThrownBy(() -> f.bytes("f32")).isExactlyInstanceOf(CheckpointException.class)
                    .hasMessageContaining("'f32'").hasMessageContaining(file.toString());
            assertThatThrownBy(() -> f.readLongs("i64")).isExactlyInstanceOf(CheckpointException.class);
        }
    }
}
