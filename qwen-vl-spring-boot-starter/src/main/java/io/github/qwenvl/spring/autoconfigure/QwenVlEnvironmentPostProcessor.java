package io.github.qwenvl.spring.autoconfigure;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import java.util.Map;

/**
 * Defaults of the starter that must be in place before logging starts, at the lowest precedence (any property
 * source of the application overrides them):
 * {@code logging.level.ai.djl.util.cuda.CudaUtils=ERROR} unless {@code spring.ai.qwen-vl.runtime.device=gpu}. DJL
 * probes for CUDA whenever its PyTorch engine starts; on a machine with a CUDA runtime but no usable driver each
 * probe logs "Failed to detect GPU count" as a warning, although the model then runs on the CPU as asked.
 */
public class QwenVlEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {

    static final String SOURCE = "qwenVlDefaults";
    static final String CUDA_LOG_LEVEL = "logging.level.ai.djl.util.cuda.CudaUtils";
    static final String DEVICE = QwenVlProperties.PREFIX + ".runtime.device";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if ("gpu".equalsIgnoreCase(environment.getProperty(DEVICE, "auto").trim())
                || environment.getPropertySources().contains(SOURCE)) {
            return;
        }
        environment.getPropertySources().addLast(new MapPropertySource(SOURCE, Map.of(CUDA_LOG_LEVEL, "ERROR")));
    }

    @Override
    public int getOrder() {
        // after the application's own configuration files are loaded, so that the device it sets is seen
        return Ordered.LOWEST_PRECEDENCE;
    }
}
