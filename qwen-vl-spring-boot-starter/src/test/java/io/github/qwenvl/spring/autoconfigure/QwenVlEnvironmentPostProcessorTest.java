package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.spring.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The starter's logging defaults: DJL's CUDA probe warnings are off unless the GPU is asked for. */
@ExtendWith(OutputCaptureExtension.class)
class QwenVlEnvironmentPostProcessorTest {

    private final QwenVlEnvironmentPostProcessor processor = new QwenVlEnvironmentPostProcessor();

    @Test
    void cudaProbeWarningsAreOffByDefault() {
        StandardEnvironment env = new StandardEnvironment();
        processor.postProcessEnvironment(env, new SpringApplication());
        assertThat(env.getProperty(QwenVlEnvironmentPostProcessor.CUDA_LOG_LEVEL)).isEqualTo("ERROR");
    }

    @Test
    void theApplicationsOwnLevelWins() {
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources().addFirst(new MapPropertySource("app",
                Map.of(QwenVlEnvironmentPostProcessor.CUDA_LOG_LEVEL, "WARN")));
        processor.postProcessEnvironment(env, new SpringApplication());
        assertThat(env.getProperty(QwenVlEnvironmentPostProcessor.CUDA_LOG_LEVEL)).isEqualTo("WARN");
    }

    @Test
    void deviceGpuKeepsTheWarnings() {
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources().addFirst(new MapPropertySource("app",
                Map.<String, Object>of("spring.ai.qwen-vl.runtime.device", "gpu")));
        processor.postProcessEnvironment(env, new SpringApplication());
        assertThat(env.getProperty(QwenVlEnvironmentPostProcessor.CUDA_LOG_LEVEL)).isNull();
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(QwenVlAutoConfiguration.class)
    static class App {
    }

    /** On a machine with a CUDA runtime but no usable driver DJL would warn here; on others this holds anyway. */
    @Test
    void anApplicationStartsWithoutCudaWarnings(CapturedOutput output) {
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(App.class)
                .web(WebApplicationType.NONE).properties("spring.ai.qwen-vl.model=" + TinyModels.qwen2vl()).run()) {
            assertThat(context.getEnvironment().getProperty(QwenVlEnvironmentPostProcessor.CUDA_LOG_LEVEL))
                    .isEqualTo("ERROR");
        }
        assertThat(output).doesNotContain("Failed to detect GPU count");
    }
}
