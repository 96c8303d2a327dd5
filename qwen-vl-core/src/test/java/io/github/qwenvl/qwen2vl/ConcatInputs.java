package io.github.qwenvl.qwen2vl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;

import java.util.ArrayList;
import java.util.List;

/** Resolves manifest inputs of the form {@code {"concat_of": ["file#key", ...]}}. */
final class ConcatInputs {

    private ConcatInputs() {
    }

    static float[] floats(FixtureSet set, JsonObject spec) {
        List<float[]> parts = new ArrayList<>();
        int total = 0;
        for (JsonElement ref : spec.getAsJsonArray("concat_of")) {
            String[] fileAndKey = ref.getAsString().split("#", 2);
            float[] part = Goldens.floats(set.resolve(fileAndKey[0]), fileAndKey[1]);
            parts.add(part);
            total += part.length;
        }
        float[] out = new float[total];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
