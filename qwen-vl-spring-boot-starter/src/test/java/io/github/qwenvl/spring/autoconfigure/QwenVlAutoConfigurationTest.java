package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlChatOptions;
import io.github.qwenvl.spring.QwenVlHealthIndicator;
import io.github.qwenvl.spring.QwenVlModelHolder;
import io.github.qwenvl.spring.TinyModels;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class QwenVlAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(QwenVlAutoConfiguration.class));

    private String tinyModel() {
        return "spring.ai.qwen-vl.model=" + TinyModels.qwen2vl();
    }

    @Test
    void createsChatModelFromProperties() {
        runner.withPropertyValues(tinyModel(), "spring.ai.qwen-vl.runtime.device=cpu",
                        "spring.ai.qwen-vl.chat.options.temperature=0.3",
                        "spring.ai.qwen-vl.chat.options.max-tokens=77",
                        "spring.ai.qwen-vl.chat.options.repetition-penalty=1.1",
                        "spring.ai.qwen-vl.chat.options.max-pixels=200704",
                        "spring.ai.qwen-vl.chat.options.stop-sequences=END,STOP",
                        "spring.ai.qwen-vl.serving.max-concurrent-requests=2",
                        "spring.ai.qwen-vl.serving.request-timeout=30s",
                        "spring.ai.qwen-vl.runtime.decode-mode=engine")
                .run(context -> {
                    assertThat(context).hasSingleBean(QwenVlChatModel.class).hasSingleBean(ChatModel.class);
                    QwenVlChatOptions options = (QwenVlChatOptions) context.getBean(QwenVlChatModel.class).getDefaultOptions();
                    assertThat(options.getTemperature()).isEqualTo(0.3);
                    assertThat(options.getMaxTokens()).isEqualTo(77);
                    assertThat(options.getRepetitionPenalty()).isEqualTo(1.1);
                    assertThat(options.getMaxPixels()).isEqualTo(200704);
                    assertThat(options.getStopSequences()).containsExactly("END", "STOP");
                    assertThat(options.getModel()).isEqualTo("model");
                    QwenVlProperties props = context.getBean(QwenVlProperties.class);
                    assertThat(props.getRuntime().getDevice()).isEqualTo(QwenVlOptions.DeviceKind.CPU);
                    assertThat(props.getServing().getRequestTimeout()).isEqualTo(Duration.ofSeconds(30));
                    assertThat(props.toEngineOptions().decodeMode()).isEqualTo(QwenVlOptions.DecodeMode.ENGINE);
                    assertThat(context.getBean(QwenVlModelHolder.class).isLoaded()).isTrue();
                });
    }

    @Test
    void int8DecodeModeBindsAndAnswers() {
        bindsAndAnswers("spring.ai.qwen-vl.runtime.decode-mode=java-int8",
                options -> assertThat(options.decodeMode()).isEqualTo(QwenVlOptions.DecodeMode.JAVA_INT8));
    }

    @Test
    void int4DecodeModeBindsAndAnswers() {
        bindsAndAnswers("spring.ai.qwen-vl.runtime.decode-mode=java-int4",
                options -> assertThat(options.decodeMode()).isEqualTo(QwenVlOptions.DecodeMode.JAVA_INT4));
    }

    @Test
    void weightModeBindsAndAnswers() {
        bindsAndAnswers("spring.ai.qwen-vl.runtime.weight-mode=float32-copies",
                options -> assertThat(options.weightMode()).isEqualTo(QwenVlOptions.WeightMode.FLOAT32_COPIES));
    }

    @Test
    void bf16MatmulWeightModeBindsAndAnswers() {
        bindsAndAnswers("spring.ai.qwen-vl.runtime.weight-mode=bf16-matmul",
                options -> assertThat(options.weightMode()).isEqualTo(QwenVlOptions.WeightMode.BF16_MATMUL));
    }

    @Test
    void collectGarbageBindsAndAnswers() {
        assertThat(new QwenVlProperties().toEngineOptions().collectGarbage()).isTrue();
        bindsAndAnswers("spring.ai.qwen-vl.runtime.collect-garbage=false",
                options -> assertThat(options.collectGarbage()).isFalse());
    }

    /** The tiny model with {@code property}: the engine options it binds pass {@code check}, and a call answers. */
    private void bindsAndAnswers(String property, java.util.function.Consumer<QwenVlOptions> check) {
        runner.withPropertyValues(tinyModel(), property, "spring.ai.qwen-vl.chat.options.max-tokens=12")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    check.accept(context.getBean(QwenVlProperties.class).toEngineOptions());
                    org.springframework.ai.chat.model.ChatResponse response = context.getBean(ChatModel.class)
                            .call(new org.springframework.ai.chat.prompt.Prompt("Describe a lighthouse."));
                    assertThat(response.getMetadata().getUsage().getCompletionTokens()).isPositive();
                });
    }

    @Test
    void weightCacheDirIsPassedToTheEngine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path cache) {
        runner.withPropertyValues(tinyModel(), "spring.ai.qwen-vl.runtime.weight-cache-dir=" + cache)
                .run(context -> {
                    assertThat(context).hasSingleBean(QwenVlChatModel.class);
                    QwenVlProperties props = context.getBean(QwenVlProperties.class);
                    assertThat(props.toEngineOptions().weightCacheDir()).isEqualTo(cache);
                    // the tiny checkpoint stores BF16: its float32 copy was written while the model loaded
                    try (var entries = java.nio.file.Files.list(cache)) {
                        assertThat(entries.filter(e -> java.nio.file.Files.isRegularFile(e.resolve("model.safetensors"))))
                                .hasSize(1);
                    }
                });
    }

    @Test
    void healthReportsTheLoadedModel() {
        runner.withPropertyValues(tinyModel()).run(context -> {
            Health health = context.getBean(QwenVlHealthIndicator.class).health(true);
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("architecture", "Qwen2VLForConditionalGeneration")
                    .containsKey("parameters").containsEntry("device", "cpu()")
                    .containsEntry("runningRequests", 0).containsEntry("queuedRequests", 0)
                    // Java decode (the Vector API is on under Surefire): steps are batched
                    .containsEntry("batchedRequests", 0).containsEntry("decodingRequests", 0)
                    .containsEntry("maxBatchSize", 4);
        });
    }

    @Test
    void batchSizeBindsAndConcurrencyFollowsItUnlessSet() {
        runner.withPropertyValues(tinyModel(), "spring.ai.qwen-vl.serving.max-batch-size=6").run(context -> {
            QwenVlProperties props = context.getBean(QwenVlProperties.class);
            assertThat(props.toEngineOptions().serving().maxBatchSize()).isEqualTo(6);
            assertThat(props.concurrentRequests()).isEqualTo(6);
            assertThat(context.getBean(QwenVlChatModel.class).gate().limit()).isEqualTo(6);
            assertThat(context.getBean(QwenVlModelHolder.class).get().decodeStats().maxBatchSize()).isEqualTo(6);
        });
        runner.withPropertyValues(tinyModel(), "spring.ai.qwen-vl.serving.max-batch-size=6",
                "spring.ai.qwen-vl.serving.max-concurrent-requests=2").run(context ->
                assertThat(context.getBean(QwenVlChatModel.class).gate().limit()).isEqualTo(2));
        // decode steps that cannot be batched: one generation at a time unless set
        runner.withPropertyValues(tinyModel(), "spring.ai.qwen-vl.runtime.decode-mode=engine").run(context -> {
            assertThat(context.getBean(QwenVlChatModel.class).gate().limit()).isEqualTo(1);
            assertThat(context.getBean(QwenVlModelHolder.class).get().decodeStats()).isNull();
            assertThat(context.getBean(QwenVlHealthIndicator.class).health(true).getDetails())
                    .doesNotContainKey("batchedRequests");
        });
    }

    @Test
    void disabledWhenAnotherChatModelIsSelected() {
        runner.withPropertyValues(tinyModel(), "spring.ai.model.chat=none")
                .run(context -> assertThat(context).doesNotHaveBean(QwenVlChatModel.class)
                        .doesNotHaveBean(QwenVlModelHolder.class));
        runner.withPropertyValues(tinyModel(), "spring.ai.model.chat=qwen-vl")
                .run(context -> assertThat(context).hasSingleBean(QwenVlChatModel.class));
    }

    @Test
    void backsOffWhenTheApplicationDefinesItsOwnBeans() {
        runner.withPropertyValues(tinyModel()).withUserConfiguration(OwnModel.class)
                .run(context -> {
                    assertThat(context).hasSingleBean(QwenVlChatModel.class);
                    assertThat(context.getBean(QwenVlChatModel.class)).isSameAs(context.getBean("myModel"));
                    assertThat(context.getBean(QwenVlChatModel.class).getDefaultOptions().getMaxTokens()).isEqualTo(5);
                });
    }

    @Test
    void missingModelFailsStartupWithAClearMessage() {
        runner.withPropertyValues("spring.ai.qwen-vl.model=/nonexistent/checkpoint")
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("/nonexistent/checkpoint"));
        runner.withPropertyValues("spring.ai.qwen-vl.model=" + TinyModels.root())
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("config.json"));
    }

    @Test
    void lazyLoadDefersLoadingAndReportsFailureInHealth(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        // complete and well-formed enough for the startup checks, corrupt weights that only the load finds
        java.nio.file.Path copy = LazyLoadValidationTest.copyOfTinyModel(dir);
        java.nio.file.Path weights = copy.resolve("model.safetensors");
        byte[] bytes = java.nio.file.Files.readAllBytes(weights);
        java.nio.file.Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        runner.withPropertyValues("spring.ai.qwen-vl.model=" + copy, "spring.ai.qwen-vl.runtime.lazy-load=true")
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(QwenVlChatModel.class);
                    QwenVlModelHolder holder = context.getBean(QwenVlModelHolder.class);
                    assertThat(holder.isLoaded()).isFalse();
                    assertThat(context.getBean(QwenVlHealthIndicator.class).health(true).getStatus()).isEqualTo(Status.UNKNOWN);
                    org.assertj.core.api.Assertions.assertThatThrownBy(holder::get).hasMessageContaining("model.safetensors");
                    assertThat(context.getBean(QwenVlHealthIndicator.class).health(true).getStatus()).isEqualTo(Status.DOWN);
                });
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnModel {
        @Bean
        QwenVlChatModel myModel(QwenVlModelHolder holder) {
            return QwenVlChatModel.builder().model(holder)
                    .defaultOptions(QwenVlChatOptions.builder().maxTokens(5).build()).build();
        }
    }
}
