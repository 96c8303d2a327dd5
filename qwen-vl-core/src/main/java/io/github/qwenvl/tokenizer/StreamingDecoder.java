package io.github.qwenvl.tokenizer;

/**
 * Turns generated token ids into text as they arrive. A byte-level token may hold only part of a multi-byte
 * character (a Chinese character or emoji is often 2–4 tokens), so bytes of an unfinished character are held
 * back until it completes; concatenating every {@link #push} result and {@link #flush()} gives exactly
 * {@link QwenTokenizer#decode(int[], boolean)} of all ids. Not thread-safe: one instance per generation.
 */
public final class StreamingDecoder {

    private final QwenTokenizer tokenizer;
    private final java.util.function.IntPredicate skip;
    private final Utf8StreamDecoder utf8 = new Utf8StreamDecoder();

    /**
     * @param skipSpecialTokens drop special tokens (like {@code decode(ids, true)}) instead of writing them
     */
    public StreamingDecoder(QwenTokenizer tokenizer, boolean skipSpecialTokens) {
        this(tokenizer, skipSpecialTokens ? tokenizer::isSpecial : id -> false);
    }

    /** @param skip ids whose text is dropped (e.g. control tokens, while grounding tokens are kept) */
    public StreamingDecoder(QwenTokenizer tokenizer, java.util.function.IntPredicate skip) {
        this.tokenizer = tokenizer;
        this.skip = skip;
    }

    /** Feeds one id; returns the text completed by it (often empty while a character is unfinished). */
    public String push(int id) {
        if (skip.test(id)) {
            return "";
        }
        StringBuilder delta = new StringBuilder();
        utf8.decode(tokenizer.tokenBytes(id), delta);
        return delta.toString();
    }

    /** Ends the stream: bytes of a character that never completed become U+FFFD. */
    public String flush() {
        StringBuilder rest = new StringBuilder();
        utf8.flush(rest);
        return rest.toString();
    }
}
