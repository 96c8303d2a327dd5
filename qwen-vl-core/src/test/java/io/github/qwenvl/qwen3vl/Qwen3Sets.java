package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;

import java.util.ArrayList;
import java.util.List;

/** The Qwen3-VL fixture sets of the root: checkpoint sets whose manifest's {@code config_summary} says qwen3_vl. */
final class Qwen3Sets {

    private Qwen3Sets() {
    }

    static List<FixtureSet> all() {
        return of(FixtureRoot.sets());
    }

    /** The Qwen3-VL sets among {@code sets}. */
    static List<FixtureSet> of(List<FixtureSet> sets) {
        return sets.stream().filter(Qwen3Sets::isQwen3).toList();
    }

    static boolean isQwen3(FixtureSet set) {
        JsonObject m = set.manifest();
        if (!m.has("model_dir") || !m.has("config_summary")) {
            return false;
        }
        JsonElement type = m.getAsJsonObject("config_summary").get("model_type");
        return type != null && type.getAsString().startsWith("qwen3_vl");
    }

    /** Inputs of the form {@code {"concat_of": ["file#key", ...]}}. */
    static float[] concat(FixtureSet set, JsonObject spec) {
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
