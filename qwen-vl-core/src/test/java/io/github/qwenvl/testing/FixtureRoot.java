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
 * The golden fixture root the suites run against: {@code -Dqwenvl.fixtures=<root>} (Maven sets it to
 * the bundled {@code fixtures/} folder). A <em>set</em> is any folder of the root holding
 * {@code manifest.json} or {@code goldens/manifest.json}; tests are generated from the manifests,
 * never from set names.
 */
public final class FixtureRoot {

    private FixtureRoot() {
    }

    public static Path root() {
        String configured = System.getProperty("qwenvl.fixtures");
        Path root = configured != null && !configured.isBlank()
                ? Paths.get(configured)
                : Paths.get("..", "fixtures");
        root = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("Fixture root " + root + " does not exist (set -Dqwenvl.fixtures)");
        }
        return root;
    }

    /** Every set of the root, sorted by folder name. */
    public static List<FixtureSet> sets() {
        Path root = root();
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
