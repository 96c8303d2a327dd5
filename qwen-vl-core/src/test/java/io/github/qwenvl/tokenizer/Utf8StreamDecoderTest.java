package io.github.qwenvl.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/** Replacement behaviour pinned to Python's {@code bytes.decode('utf-8', errors='replace')} (values printed by CPython 3.13). */
class Utf8StreamDecoderTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "eda080, fffd fffd fffd",              // surrogate: E0..9F rule for ED, each byte replaced
            "e4bd, fffd",                          // truncated 3-byte sequence at the end: one replacement
            "f09f9841, fffd 41",                   // truncated 4-byte sequence, then ASCII
            "c0af, fffd fffd",                     // overlong lead C0
            "f4908080, fffd fffd fffd fffd",       // above U+10FFFF
            "e08080, fffd fffd fffd",              // overlong 3-byte
            "e4bda0e5, 4f60 fffd",
            "8080, fffd fffd",
            "f09f9880, 1f600",
            "e28228, fffd 28",
            "f888808080, fffd fffd fffd fffd fffd",
            "61f18080e180c262, 61 fffd fffd fffd 62",
    })
    void replacesLikePython(String hex, String expectedCodePoints) {
        byte[] bytes = HexFormat.of().parseHex(hex);
        StringBuilder expected = new StringBuilder();
        for (String cp : expectedCodePoints.split(" ")) {
            expected.appendCodePoint(Integer.parseInt(cp, 16));
        }

        assertThat(decodeAtOnce(bytes)).isEqualTo(expected.toString());
        assertThat(decodeByteByByte(bytes)).isEqualTo(expected.toString());
    }

    private static String decodeAtOnce(byte[] bytes) {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        StringBuilder out = new StringBuilder();
        decoder.decode(bytes, out);
        decoder.flush(out);
        return out.toString();
    }

    private static String decodeByteByByte(byte[] bytes) {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            int before = out.length();
            decoder.decode(new byte[] {b}, out);
            // never a lone high surrogate at the end of an emitted piece
            assertThat(out.length() == before || !Character.isHighSurrogate(out.charAt(out.length() - 1))).isTrue();
        }
        decoder.flush(out);
        return out.toString();
    }
}
