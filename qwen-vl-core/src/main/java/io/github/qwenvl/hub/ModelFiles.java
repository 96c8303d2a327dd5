package io.github.qwenvl.hub;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Which files of a Qwen-VL repository the engine needs. */
final class ModelFiles {

    static final String CONFIG = "config.json";

    /** Fetched when the repository has them; a 404 just means this model does without. */
    static final List<String> OPTIONAL = List.of(
            "generation_config.json", "preprocessor_config.json",
            "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "chat_template.json",
            "special_tokens_map.json", "added_tokens.json", "qwen.tiktoken");

    /**
     * Weight entry points in order of preference: safetensors first, the {@code .bin} pickles only for
     * repos that have nothing else (the original Qwen-VL-Chat).
     */
    static final List<String> WEIGHTS = List.of(
            "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json");

    private ModelFiles() {
    }

    /**
     * What keeps a snapshot folder from being loadable: {@code config.json}, a weight entry point, or shards
     * its index lists. Empty when complete. Optional files are not checked: a repo may not have them.
     */
    static List<String> missingIn(Path dir) throws IOException {
        return missingIn(dir, true);
    }

    /** As {@link #missingIn(Path)}; without {@code withWeights} only {@code config.json} is required. */
    static List<String> missingIn(Path dir, boolean withWeights) throws IOException {
        List<String> missing = new ArrayList<>();
        if (!Files.isRegularFile(dir.resolve(CONFIG))) {
            missing.add(CONFIG);
        }
        if (!withWeights) {
            return missing;
        }
        String weights = WEIGHTS.stream().filter(w -> Files.isRegularFile(dir.resolve(w))).findFirst().orElse(null);
        if (weights == null) {
            missing.add("weights (one of " + String.join(", ", WEIGHTS) + ")");
        } else if (isIndex(weights)) {
            for (String shard : shardsOf(dir.resolve(weights))) {
                if (!Files.isRegularFile(dir.resolve(shard))) {
                    missing.add(shard);
                }
            }
        }
        return missing;
    }

    static boolean isIndex(String file) {
        return file.endsWith(".index.json");
    }

    /** The shard files an index's {@code weight_map} points to, each checked to stay inside the snapshot. */
    static List<String> shardsOf(Path indexFile) throws IOException {
        try {
            JsonObject index = JsonParser.parseString(Files.readString(indexFile, StandardCharsets.UTF_8))
                    .getAsJsonObject();
            JsonElement weightMap = index.get("weight_map");
            if (weightMap == null || !weightMap.isJsonObject()) {
                throw new ModelDownloadException("Weight index " + indexFile + " has no weight_map");
            }
            TreeSet<String> shards = new TreeSet<>();
            for (Map.Entry<String, JsonElement> entry : weightMap.getAsJsonObject().entrySet()) {
                shards.add(Revisions.requireSafeRepoFile(entry.getValue().getAsString()));
            }
            return List.copyOf(shards);
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
            throw new ModelDownloadException("Unreadable weight index " + indexFile + ": " + e.getMessage(), e);
        }
    }
}
