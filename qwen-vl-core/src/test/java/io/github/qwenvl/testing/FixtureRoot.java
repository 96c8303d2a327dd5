package io.github.qwenvl.testing;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Stream;

/**
 * The two fixture roots of the tests.
 * <ul>
 * <li>{@link #root()}: the golden root the manifest-driven golden suites run against,
 * {@code -Dqwenvl.fixtures=<root>} (Maven sets it to the repository's {@code fixtures/} folder). A <em>set</em> is any
 * folder of the root holding {@code manifest.json} or {@code goldens/manifest.json}; those suites generate their tests
 * from the manifests, never from set names, and run whatever the root holds ({@link GoldenCoverageTest} checks that
 * every set was run by some suite).</li>
 * <li>{@link #bundled()}: the repository's own {@code fixtures/} ({@code -Dqwenvl.bundled.fixtures}, set by Maven),
 * for the tests that need particular sets (a Qwen2-VL checkpoint to shard, a Qwen-VL one to cast to float16 ...):
 * they read it whatever the golden root is.</li>
 * </ul>
 */
public final class FixtureRoot {

    private FixtureRoot() {
    }

    /** The golden root ({@code -Dqwenvl.fixtures}). */
    public static Path root() {
        return existing(System.getProperty("qwenvl.fixtures"), "qwenvl.fixtures");
    }

    /** The repository's own fixtures ({@code -Dqwenvl.bundled.fixtures}), whatever the golden root is. */
    public static Path bundled() {
        return existing(System.getProperty("qwenvl.bundled.fixtures"), "qwenvl.bundled.fixtures");
    }

    private static Path existing(String configured, String property) {
        Path root = configured != null && !configured.isBlank()
                ? Paths.get(configured)
                : Paths.get("..", "fixtures");
        root = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("Fixture root " + root + " does not exist (set -D" + property + ")");
        }
        return root;
    }

    /** Every set of the golden root, sorted by folder name. */
    public static List<FixtureSet> sets() {
        return sets(root());
    }

    /** Every set of the bundled fixtures, sorted by folder name. */
    public static List<FixtureSet> bundledSets() {
        return sets(bundled());
    }

    /** Every set of a root, sorted by folder name. */
    public static List<FixtureSet> sets(Path root) {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory).sorted().map(dir -> {
                Path m = dir.resolve("manifest.json");
                if (!Files.isRegularFile(m)) {
                    m = dir.resolve("goldens").resolve("manifest.json");
                }
                return Files.isRegularFile(m) ? new FixtureSet(root, dir, m, readJson(m)) : null;
            }).filter(s -> s != null).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonObject readJson(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
