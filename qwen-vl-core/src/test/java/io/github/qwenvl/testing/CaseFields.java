package io.github.qwenvl.testing;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Strict reading of a golden case: every field is either used by the suite or in the suite's list of fields it
 * deliberately ignores; any other field fails the test with its name, so a fixture root whose cases say more than the
 * suite understands (a flag such as {@code add_vision_id}, a sampling setting) fails instead of being run as if the
 * field were absent.
 */
public final class CaseFields {

    private CaseFields() {
    }

    /**
     * Fails when {@code object} has a field in neither {@code used} nor {@code ignored}.
     *
     * @param where   names the object in the message (set, case, part)
     * @param used    the fields the suite reads and checks or applies
     * @param ignored the fields the suite deliberately does not use (checked elsewhere or not applicable)
     */
    public static void check(String where, JsonObject object, Set<String> used, Set<String> ignored) {
        Set<String> unknown = new TreeSet<>();
        for (String key : object.keySet()) {
            if (!used.contains(key) && !ignored.contains(key)) {
                unknown.add(key);
            }
        }
        if (!unknown.isEmpty()) {
            throw new AssertionError(where + ": unknown field" + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown)
                    + " (the suite uses " + new TreeSet<>(used) + " and deliberately ignores " + new TreeSet<>(ignored)
                    + "; teach it the field or list it as ignored)");
        }
    }

    /** Fails unless the field is absent, JSON null or one of {@code allowed} (compared as JSON). */
    public static void requireOneOf(String where, JsonObject object, String field, List<JsonElement> allowed) {
        JsonElement value = object.get(field);
        if (value == null || value.isJsonNull()) {
            return;
        }
        if (!allowed.contains(value)) {
            throw new AssertionError(where + ": " + field + " = " + value + " is not supported by this suite (supported: "
                    + allowed + ")");
        }
    }
}
