package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.spring.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Configuration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Applications that cannot load their model fail with Spring Boot's one-screen report: what failed, with the
 * property it came from, and what to do. Each case starts a real {@code SpringApplication} that fails.
 */
@ExtendWith(OutputCaptureExtension.class)
class QwenVlFailureAnalyzerTest {

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(QwenVlAutoConfiguration.class)
    static class App {
    }

    private static void start(String... properties) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
                .properties(properties).run().close()).isNotNull();
    }

    @Test
    void missingLocalDirectory(CapturedOutput output, @TempDir Path dir) {
        start("spring.ai.qwen-vl.model=" + dir.resolve("no-such-checkpoint"));
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("was not found")
                .contains("spring.ai.qwen-vl.model")
                .contains("--spring.ai.qwen-vl.model=/path/to/checkpoint")
                .doesNotContain("\tat io.github.qwenvl");
    }

    @Test
    void offlineAndNotCached(CapturedOutput output, @TempDir Path cache) {
        start("spring.ai.qwen-vl.model=acme/not-cached", "spring.ai.qwen-vl.hub.offline=true",
                "spring.ai.qwen-vl.hub.cache-dir=" + cache);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("The model 'acme/not-cached' (spring.ai.qwen-vl.model) is not in the local Hugging Face"
                        + " cache and offline mode is on")
                .contains("--spring.ai.qwen-vl.model=/path/to/checkpoint")
                .contains("start once online (spring.ai.qwen-vl.hub.offline=false")
                .contains("huggingface-cli download acme/not-cached")
                .doesNotContain("\tat io.github.qwenvl");
    }

    @Test
    void hubUnreachableAndNotCached(CapturedOutput output, @TempDir Path cache) {
        // nothing listens on port 1 of the loopback: the connection is refused at once
        start("spring.ai.qwen-vl.model=acme/not-cached", "spring.ai.qwen-vl.hub.offline=false",
                "spring.ai.qwen-vl.hub.endpoint=http://127.0.0.1:1", "spring.ai.qwen-vl.hub.cache-dir=" + cache);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("must be downloaded from the Hugging Face Hub, which cannot be reached")
                .contains("start once with access to the Hub (http://127.0.0.1:1)")
                .contains("--spring.ai.qwen-vl.model=/path/to/checkpoint")
                .doesNotContain("\tat io.github.qwenvl");
    }

    @Test
    void corruptCheckpoint(CapturedOutput output, @TempDir Path dir) throws IOException {
        Path copy = copyOfTinyModel(dir);
        Path weights = copy.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        start("spring.ai.qwen-vl.model=" + copy);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("cannot be used: a file is missing, incomplete or corrupt")
                .contains("model.safetensors")
                .contains("download the checkpoint again")
                .doesNotContain("\tat io.github.qwenvl");
    }

    @Test
    void unsupportedArchitecture(CapturedOutput output, @TempDir Path dir) throws IOException {
        Path copy = copyOfTinyModel(dir);
        Path config = copy.resolve("config.json");
        Files.writeString(config, Files.readString(config)
                .replace("Qwen2VLForConditionalGeneration", "LlamaForCausalLM")
                .replace("\"qwen2_vl\"", "\"llama\""));
        start("spring.ai.qwen-vl.model=" + copy);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("is not a Qwen vision-language architecture this library runs")
                .contains("LlamaForCausalLM")
                .contains("--spring.ai.qwen-vl.model=Qwen/Qwen2-VL-2B-Instruct")
                .doesNotContain("\tat io.github.qwenvl");
    }

    private static Path copyOfTinyModel(Path dir) throws IOException {
        Path source = TinyModels.qwen2vl();
        Path copy = dir.resolve("checkpoint");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        return copy;
    }
}
