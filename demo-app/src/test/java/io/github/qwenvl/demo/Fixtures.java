package io.github.qwenvl.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/** Test images of the repository's own fixtures (-Dqwenvl.bundled.fixtures, set by the build). */
final class Fixtures {

    private Fixtures() {
    }

    static Path root() {
        String configured = System.getProperty("qwenvl.bundled.fixtures");
        return (configured != null ? Path.of(configured) : Path.of("..", "fixtures")).toAbsolutePath().normalize();
    }

    static Path image(String name) {
        Path p = root().resolve("qwen2-vl-common/images").resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("Missing test image " + p);
        }
        return p;
    }

    static String dataUrl(String name) {
        try {
            String type = name.endsWith(".jpg") ? "image/jpeg" : "image/png";
            return "data:" + type + ";base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(image(name)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path screenshots() {
        String configured = System.getProperty("demo.screenshots");
        Path dir = (configured != null ? Path.of(configured) : Path.of("..", "docs", "screenshots")).toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }
}
