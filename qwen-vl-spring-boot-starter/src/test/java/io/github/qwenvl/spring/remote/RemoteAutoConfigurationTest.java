package io.github.qwenvl.spring.remote;

import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlHealthIndicator;
import io.github.qwenvl.spring.QwenVlModelHolder;
import io.github.qwenvl.spring.TinyModels;
import io.github.qwenvl.spring.autoconfigure.QwenVlAutoConfiguration;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code spring.ai.qwen-vl.backend=remote}: the same ChatModel bean over a server, the checkpoint's weights unloaded. */
class RemoteAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(QwenVlAutoConfiguration.class));

    @Test
    void remoteBackendBindsItsPropertiesAndAnswers() throws Exception {
        try (ReplayServer server = new ReplayServer().serving("served-qwen")) {
            server.on("/v1/chat/completions", ReplayServer.Answer.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\","
                    + "\"created\":1,\"model\":\"served-qwen\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                    + "\"content\":\"A lighthouse.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":20,"
                    + "\"total_tokens\":23,\"completion_tokens\":3}}"));
            runner.withPropertyValues("spring.ai.qwen-vl.model=" + TinyModels.qwen2vl(),
                            "spring.ai.qwen-vl.backend=remote",
                            "spring.ai.qwen-vl.remote.base-url=" + server.baseUrl() + "/, http://127.0.0.1:9",
                            "spring.ai.qwen-vl.remote.api-key=sk-test",
                            "spring.ai.qwen-vl.remote.connect-timeout=3s",
                            "spring.ai.qwen-vl.remote.read-timeout=20s",
                            "spring.ai.qwen-vl.remote.max-retries=4",
                            "spring.ai.qwen-vl.remote.retry-backoff=100ms",
                            "spring.ai.qwen-vl.remote.load-balancing=fail-over",
                            "spring.ai.qwen-vl.remote.max-pixels=200704",
                            "spring.ai.qwen-vl.remote.downscale-images=true",
                            "spring.ai.qwen-vl.chat.options.max-tokens=7")
                    .run(context -> {
                        assertThat(context).hasNotFailed().hasSingleBean(QwenVlChatModel.class)
                                .doesNotHaveBean(QwenVlModelHolder.class);
                        QwenVlChatModel chat = context.getBean(QwenVlChatModel.class);
                        RemoteSettings s = ((RemoteQwenVlBackend) chat.backend()).settings();
                        assertThat(s.baseUrls()).containsExactly(server.baseUrl(), "http://127.0.0.1:9");
                        assertThat(s.apiKey()).isEqualTo("sk-test");
                        assertThat(s.connectTimeout()).isEqualTo(Duration.ofSeconds(3));
                        assertThat(s.readTimeout()).isEqualTo(Duration.ofSeconds(20));
                        assertThat(s.maxRetries()).isEqualTo(4);
                        assertThat(s.retryBackoff()).isEqualTo(Duration.ofMillis(100));
                        assertThat(s.roundRobin()).isFalse();
                        assertThat(s.maxPixels()).isEqualTo(200704);
                        assertThat(s.downscale()).isTrue();
                        assertThat(chat.backend().architecture().name()).isEqualTo("QWEN2_VL");

                        var response = context.getBean(ChatModel.class).call(new Prompt("Describe a lighthouse."));
                        assertThat(response.getResult().getOutput().getText()).isEqualTo("A lighthouse.");
                        assertThat(response.getMetadata().getUsage().getTotalTokens()).isEqualTo(23);
                        assertThat(server.requests.get(0)).contains("\"model\":\"served-qwen\"").contains("\"max_tokens\":7");

                        var health = context.getBean(QwenVlHealthIndicator.class).health(true);
                        assertThat(health.getStatus()).isEqualTo(Status.UP);
                        assertThat(health.getDetails()).containsEntry("backend", "remote");
                    });
        }
    }

    @Test
    void remoteBackendWithoutABaseUrlFailsTheStart() {
        runner.withPropertyValues("spring.ai.qwen-vl.model=" + TinyModels.qwen2vl(), "spring.ai.qwen-vl.backend=remote")
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("spring.ai.qwen-vl.remote.base-url"));
        runner.withPropertyValues("spring.ai.qwen-vl.model=" + TinyModels.qwen2vl(), "spring.ai.qwen-vl.backend=remote",
                        "spring.ai.qwen-vl.remote.base-url=http://vllm:8000/v1")
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("without /v1"));
    }
}
