package io.github.qwenvl.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Map.Entry;
import java.util.OptionalInt;

/**
 * The id ↔ token tables of a byte-level BPE {@code tokenizer.json}: BPE vocabulary, added tokens and which of
 * them are special. Added tokens come from {@code tokenizer.json → added_tokens}, completed by
 * {@code tokenizer_config.json → added_tokens_decoder} where the latter names more.
 */
final class ByteLevelVocabulary {

    private final Map<String, Integer> idByToken;
    private final byte[][] bytesById;
    private final BitSet special;

    private ByteLevelVocabulary(Map<String, Integer> idByToken, byte[][] bytesById, BitSet special) {
        this.idByToken = idByToken;
        this.bytesById = bytesById;
        this.special = special;
    }

    static ByteLevelVocabulary read(Path tokenizerJson, Path tokenizerConfig) {
        JsonObject tokenizer = readJson(tokenizerJson);
        JsonObject model = tokenizer.getAsJsonObject("model");
        if (model == null || !model.has("vocab") || !model.get("vocab").isJsonObject()) {
            throw new TokenizerException(tokenizerJson + " has no model.vocab (not a BPE tokenizer.json)");
        }
        Map<String, Integer> bpe = new HashMap<>();
        for (Entry<String, JsonElement> e : model.getAsJsonObject("vocab").entrySet()) {
            bpe.put(e.getKey(), e.getValue().getAsInt());
        }
        Map<Integer, String> added = new HashMap<>();
        BitSet special = new BitSet();
        if (tokenizer.has("added_tokens") && tokenizer.get("added_tokens").isJsonArray()) {
            for (JsonElement e : tokenizer.getAsJsonArray("added_tokens")) {
                JsonObject t = e.getAsJsonObject();
                addToken(added, special, t.get("id").getAsInt(), t);
            }
        }
        if (Files.isRegularFile(tokenizerConfig)) {
            JsonObject config = readJson(tokenizerConfig);
            if (config.has("added_tokens_decoder") && config.get("added_tokens_decoder").isJsonObject()) {
                for (Entry<String, JsonElement> e : config.getAsJsonObject("added_tokens_decoder").entrySet()) {
                    int id = Integer.parseInt(e.getKey());
                    if (!added.containsKey(id)) {
                        addToken(added, special, id, e.getValue().getAsJsonObject());
                    }
                }
            }
        }
        return build(bpe, added, special);
    }

    private static void addToken(Map<Integer, String> added, BitSet special, int id, JsonObject token) {
        added.put(id, token.get("content").getAsString());
        if (token.has("special") && token.get("special").getAsBoolean()) {
            special.set(id);
        }
    }

    private static ByteLevelVocabulary build(Map<String, Integer> bpe, Map<Integer, String> added, BitSet special) {
        int size = 0;
        for (int id : bpe.values()) {
            size = Math.max(size, id + 1);
        }
        for (int id : added.keySet()) {
            size = Math.max(size, id + 1);
        }
        byte[][] bytes = new byte[size][];
        Map<String, Integer> idByToken = new HashMap<>(bpe);
        bpe.forEach((token, id) -> bytes[id] = ByteLevelAlphabet.toBytes(token));
        // An added token overrides a BPE entry with the same id, as in Hugging Face tokenizers.
        added.forEach((id, content) -> {
            bytes[id] = content.getBytes(StandardCharsets.UTF_8);
            idByToken.put(content, id);
        });
        return new ByteLevelVocabulary(idByToken, bytes, special);
    }

    private static JsonObject readJson(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    int size() {
        return bytesById.length;
    }

    byte[] bytes(int id) {
        if (id < 0 || id >= bytesById.length || bytesById[id] == null) {
            return new byte[0];
        }
        return bytesById[id].clone();
    }

    boolean isKnown(int id) {
        return id >= 0 && id < bytesById.length && bytesById[id] != null;
    }

    boolean isSpecial(int id) {
        return id >= 0 && special.get(id);
    }

    OptionalInt idOf(String token) {
        Integer id = idByToken.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }
}
