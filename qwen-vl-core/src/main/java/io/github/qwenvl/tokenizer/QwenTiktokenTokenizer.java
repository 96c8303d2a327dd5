package io.github.qwenvl.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * The tokenizer of the original Qwen-VL / Qwen-VL-Chat ({@code tokenization_qwen.py}): tiktoken byte-level BPE over
 * {@code qwen.tiktoken} (run by jtokkit), 217 special tokens numbered {@code len(ranks) + index}, and the
 * {@code <img>…</img>} span rewrite (the bytes between the tags become ids 0–255, padded with {@code <imgpad>} to
 * 256 inner ids). Ids are read from the files, never assumed: the real vocabulary puts {@code <|endoftext|>} at
 * 151643, reduced test vocabularies elsewhere. Thread-safe.
 */
public final class QwenTiktokenTokenizer implements QwenTokenizer {

    public static final String VOCAB_FILE = "qwen.tiktoken";

    /** The pre-tokenizer of tokenization_qwen.py (one digit per piece, unlike cl100k). */
    public static final String PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    public static final String ENDOFTEXT = "<|endoftext|>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";
    public static final String REF_START = "<ref>";
    public static final String REF_END = "</ref>";
    public static final String BOX_START = "<box>";
    public static final String BOX_END = "</box>";
    public static final String QUAD_START = "<quad>";
    public static final String QUAD_END = "</quad>";
    public static final String IMG_START = "<img>";
    public static final String IMG_END = "</img>";
    public static final String IMG_PAD = "<imgpad>";
    /** Inner ids of an {@code <img>} span. */
    public static final int IMAGE_SPAN = 256;

    /** The tokens {@code make_context} allows inside role and content text (IMAGE_ST). */
    public static final List<String> IMAGE_ST = List.of(REF_START, REF_END, BOX_START, BOX_END, QUAD_START, QUAD_END,
            IMG_START, IMG_END, IMG_PAD);

    /** All special tokens in id order: endoftext, im_start, im_end, extra_0..204, IMAGE_ST. */
    public static final List<String> SPECIALS;

    static {
        List<String> s = new ArrayList<>(List.of(ENDOFTEXT, IM_START, IM_END));
        for (int i = 0; i < 205; i++) {
            s.add("<|extra_" + i + "|>");
        }
        s.addAll(IMAGE_ST);
        SPECIALS = List.copyOf(s);
    }

    private static final AtomicInteger REGISTRATIONS = new AtomicInteger();

    private final byte[][] tokenBytes;       // id -> bytes (ordinary and special)
    private final int ranks;                 // number of mergeable ranks = id of <|endoftext|>
    private final Map<String, Integer> specialIds;
    private final Encoding encoding;
    private final SpecialTokens specialTokens;
    private final int imgStart;
    private final int imgEnd;
    private final int imgPad;

    private QwenTiktokenTokenizer(byte[][] ordinary, Path source) {
        this.ranks = ordinary.length;
        this.tokenBytes = Arrays.copyOf(ordinary, ranks + SPECIALS.size());
        Map<String, Integer> specials = new LinkedHashMap<>();
        for (int i = 0; i < SPECIALS.size(); i++) {
            specials.put(SPECIALS.get(i), ranks + i);
            tokenBytes[ranks + i] = SPECIALS.get(i).getBytes(StandardCharsets.UTF_8);
        }
        this.specialIds = Map.copyOf(specials);
        Map<byte[], Integer> encoder = new HashMap<>();
        for (int i = 0; i < ranks; i++) {
            encoder.put(ordinary[i], i);
        }
        boolean[] singleBytes = new boolean[256];
        for (byte[] t : ordinary) {
            if (t.length == 1) {
                singleBytes[t[0] & 0xFF] = true;
            }
        }
        for (int b = 0; b < 256; b++) {
            if (!singleBytes[b]) {
                throw new TokenizerException(source + " lacks the single-byte token " + b
                        + ": not a byte-level BPE vocabulary");
            }
        }
        EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
        String name = "qwen-vl-" + REGISTRATIONS.incrementAndGet();
        Pattern pattern = Pattern.compile(PATTERN, Pattern.UNICODE_CHARACTER_CLASS);
        // jtokkit only needs special tokens for its own encode(); we split them out ourselves (encodeOrdinary)
        registry.registerGptBytePairEncoding(new GptBytePairEncodingParams(name, pattern, encoder, Map.of()));
        this.encoding = registry.getEncoding(name).orElseThrow();
        this.imgStart = specials.get(IMG_START);
        this.imgEnd = specials.get(IMG_END);
        this.imgPad = specials.get(IMG_PAD);
        this.specialTokens = new SpecialTokens(specials.get(ENDOFTEXT), specials.get(IM_START), specials.get(IM_END),
                specials.get(REF_START), specials.get(REF_END), specials.get(BOX_START), specials.get(BOX_END),
                specials.get(QUAD_START), specials.get(QUAD_END), imgStart, imgEnd, -1, imgPad, -1);
    }

