package io.github.qwenvl.spring;

import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Stream;

/** Finds the tiny random-weight checkpoints and images of the repository's own fixtures (-Dqwenvl.bundled.fixtures). */
public final class TinyModels {

    private TinyModels() {
    }

    public static Path root() {
        String configured = System.getProperty("qwenvl.bundled.fixtures");
        return (configured != null ? Paths.get(configured) : Paths.get("..", "fixtures")).toAbsolutePath().normalize();
    }

    /** The first checkpoint directory of the given model_type, if the fixture root has one. */
    public static java.util.Optional<Path> find(String modelType) {
        try (Stream<Path> sets = Files.list(root())) {
            return sets.sorted().map(s -> s.resolve("model")).filter(m -> Files.isRegularFile(m.resolve("config.json")))
                    .filter(m -> modelType.equals(modelType(m))).findFirst();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The first checkpoint directory of the given model_type (qwen2_vl, qwen2_5_vl). */
    public static Path model(String modelType) {
        try (Stream<Path> sets = Files.list(root())) {
            return sets.sorted().map(s -> s.resolve("model")).filter(m -> Files.isRegularFile(m.resolve("config.json")))
                    .filter(m -> modelType.equals(modelType(m))).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no " + modelType + " checkpoint under " + root()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path qwen2vl() {
        return model("qwen2_vl");
    }

    public static Path qwen25vl() {
        return model("qwen2_5_vl");
    }

    /** Test images (png/jpg) of the fixture root, sorted by name. */
    public static List<Path> images() {
        try (Stream<Path> files = Files.walk(root(), 3)) {
            return files.filter(p -> p.getParent().getFileName().toString().equals("images"))
                    .filter(p -> p.toString().endsWith(".png") || p.toString().endsWith(".jpg")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String modelType(Path modelDir) {
        try {
            return JsonParser.parseString(Files.readString(modelDir.resolve("config.json"))).getAsJsonObject()
                    .get("model_type").getAsString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
