package io.github.qwenvl.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Map.Entry;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Qwen2-family tokenizers of the fixture root, found through the manifests only: the model directory of
 * every Qwen2-family checkpoint set, and every variant with a {@code tokenizer_json} of every
 * {@code "kind": "tokenizer"} set. Loaded tokenizers are shared by the test classes of one JVM.
 */
public final class TokenizerFixtures {

    /** One tokenizer of the fixtures with the manifest entry describing its cases. */
    public record Source(String label, FixtureSet set, String variant, JsonObject variantManifest, Path dir) {

        public Qwen2Tokenizer tokenizer() {
            return LOADED.computeIfAbsent(dir, Qwen2Tokenizer::load);
        }

        /** The {@code added_tokens} map (token → id) the manifest declares, or an empty object. */
        public JsonObject declaredAddedTokens() {
            JsonObject holder = variantManifest;
            if (holder == null) {
                JsonObject m = set.manifest();
                holder = m.has("config_summary") ? m.getAsJsonObject("config_summary") : new JsonObject();
            }
            return holder.has("added_tokens") && holder.get("added_tokens").isJsonObject()
                    ? holder.getAsJsonObject("added_tokens") : new JsonObject();
        }
    }

    /** A tokenizer case file of a source. */
    public record CaseFile(Source source, String caseKey, Path file) {
    }

    private static final Map<Path, Qwen2Tokenizer> LOADED = new ConcurrentHashMap<>();

    private TokenizerFixtures() {
    }

    /** Qwen2-family checkpoint sets of the golden root. */
    public static List<FixtureSet> modelSets() {
        return modelSets(FixtureRoot.sets());
    }

    /** Qwen2-family checkpoint sets among {@code sets}. */
    public static List<FixtureSet> modelSets(List<FixtureSet> sets) {
        return sets.stream().filter(FixtureSet::isQwen2Family).toList();
    }

    /** Sets of kind "tokenizer" among {@code sets}. */
    public static List<FixtureSet> tokenizerSets(List<FixtureSet> sets) {
        return sets.stream().filter(s -> "tokenizer".equals(s.kind())).toList();
    }

    /** Every Qwen2 tokenizer source of the golden root. */
    public static List<Source> sources() {
        return sources(FixtureRoot.sets());
    }

    /** Every Qwen2 tokenizer source among {@code sets}: model sets first, then tokenizer-set variants with a tokenizer.json. */
    public static List<Source> sources(List<FixtureSet> sets) {
        List<Source> out = new ArrayList<>();
        for (FixtureSet set : modelSets(sets)) {
            out.add(new Source(set.name(), set, null, null, set.modelDir()));
        }
        for (FixtureSet set : tokenizerSets(sets)) {
            for (Entry<String, JsonElement> v : variants(set).entrySet()) {
                JsonObject variant = v.getValue().getAsJsonObject();
                if (hasTokenizerJson(variant)) {
                    out.add(new Source(set.name() + "/" + v.getKey(), set, v.getKey(), variant,
                            variantDir(set, v.getKey(), variant)));
                }
            }
        }
        return out;
    }

    /** Variants of a tokenizer set (a set without a "variants" object has none we can run). */
    public static JsonObject variants(FixtureSet set) {
        JsonObject m = set.manifest();
        return m.has("variants") && m.get("variants").isJsonObject() ? m.getAsJsonObject("variants")
                : new JsonObject();
    }

    public static boolean hasTokenizerJson(JsonObject variant) {
        return variant.has("tokenizer_json") && variant.get("tokenizer_json").isJsonPrimitive();
    }

    /** Case files of a source: {@code cases.tokenizer.file} of a model set, the variant's entries otherwise. */
    public static List<CaseFile> caseFiles(Source source) {
        List<CaseFile> out = new ArrayList<>();
        for (Entry<String, JsonElement> e : source.set().cases().entrySet()) {
            if (!e.getValue().isJsonObject()) {
                continue;
            }
            JsonObject entry = e.getValue().getAsJsonObject();
            if (!entry.has("file")) {
                continue;
            }
            boolean matches = source.variant() == null
                    ? e.getKey().equals("tokenizer")
                    : entry.has("variant") && entry.get("variant").getAsString().equals(source.variant());
            if (matches) {
                out.add(new CaseFile(source, e.getKey(), source.set().resolve(entry.get("file").getAsString())));
            }
        }
        return out;
    }

    /** The "cases" array of a tokenizer case file. */
    public static JsonArray cases(Path caseFile) {
        return readJson(caseFile).getAsJsonArray("cases");
    }

    public static int[] ints(JsonArray array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).getAsInt();
        }
        return out;
    }

    /**
     * A directory laid out like a model directory for a variant: its tokenizer.json (with {@code added_tokens}
     * replaced when the variant names {@code tokenizer_json_added_tokens}) and its tokenizer config as
     * {@code tokenizer_config.json}. Uses the files in place when they already have those names.
     */
    private static Path variantDir(FixtureSet set, String name, JsonObject variant) {
        Path json = set.resolve(variant.get("tokenizer_json").getAsString());
        Path config = variant.has("tokenizer_config") ? set.resolve(variant.get("tokenizer_config").getAsString())
                : json.resolveSibling("tokenizer_config.json");
        boolean inPlace = !variant.has("tokenizer_json_added_tokens")
                && json.getFileName().toString().equals("tokenizer.json")
                && config.getFileName().toString().equals("tokenizer_config.json")
                && config.getParent().equals(json.getParent());
        if (inPlace) {
            return json.getParent();
        }
        try {
            Path dir = Files.createTempDirectory("qwen-tokenizer-" + name.replaceAll("[^A-Za-z0-9_.-]", "_"));
            dir.toFile().deleteOnExit();
            JsonObject tokenizer = readJson(json);
            if (variant.has("tokenizer_json_added_tokens")) {
                Path added = set.resolve(variant.get("tokenizer_json_added_tokens").getAsString());
                tokenizer.add("added_tokens", JsonParser.parseString(read(added)));
            }
            Path outJson = dir.resolve("tokenizer.json");
            Files.writeString(outJson, tokenizer.toString(), StandardCharsets.UTF_8);
            outJson.toFile().deleteOnExit();
            if (Files.isRegularFile(config)) {
                Path outConfig = dir.resolve("tokenizer_config.json");
                Files.copy(config, outConfig);
                outConfig.toFile().deleteOnExit();
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonObject readJson(Path file) {
        return JsonParser.parseString(read(file)).getAsJsonObject();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
