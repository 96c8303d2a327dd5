package io.github.qwenvl.testing;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.DynamicNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which golden suite runs which set of a fixture root. The suites are listed in {@code golden-suites.txt} (next to
 * this class); each declares {@code static List<FixtureSet> goldenSets(List<FixtureSet> sets)}, the sets its tests
 * run, computed by the same code that generates its tests, and checks with {@link #eachSetHasTests} that every one of
 * them got at least one test. A root whose every set is run by some suite is covered; a set no suite runs (an
 * architecture without a suite, a misnamed manifest) is reported with what it looks like.
 */
public final class GoldenCoverage {

    /** The registry of golden suites: one class name a line, {@code #} comments. */
    public static final String REGISTRY = "golden-suites.txt";

    private GoldenCoverage() {
    }

    /** The registered suite classes, in file order. */
    public static List<String> suites() {
        List<String> out = new ArrayList<>();
        try (InputStream in = GoldenCoverage.class.getResourceAsStream(REGISTRY)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + REGISTRY + " next to " + GoldenCoverage.class.getName());
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                line = line.strip();
                if (!line.isEmpty() && !line.startsWith("#")) {
                    out.add(line);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The sets of {@code sets} that a registered suite runs, by suite class name. */
    @SuppressWarnings("unchecked")
    public static List<FixtureSet> goldenSets(String suite, List<FixtureSet> sets) {
        try {
            Method m = Class.forName(suite).getDeclaredMethod("goldenSets", List.class);
            m.setAccessible(true);
            return (List<FixtureSet>) m.invoke(null, sets);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(suite + " is listed in " + REGISTRY
                    + " but declares no static List<FixtureSet> goldenSets(List<FixtureSet>)", e);
        } catch (ClassNotFoundException | IllegalAccessException e) {
            throw new IllegalStateException(suite + " is listed in " + REGISTRY + " but cannot be called: " + e, e);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(suite + ".goldenSets failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * The suites running each set of a root, by set name (a set no suite runs maps to an empty list). Fails when the
     * root holds no set at all.
     */
    public static Map<String, List<String>> coverage(Path root) {
        List<FixtureSet> sets = FixtureRoot.sets(root);
        if (sets.isEmpty()) {
            throw new AssertionError("Fixture root " + root + " holds no set (no <folder>/manifest.json or"
                    + " <folder>/goldens/manifest.json): is -Dqwenvl.fixtures the right folder?");
        }
        Map<String, List<String>> out = new LinkedHashMap<>();
        sets.forEach(s -> out.put(s.name(), new ArrayList<>()));
        for (String suite : suites()) {
            for (FixtureSet s : goldenSets(suite, sets)) {
                out.get(s.name()).add(suite.substring(suite.lastIndexOf('.') + 1));
            }
        }
        return out;
    }

    /** A description of a set no suite runs: its folder, manifest and what kind of model or tokenizer it holds. */
    public static String describe(FixtureSet set) {
        return set.name() + " (" + set.root().relativize(set.manifestFile()) + ", " + what(set) + ")";
    }

    /** The architecture a set's manifest or checkpoint names, or its kind. */
    static String what(FixtureSet set) {
        JsonObject m = set.manifest();
        if (m.has("config_summary") && m.getAsJsonObject("config_summary").has("model_type")) {
            return "model_type " + m.getAsJsonObject("config_summary").get("model_type").getAsString();
        }
        for (String key : new String[] {"model_dir", "model"}) {
            String dir = null;
            if (m.has(key) && m.get(key).isJsonPrimitive()) {
                dir = m.get(key).getAsString();
            } else if (m.has(key) && m.get(key).isJsonObject() && m.getAsJsonObject(key).has("dir")) {
                dir = m.getAsJsonObject(key).get("dir").getAsString();
            }
            if (dir != null) {
                Path config = set.resolve(dir).resolve("config.json");
                if (Files.isRegularFile(config)) {
                    JsonObject c = FixtureRoot.readJson(config);
                    return c.has("model_type") ? "model_type " + c.get("model_type").getAsString()
                            : "a checkpoint with no model_type";
                }
            }
        }
        if (m.has("architecture")) {
            return "architecture " + m.get("architecture").getAsString();
        }
        return m.has("kind") ? "kind " + m.get("kind").getAsString() : "no model_type, architecture or kind";
    }

    /**
     * Fails unless every set a suite claims got at least one of its tests: a test named {@code <set>/...} or a
     * container named {@code <set>}.
     */
    public static void eachSetHasTests(String suite, List<FixtureSet> claimed, Collection<? extends DynamicNode> tests) {
        for (FixtureSet set : claimed) {
            boolean found = tests.stream().map(DynamicNode::getDisplayName)
                    .anyMatch(n -> n.equals(set.name()) || n.startsWith(set.name() + "/"));
            if (!found) {
                throw new AssertionError(suite + " claims set " + set.name() + " but generated no test for it");
            }
        }
    }
}
