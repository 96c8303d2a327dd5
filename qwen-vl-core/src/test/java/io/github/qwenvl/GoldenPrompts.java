package io.github.qwenvl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.testing.FixtureSet;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Builds engine requests from the manifests' {@code messages} + {@code images} of a prompt case. */
public final class GoldenPrompts {

    private GoldenPrompts() {
    }

    /** The case's messages with its images (files resolved through the preprocess entries), in order. */
    public static List<ChatMessage> messages(FixtureSet set, JsonObject promptCase) {
        List<JsonObject> images = new ArrayList<>();
        if (promptCase.has("images")) {
            promptCase.getAsJsonArray("images").forEach(i -> images.add(i.getAsJsonObject()));
        }
        int nextImage = 0;
        List<ChatMessage> out = new ArrayList<>();
        for (JsonElement m : promptCase.getAsJsonArray("messages")) {
            JsonObject message = m.getAsJsonObject();
            Role role = Role.valueOf(message.get("role").getAsString().toUpperCase(Locale.ROOT));
            List<Content> parts = new ArrayList<>();
            JsonElement content = message.get("content");
            if (content.isJsonPrimitive()) {
                parts.add(Content.text(content.getAsString()));
            } else {
                for (JsonElement p : content.getAsJsonArray()) {
                    JsonObject part = p.getAsJsonObject();
                    if (part.has("text") && "text".equals(part.get("type").getAsString())) {
                        parts.add(Content.text(part.get("text").getAsString()));
                    } else {
                        JsonObject entry = preprocessEntry(set, images.get(nextImage++));
                        parts.add(Content.image(ImageSource.of(set.resolve(entry.get("image").getAsString()))));
                    }
                }
            }
            out.add(new ChatMessage(role, parts));
        }
        return out;
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
