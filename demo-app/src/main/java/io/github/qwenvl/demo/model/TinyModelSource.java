package io.github.qwenvl.demo.model;

import io.github.qwenvl.hub.ModelResolver;
import io.github.qwenvl.spring.autoconfigure.QwenVlModelSource;
import io.github.qwenvl.spring.autoconfigure.QwenVlProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The {@code tiny} profile's model: the random-weight Qwen2-VL checkpoint bundled in the jar
 * ({@code tiny-model/}), extracted once into a private temporary directory (owner-only, deleted on
 * shutdown). It replaces the starter's {@link QwenVlModelSource}, which backs off for it, so nothing
 * is looked up on the Hugging Face Hub.
 */
public class TinyModelSource extends QwenVlModelSource implements DisposableBean {

    /** The model id the pages and the OpenAI API report. */
    public static final String MODEL_ID = "qwen2-vl-tiny-random";
    static final String LOCATION = "classpath*:tiny-model/*";

    private static final Logger log = LoggerFactory.getLogger(TinyModelSource.class);

    private Path directory;

    public TinyModelSource(QwenVlProperties properties, ModelResolver resolver) {
        super(properties, resolver);
    }

    @Override
    public String modelId() {
        return MODEL_ID;
    }

    @Override
    public Path resolveDescription() {
        return resolve();
    }

    @Override
    public synchronized Path resolve() {
        if (directory == null) {
            directory = extract();
        }
        return directory;
    }

    private static Path extract() {
        try {
            Resource[] files = new PathMatchingResourcePatternResolver().getResources(LOCATION);
            if (files.length == 0) {
                throw new IllegalStateException("The tiny model is not bundled (no " + LOCATION + "): build demo-app with"
                        + " Maven, which copies fixtures/qwen2-vl-tiny/model into the jar");
            }
            // createTempDirectory makes an owner-only (rwx------) directory on POSIX systems
            Path dir = Files.createTempDirectory("qwen-vl-tiny-model-");
            for (Resource file : files) {
                String name = file.getFilename();
                // names come from the jar we built, never from a request; still refuse anything path-like
                if (name == null || name.isBlank() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                    continue;
                }
                try (InputStream in = file.getInputStream()) {
                    Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw new IllegalStateException("The bundled tiny model has no config.json");
            }
            log.info("Extracted the bundled tiny random-weight Qwen2-VL model to {}", dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot extract the bundled tiny model", e);
        }
    }

    @Override
    public synchronized void destroy() {
        if (directory == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: it is a temporary directory
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
        directory = null;
    }
}
