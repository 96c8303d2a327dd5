package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.hub.ModelNotFoundException;
import io.github.qwenvl.hub.ModelOfflineException;
import io.github.qwenvl.spring.QwenVlModelHolder;
import io.github.qwenvl.spring.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code runtime.lazy-load} defers loading the weights, not checking the configuration. */
class LazyLoadValidationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(QwenVlAutoConfiguration.class))
            .withPropertyValues("spring.ai.qwen-vl.runtime.lazy-load=true");

    @Test
    void aMissingLocalDirectoryFailsTheStart(@TempDir Path dir) {
        runner.withPropertyValues("spring.ai.qwen-vl.model=" + dir.resolve("nowhere"))
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("nowhere"));
    }

    @Test
    void aClasspathFolderWithoutACheckpointFailsTheStart() {
        runner.withPropertyValues("spring.ai.qwen-vl.model=classpath:no/such/checkpoint")
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("no/such/checkpoint"));
    }

    @Test
    void aDirectoryWithoutWeightsFailsTheStart(@TempDir Path dir) throws IOException {
        Path copy = copyOfTinyModel(dir);
        Files.delete(copy.resolve("model.safetensors"));
        runner.withPropertyValues("spring.ai.qwen-vl.model=" + copy)
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .isInstanceOf(CheckpointException.class).hasMessageContaining("model.safetensors"));
    }

    @Test
    void anUnsupportedArchitectureFailsTheStart(@TempDir Path dir) throws IOException {
        Path copy = copyOfTinyModel(dir);
        Path config = copy.resolve("config.json");
        Files.writeString(config, Files.readString(config)
                .replace("Qwen2VLForConditionalGeneration", "LlamaForCausalLM").replace("\"qwen2_vl\"", "\"llama\""));
        runner.withPropertyValues("spring.ai.qwen-vl.model=" + copy)
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .isInstanceOf(CheckpointException.class).hasMessageContaining("LlamaForCausalLM"));
    }

    @Test
    void offlineWithoutACachedCopyFailsTheStartNamingTheProperty(@TempDir Path cache) {
        runner.withPropertyValues("spring.ai.qwen-vl.model=acme/not-cached", "spring.ai.qwen-vl.hub.offline=true",
                        "spring.ai.qwen-vl.hub.cache-dir=" + cache)
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .isInstanceOf(ModelOfflineException.class)
                        .hasMessageContaining("spring.ai.qwen-vl.hub.offline=true")
                        .hasMessageNotContaining("HF_HUB_OFFLINE"));
    }

    @Test
    void aGoodDirectoryStartsWithoutLoading() {
        runner.withPropertyValues("spring.ai.qwen-vl.model=" + TinyModels.qwen2vl())
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(QwenVlModelHolder.class).isLoaded()).isFalse();
                });
    }

    @Test
    void aRepoIdThatMayStillBeDownloadedIsNotFetchedAtStartup(@TempDir Path cache) {
        // an endpoint nothing listens on: any request at startup would fail the start
        runner.withPropertyValues("spring.ai.qwen-vl.model=acme/not-cached", "spring.ai.qwen-vl.hub.offline=false",
                        "spring.ai.qwen-vl.hub.endpoint=http://127.0.0.1:1", "spring.ai.qwen-vl.hub.cache-dir=" + cache)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(QwenVlModelHolder.class).isLoaded()).isFalse();
                });
    }

    static Path copyOfTinyModel(Path dir) throws IOException {
        Path copy = dir.resolve("checkpoint");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(TinyModels.qwen2vl())) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        return copy;
    }
}
