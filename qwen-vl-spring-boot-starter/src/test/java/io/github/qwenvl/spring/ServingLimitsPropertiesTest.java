package io.github.qwenvl.spring;

import io.github.qwenvl.RequestTooLargeException;
import io.github.qwenvl.ServingLimits;
import io.github.qwenvl.spring.autoconfigure.QwenVlAutoConfiguration;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code spring.ai.qwen-vl.serving.max-image-tokens}, {@code max-prompt-tokens} and {@code allow-special-tokens}. */
class ServingLimitsPropertiesTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(QwenVlAutoConfiguration.class))
            .withPropertyValues("spring.ai.qwen-vl.model=" + TinyModels.qwen2vl());

    @Test
    void unsetTheImageTokenLimitFollowsTheDeviceAndNothingElseIsLimited() {
        runner.run(context -> {
            QwenVlModelHolder holder = context.getBean(QwenVlModelHolder.class);
            ServingLimits limits = holder.get().servingLimits();
            assertThat(limits.maxImageTokens()).isEqualTo(ServingLimits.AUTO);
            assertThat(limits.maxPromptTokens()).isNull();
            assertThat(limits.allowSpecialTokens()).isFalse();
            assertThat(holder.get().maxImageTokens()).isEqualTo(ServingLimits.CPU_MAX_IMAGE_TOKENS); // a CPU here
        });
    }

    @Test
    void thePropertiesReachTheEngineAndAPromptOverItsLimitIsRefused() {
        runner.withPropertyValues("spring.ai.qwen-vl.serving.max-image-tokens=100",
                        "spring.ai.qwen-vl.serving.max-prompt-tokens=12",
                        "spring.ai.qwen-vl.serving.allow-special-tokens=true")
                .run(context -> {
                    QwenVlModelHolder holder = context.getBean(QwenVlModelHolder.class);
                    assertThat(holder.get().servingLimits()).isEqualTo(new ServingLimits(100, 12, true));
                    QwenVlChatModel chat = context.getBean(QwenVlChatModel.class);
                    assertThatThrownBy(() -> chat.call(new Prompt("Describe in detail what you would do with a very long"
                            + " prompt that has many words in it.")))
                            .isInstanceOfSatisfying(RequestTooLargeException.class, e -> {
                                assertThat(e.limit()).isEqualTo(12);
                                assertThat(e.property()).isEqualTo("spring.ai.qwen-vl.serving.max-prompt-tokens");
                            });
                });
    }
}
