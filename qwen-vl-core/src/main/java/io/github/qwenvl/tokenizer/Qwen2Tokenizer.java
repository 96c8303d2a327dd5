package io.github.qwenvl.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The Qwen2 byte-level BPE tokenizer (Qwen2-VL, Qwen2.5-VL) of a model directory, running the checkpoint's
 * {@code tokenizer.json} through DJL's Hugging Face tokenizers binding. Token tables and special-token ids
 * are read from the directory's files, never assumed.
 */
public final class Qwen2Tokenizer implements QwenTokenizer, AutoCloseable {

    /**
     * DJL defaults to truncating and padding to 512 tokens and to adding special tokens; a Qwen prompt needs
     * none of that (Qwen2 tokenizers add no BOS/EOS, image prompts run to thousands of tokens).
     */
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false");

    private final HuggingFaceTokenizer tokenizer;
    private final ByteLevelVocabulary vocabulary;
    private final SpecialTokens specialTokens;

    private Qwen2Tokenizer(HuggingFaceTokenizer tokenizer, ByteLevelVocabulary vocabulary) {
        this.tokenizer = tokenizer;
        this.vocabulary = vocabulary;
        this.specialTokens = SpecialTokens.lookUp(vocabulary::idOf);
    }

    /** Loads {@code tokenizer.json} (and, if present, {@code tokenizer_config.json}) of {@code directory}. */
    public static Qwen2Tokenizer load(Path directory) {
        Path tokenizerJson = directory.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new TokenizerException("No tokenizer.json in " + directory);
        }
        ByteLevelVocabulary vocabulary =
                ByteLevelVocabulary.read(tokenizerJson, directory.resolve("tokenizer_config.json"));
        try {
            return new Qwen2Tokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson, OPTIONS), vocabulary);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException("Cannot load " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        Encoding encoding = tokenizer.encode(text, false, false);
        return Arrays.stream(encoding.getIds()).mapToInt(Math::toIntExact).toArray();
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        // Ids without a token are dropped, as Hugging Face tokenizers do, before they reach the native side.
        long[] known = Arrays.stream(ids).filter(vocabulary::isKnown).asLongStream().toArray();
        if (known.length == 0) {
            return "";
        }
        return tokenizer.decode(known, skipSpecialTokens);
    }

    @Override
    public byte[] tokenBytes(int id) {
        return vocabulary.bytes(id);
    }

    @Override
    public boolean isSpecial(int id) {
        return vocabulary.isSpecial(id);
    }

    @Override
    public OptionalInt idOf(String token) {
        return vocabulary.idOf(token);
    }

    @Override
    public int vocabularySize() {
        return vocabulary.size();
    }

    @Override
    public SpecialTokens specialTokens() {
        return specialTokens;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
