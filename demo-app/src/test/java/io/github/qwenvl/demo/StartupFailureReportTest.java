package io.github.qwenvl.demo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The demo started without its model prints one screen that says what to do, including its tiny profile. */
@ExtendWith(OutputCaptureExtension.class)
class StartupFailureReportTest {

    @Test
    void aMissingModelTellsWhatToDo(CapturedOutput output, @TempDir Path dir) {
        // as command-line arguments: they override the demo's application.properties
        assertThatThrownBy(() -> new SpringApplicationBuilder(DemoApplication.class)
                .run("--server.port=0", "--spring.ai.qwen-vl.model=" + dir.resolve("no-checkpoint")).close())
                .isNotNull();
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("(spring.ai.qwen-vl.model) was not found")
                .contains("--spring.ai.qwen-vl.model=/path/to/checkpoint")
                .contains("--spring.profiles.active=tiny")
                .doesNotContain("\tat io.github.qwenvl");
    }
}
