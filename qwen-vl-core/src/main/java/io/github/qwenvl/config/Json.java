package io.github.qwenvl.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.qwenvl.checkpoint.CheckpointException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Small typed accessors over Gson for the Hugging Face JSON files. */
public final class Json {

    private Json() {
    }

    public static JsonObject read(Path file) {
        try {
            JsonElement e = JsonParser.parseString(Files.readString(file));
            if (!e.isJsonObject()) {
                throw new CheckpointException(file + " is not a JSON object");
            }
            return e.getAsJsonObject();
        } catch (NoSuchFileException e) {
            throw new CheckpointException("Missing " + file.getFileName() + " in " + file.getParent());
        } catch (IOException | RuntimeException e) {
            if (e instanceof CheckpointException ce) {
                throw ce;
            }
            throw new CheckpointException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public static JsonObject readOrEmpty(Path file) {
        return Files.isRegularFile(file) ? read(file) : new JsonObject();
    }

    public static boolean has(JsonObject o, String key) {
        return o != null && o.has(key) && !o.get(key).isJsonNull();
    }

    public static int getInt(JsonObject o, String key, int fallback) {
        return has(o, key) ? o.get(key).getAsInt() : fallback;
    }

    public static int requireInt(JsonObject o, String key, String where) {
        if (!has(o, key)) {
            throw new CheckpointException(where + " lacks \"" + key + "\"");
        }
        return o.get(key).getAsInt();
    }

    public static double getDouble(JsonObject o, String key, double fallback) {
        return has(o, key) ? o.get(key).getAsDouble() : fallback;
    }

    public static Double getDoubleOrNull(JsonObject o, String key) {
        return has(o, key) ? o.get(key).getAsDouble() : null;
    }

    public static Integer getIntOrNull(JsonObject o, String key) {
        return has(o, key) ? o.get(key).getAsInt() : null;
    }

    public static boolean getBoolean(JsonObject o, String key, boolean fallback) {
        return has(o, key) ? o.get(key).getAsBoolean() : fallback;
    }

    public static String getString(JsonObject o, String key, String fallback) {
        return has(o, key) ? o.get(key).getAsString() : fallback;
    }

    public static int[] getIntArray(JsonObject o, String key, int[] fallback) {
        if (!has(o, key)) {
            return fallback;
        }
        JsonElement e = o.get(key);
        if (e.isJsonPrimitive()) {
            return new int[] {e.getAsInt()};
        }
        JsonArray a = e.getAsJsonArray();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    public static double[] getDoubleArray(JsonObject o, String key, double[] fallback) {
        if (!has(o, key)) {
            return fallback;
        }
        JsonArray a = o.getAsJsonArray(key);
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsDouble();
        }
        return out;
    }
}