    /** Loads {@code qwen.tiktoken} from a model directory. */
    public static QwenTiktokenTokenizer load(Path directory) {
        Path file = Files.isDirectory(directory) ? directory.resolve(VOCAB_FILE) : directory;
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException("No " + VOCAB_FILE + " in " + directory);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TokenizerException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        List<byte[]> tokens = new ArrayList<>();
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split(" ");
            if (parts.length != 2) {
                throw new TokenizerException(file + " line " + (n + 1) + ": expected 'base64 rank'");
            }
            int rank;
            byte[] bytes;
            try {
                bytes = Base64.getDecoder().decode(parts[0]);
                rank = Integer.parseInt(parts[1]);
            } catch (IllegalArgumentException e) {
                throw new TokenizerException(file + " line " + (n + 1) + ": " + e.getMessage(), e);
            }
            if (rank != tokens.size()) {
                throw new TokenizerException(file + " line " + (n + 1) + ": rank " + rank + " out of order (expected "
                        + tokens.size() + ")");
            }
            tokens.add(bytes);
        }
        if (tokens.isEmpty()) {
            throw new TokenizerException(file + " holds no tokens");
        }
        return new QwenTiktokenTokenizer(tokens.toArray(new byte[0][]), file);
    }

    /** Number of mergeable ranks (= id of {@code <|endoftext|>}). */
    public int mergeableRanks() {
        return ranks;
    }

    /** Id of a special token string, or -1. */
    public int specialId(String token) {
        return specialIds.getOrDefault(token, -1);
    }

    public Map<String, Integer> specialTokenTable() {
        return specialIds;
    }

    /** {@code tokenizer.encode(text)}: every special token is recognised in the text. */
    @Override
    public int[] encode(String text) {
        return encode(text, SPECIALS);
    }

    /**
     * {@code tokenizer.encode(text, allowed_special=allowed)}: only {@code allowed} special strings become special
     * ids, any other special string is encoded as plain text (disallowed_special=() in tokenization_qwen.py). NFC
     * normalisation first; closed {@code <img>} spans are then rewritten to 258 ids.
     */
    public int[] encode(String text, Collection<String> allowed) {
        String normalized = Normalizer.normalize(text, Normalizer.Form.NFC);
        List<Integer> ids = new ArrayList<>();
        int at = 0;
        while (at < normalized.length()) {
            int best = -1;
            String bestToken = null;
            for (String s : allowed) {
                int i = normalized.indexOf(s, at);
                if (i >= 0 && (best < 0 || i < best)) {
                    best = i;
                    bestToken = s;
                }
            }
            int end = best < 0 ? normalized.length() : best;
            if (end > at) {
                for (int id : encoding.encodeOrdinary(normalized.substring(at, end)).toArray()) {
                    ids.add(id);
                }
            }
            if (best < 0) {
                break;
            }
            ids.add(specialIds.get(bestToken));
            at = best + bestToken.length();
        }
        return rewriteImageSpans(ids.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Plain text only: special-token strings stay text. */
    public int[] encodeOrdinary(String text) {
        return encode(text, Set.of());
    }

    private int[] rewriteImageSpans(int[] ids) {
        int start = indexOf(ids, imgStart, 0);
        if (start < 0) {
            return ids;
        }
        List<Integer> out = new ArrayList<>();
        int end = 0;
        while (start >= 0) {
            for (int i = end; i < start; i++) {
                out.add(ids[i]);
            }
            int close = indexOf(ids, imgEnd, start);
            if (close < 0) {
                throw new TokenizerException("Unclosed image token: " + IMG_START + " without " + IMG_END);
            }
            ByteArrayOutputStream path = new ByteArrayOutputStream();
            for (int i = start + 1; i < close; i++) {
                path.writeBytes(tokenBytes[ids[i]]);
            }
            byte[] bytes = path.toByteArray();
            if (bytes.length > IMAGE_SPAN) {
                throw new TokenizerException("The text of an image span is " + bytes.length + " bytes; at most "
                        + IMAGE_SPAN + " fit");
            }
            out.add(imgStart);
            for (byte b : bytes) {
                out.add(b & 0xFF);
            }
            for (int i = bytes.length; i < IMAGE_SPAN; i++) {
                out.add(imgPad);
            }
            out.add(imgEnd);
            end = close + 1;
            start = indexOf(ids, imgStart, end);
        }
        for (int i = end; i < ids.length; i++) {
            out.add(ids[i]);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int indexOf(int[] ids, int value, int from) {
        for (int i = from; i < ids.length; i++) {
            if (ids[i] == value) {
                return i;
            }
        }
        return -1;
    }

    /**
     * {@code tokenizer.decode(ids)}: an {@code <img>} span's inner ids up to the first {@code <imgpad>} are read
     * back as the bytes of its text; with {@code skipSpecialTokens} every special id is dropped.
     */
    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < ids.length) {
            int id = ids[i];
            if (id == imgStart) {
                int close = indexOf(ids, imgEnd, i + 1);
                if (close > 0) {
                    if (!skipSpecialTokens) {
                        out.writeBytes(tokenBytes[imgStart]);
                    }
                    for (int k = i + 1; k < close && ids[k] != imgPad; k++) {
                        out.write(ids[k] & 0xFF);
                    }
                    if (!skipSpecialTokens) {
                        out.writeBytes(tokenBytes[imgEnd]);
                    }
                    i = close + 1;
                    continue;
                }
            }
            if (id >= 0 && id < tokenBytes.length && !(skipSpecialTokens && id >= ranks)) {
                out.writeBytes(tokenBytes[id]);
            }
            i++;
        }
        return decodeUtf8(out.toByteArray());
    }

    static String decodeUtf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public byte[] tokenBytes(int id) {
        return id >= 0 && id < tokenBytes.length ? tokenBytes[id].clone() : new byte[0];
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= ranks && id < tokenBytes.length;
    }

    @Override
    public OptionalInt idOf(String token) {
        Integer special = specialIds.get(token);
        if (special != null) {
            return OptionalInt.of(special);
        }
        byte[] wanted = token.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < ranks; i++) {
            if (Arrays.equals(tokenBytes[i], wanted)) {
                return OptionalInt.of(i);
            }
        }
        return OptionalInt.empty();
    }

    @Override
    public int vocabularySize() {
        return tokenBytes.length;
    }

    @Override
    public SpecialTokens specialTokens() {
        return specialTokens;
    }
}
