package io.github.qwenvl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.testing.CaseFields;
import io.github.qwenvl.testing.FixtureSet;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Builds engine requests from the manifests' {@code messages} + {@code images} of a prompt case. */
public final class GoldenPrompts {

    private GoldenPrompts() {
    }

    /**
     * The case's messages with its images (files resolved through the preprocess entries), in order. Strict: a message,
     * part or image entry with a field this reader does not know fails with its name, and so does an image part whose
     * file differs from its preprocess entry's.
     */
    public static List<ChatMessage> messages(FixtureSet set, JsonObject promptCase) {
        String where = set.name() + " prompt case";
        List<JsonObject> images = new ArrayList<>();
        if (promptCase.has("images")) {
            promptCase.getAsJsonArray("images").forEach(i -> images.add(i.getAsJsonObject()));
        }
        int nextImage = 0;
        List<ChatMessage> out = new ArrayList<>();
        for (JsonElement m : promptCase.getAsJsonArray("messages")) {
            JsonObject message = m.getAsJsonObject();
            CaseFields.check(where + " message", message, Set.of("role", "content"), Set.of());
            Role role = Role.valueOf(message.get("role").getAsString().toUpperCase(Locale.ROOT));
            List<Content> parts = new ArrayList<>();
            JsonElement content = message.get("content");
            if (content.isJsonPrimitive()) {
                parts.add(Content.text(content.getAsString()));
            } else {
                for (JsonElement p : content.getAsJsonArray()) {
                    JsonObject part = p.getAsJsonObject();
                    String type = part.get("type").getAsString();
                    if (type.equals("text")) {
                        CaseFields.check(where + " text part", part, Set.of("type", "text"), Set.of());
                        parts.add(Content.text(part.get("text").getAsString()));
                    } else if (type.equals("image")) {
                        CaseFields.check(where + " image part", part, Set.of("type"), Set.of());
                        JsonObject image = images.get(nextImage++);
                        // "setting" names the preprocess setting; the entry it selects carries the pixel bounds
                        CaseFields.check(where + " image", image, Set.of("image", "preprocess"), Set.of("setting"));
                        JsonObject entry = preprocessEntry(set, image);
                        Path file = set.resolve(entry.get("image").getAsString());
                        if (!file.getFileName().toString().equals(image.get("image").getAsString())
                                && !file.equals(set.resolve(image.get("image").getAsString()))) {
                            throw new AssertionError(where + ": image " + image.get("image") + " is not the file of its"
                                    + " preprocess entry " + entry.get("image"));
                        }
                        parts.add(Content.image(ImageSource.of(file)));
                    } else {
                        throw new AssertionError(where + ": content part type " + type + " is not supported");
                    }
                }
            }
            out.add(new ChatMessage(role, parts));
        }
        if (nextImage != images.size()) {
            throw new AssertionError(where + ": " + images.size() + " images for " + nextImage + " image parts");
        }
        return out;
    }

    /**
     * The generation options a prompt case asks for: its images' pixel bounds, {@code add_vision_id}; rejects
     * {@code add_generation_prompt: false} (a request always ends with the assistant's turn).
     */
    public static GenerationOptions.Builder options(FixtureSet set, JsonObject promptCase) {
        GenerationOptions.Builder b = pixelBounds(set, promptCase);
        if (promptCase.has("add_vision_id") && !promptCase.get("add_vision_id").isJsonNull()) {
            b.addVisionId(promptCase.get("add_vision_id").getAsBoolean());
        }
        if (promptCase.has("add_generation_prompt") && !promptCase.get("add_generation_prompt").getAsBoolean()) {
            throw new AssertionError(set.name() + ": add_generation_prompt false cannot be a generation request");
        }
        return b;
    }

    /**
     * Checks a transformers {@code generate_kwargs} object of a greedy golden: {@code max_new_tokens} and
     * {@code repetition_penalty} are applied by the suites; {@code do_sample} must be false and {@code num_beams} 1
     * (greedy search); {@code temperature}, {@code top_p}, {@code top_k} are then unused by the reference too;
     * {@code use_cache} does not change greedy results (the engine always caches).
     */
    public static void checkGreedyKwargs(String where, JsonObject kwargs) {
        CaseFields.check(where + " generate_kwargs", kwargs, Set.of("max_new_tokens", "repetition_penalty", "do_sample",
                "num_beams"), Set.of("temperature", "top_p", "top_k", "use_cache"));
        CaseFields.requireOneOf(where + " generate_kwargs", kwargs, "do_sample",
                List.of(new com.google.gson.JsonPrimitive(false)));
        CaseFields.requireOneOf(where + " generate_kwargs", kwargs, "num_beams", List.of(new com.google.gson.JsonPrimitive(1)));
    }

    /** Pixel bounds the case's images were preprocessed with (all images of a case share them). */
    public static GenerationOptions.Builder pixelBounds(FixtureSet set, JsonObject promptCase) {
        GenerationOptions.Builder b = GenerationOptions.builder();
        if (promptCase.has("images") && promptCase.getAsJsonArray("images").size() > 0) {
            JsonObject entry = preprocessEntry(set, promptCase.getAsJsonArray("images").get(0).getAsJsonObject());
            b.minPixels(entry.get("min_pixels").getAsInt()).maxPixels(entry.get("max_pixels").getAsInt());
            for (JsonElement i : promptCase.getAsJsonArray("images")) {
                JsonObject other = preprocessEntry(set, i.getAsJsonObject());
                if (other.get("max_pixels").getAsInt() != entry.get("max_pixels").getAsInt()
                        || other.get("min_pixels").getAsInt() != entry.get("min_pixels").getAsInt()) {
                    throw new IllegalStateException("images of one case with different pixel bounds are not expressible");
                }
            }
        }
        return b;
    }

    static JsonObject preprocessEntry(FixtureSet set, JsonObject image) {
        String name = image.get("preprocess").getAsString();
        for (JsonElement e : set.cases().getAsJsonObject("preprocess").getAsJsonArray("entries")) {
            if (e.getAsJsonObject().get("name").getAsString().equals(name)) {
                return e.getAsJsonObject();
            }
        }
        throw new IllegalStateException("no preprocess entry " + name + " in " + set.name());
    }
}
