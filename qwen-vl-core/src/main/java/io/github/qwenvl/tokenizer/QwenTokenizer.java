package io.github.qwenvl.tokenizer;

import java.util.OptionalInt;

/** Text ↔ token ids for a Qwen-VL family checkpoint. Implementations are thread-safe. */
public interface QwenTokenizer {

    /**
     * Token ids of {@code text}. No BOS/EOS or other special tokens are added (Qwen tokenizers add none);
     * added-token strings inside the text ({@code <|im_start|>}, {@code <|box_start|>} …) become their ids.
     */
    int[] encode(String text);

    /**
     * The text of {@code ids}; invalid UTF-8 becomes U+FFFD as in Python's {@code errors='replace'}.
     *
     * @param skipSpecialTokens drop tokens flagged special (control tokens) instead of writing their strings
     */
    String decode(int[] ids, boolean skipSpecialTokens);

    /**
     * The raw UTF-8 bytes token {@code id} stands for (possibly part of a multi-byte character); an added token
     * gives its content's UTF-8; an unknown id gives an empty array.
     */
    byte[] tokenBytes(int id);

    /** True for tokens flagged special (skipped by {@code decode(ids, true)}). */
    boolean isSpecial(int id);

    /** The id of a vocabulary or added token given as its token string (byte-level form for BPE tokens). */
    OptionalInt idOf(String token);

    /** Number of token ids the tokenizer knows: highest id + 1 (the model's embedding may have more rows). */
    int vocabularySize();

    /** Ids of the control tokens. */
    SpecialTokens specialTokens();
}
