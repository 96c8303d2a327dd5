package io.github.qwenvl.testing;

import com.google.gson.JsonObject;

import java.nio.file.Path;

/**
 * One fixture set: its folder, its manifest and how manifest paths resolve.
 *
 * @param root     the fixture root
 * @param dir      the set's folder
 * @param manifestFile the manifest file
 * @param manifest the parsed manifest
 */
public record FixtureSet(Path root, Path dir, Path manifestFile, JsonObject manifest) {

    public String name() {
        return dir.getFileName().toString();
    }

    /** "kind" of a tokenizer-only set; "model" for checkpoint sets. */
    public String kind() {
        return manifest.has("kind") ? manifest.get("kind").getAsString() : "model";
    }

    public JsonObject cases() {
        // Qwen2-family manifests key cases by name; other families may list them (handled by their own tests)
        return manifest.has("cases") && manifest.get("cases").isJsonObject() ? manifest.getAsJsonObject("cases") : new JsonObject();
    }

    /** Qwen2-family checkpoint sets have {@code model_dir} and live under goldens/. */
    public boolean isQwen2Family() {
        if (!manifest.has("model_dir")) {
            return false;
        }
        JsonObject summary = manifest.has("config_summary") ? manifest.getAsJsonObject("config_summary") : null;
        String type = summary != null && summary.has("model_type") ? summary.get("model_type").getAsString() : "";
        return type.startsWith("qwen2");
    }

    /**
     * Resolves a path named in the manifest: Qwen2-family manifests are relative to the fixture root,
     * Qwen-VL-family ones to the set's own folder.
     */
    public Path resolve(String relative) {
        Path fromRoot = root.resolve(relative).normalize();
        if (manifestFile.getParent().getFileName().toString().equals("goldens") || manifest.has("tokenizer_dir")
                || manifest.has("model_dir")) {
            if (java.nio.file.Files.exists(fromRoot)) {
                return fromRoot;
            }
        }
        Path fromSet = dir.resolve(relative).normalize();
        return java.nio.file.Files.exists(fromSet) ? fromSet : fromRoot;
    }

    public Path modelDir() {
        return resolve(manifest.get("model_dir").getAsString());
    }

    @Override
    public String toString() {
        return name();
    }
}
