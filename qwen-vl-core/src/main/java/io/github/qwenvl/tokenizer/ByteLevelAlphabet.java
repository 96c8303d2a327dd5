package io.github.qwenvl.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte↔unicode table used by byte-level BPE vocabularies: every byte is written as one printable
 * character ({@code ' '} is {@code 'Ġ'}, {@code '\n'} is {@code 'Ċ'}, ...), so a vocabulary token string
 * stands for the bytes its characters map back to.
 */
final class ByteLevelAlphabet {

    /** char → byte, -1 for characters outside the table (code points 0..323 are enough). */
    private static final int[] CHAR_TO_BYTE = new int[324];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            int ch = printable ? b : 256 + extra++;
            CHAR_TO_BYTE[ch] = b;
        }
    }

    private ByteLevelAlphabet() {
    }

    /**
     * The bytes a byte-level token string stands for. Like the Hugging Face ByteLevel decoder, a string with
     * a character outside the table is taken literally (its own UTF-8).
     */
    static byte[] toBytes(String token) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(token.length());
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                return token.getBytes(StandardCharsets.UTF_8);
            }
            out.write(b);
        }
        return out.toByteArray();
    }
}
