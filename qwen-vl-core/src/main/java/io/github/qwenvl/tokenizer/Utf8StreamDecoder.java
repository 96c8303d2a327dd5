package io.github.qwenvl.tokenizer;

/**
 * Incremental UTF-8 decoder that replaces invalid input exactly like Python's
 * {@code bytes.decode('utf-8', errors='replace')} and Rust's {@code String::from_utf8_lossy}: one U+FFFD per
 * "maximal subpart" of an ill-formed sequence (Unicode §3.9, Table 3-7). A sequence that is still incomplete is
 * held back until its next byte arrives, so no code point is ever split between two outputs.
 *
 * <p>We do not use {@link java.nio.charset.CharsetDecoder} because its malformed-input lengths are not
 * specified to follow the maximal-subpart rule, and the goldens depend on the exact number of U+FFFD.
 */
public final class Utf8StreamDecoder {

    private static final char REPLACEMENT = '\uFFFD';

    private int codePoint;
    private int needed;
    private int seen;
    private int lead;

    /** Decodes {@code bytes}, appending every completed code point (or U+FFFD) to {@code out}. */
    public void decode(byte[] bytes, StringBuilder out) {
        for (byte b : bytes) {
            accept(b & 0xFF, out);
        }
    }

    /** Ends the stream: an incomplete trailing sequence becomes one U+FFFD. */
    public void flush(StringBuilder out) {
        if (needed > 0) {
            out.append(REPLACEMENT);
            reset();
        }
    }

    /** True while bytes of an incomplete character are held back. */
    public boolean hasPendingBytes() {
        return needed > 0;
    }

    private void accept(int b, StringBuilder out) {
        if (needed > 0) {
            if (isValidContinuation(b)) {
                codePoint = (codePoint << 6) | (b & 0x3F);
                seen++;
                if (seen == needed) {
                    out.appendCodePoint(codePoint);
                    reset();
                }
                return;
            }
            // The pending bytes are a maximal subpart: one replacement, then b starts afresh.
            out.append(REPLACEMENT);
            reset();
        }
        startSequence(b, out);
    }

    private void startSequence(int b, StringBuilder out) {
        if (b < 0x80) {
            out.append((char) b);
        } else if (b >= 0xC2 && b <= 0xDF) {
            begin(b, b & 0x1F, 1);
        } else if (b >= 0xE0 && b <= 0xEF) {
            begin(b, b & 0x0F, 2);
        } else if (b >= 0xF0 && b <= 0xF4) {
            begin(b, b & 0x07, 3);
        } else {
            // 0x80–0xC1 (stray continuation / overlong lead) and 0xF5–0xFF can never start a character.
            out.append(REPLACEMENT);
        }
    }

    private void begin(int leadByte, int bits, int continuationBytes) {
        lead = leadByte;
        codePoint = bits;
        needed = continuationBytes;
        seen = 0;
    }

    /** The second byte's range depends on the lead (no overlongs, surrogates or code points above U+10FFFF). */
    private boolean isValidContinuation(int b) {
        if (seen == 0) {
            return switch (lead) {
                case 0xE0 -> b >= 0xA0 && b <= 0xBF;
                case 0xED -> b >= 0x80 && b <= 0x9F;
                case 0xF0 -> b >= 0x90 && b <= 0xBF;
                case 0xF4 -> b >= 0x80 && b <= 0x8F;
                default -> b >= 0x80 && b <= 0xBF;
            };
        }
        return b >= 0x80 && b <= 0xBF;
    }

    private void reset() {
        needed = 0;
        seen = 0;
        codePoint = 0;
        lead = 0;
    }
}
