package io.github.qwenvl.spring;

import io.github.qwenvl.QwenVlModel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.observation.ChatModelMeterObservationHandler;
import org.springframework.ai.chat.prompt.Prompt;

import static org.assertj.core.api.Assertions.assertThat;

/** Spring AI's meter handler turns this model's observations into token-usage metrics. */
class ObservationMetricsTest {

    private static QwenVlModel engine;

    @BeforeAll
    static void load() {
        engine = QwenVlModel.load(TinyModels.qwen25vl());
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static double tokens(MeterRegistry meters, String type) {
        return meters.find("gen_ai.client.token.usage").tag("gen_ai.token.type", type).tag("gen_ai.system", "qwen-vl")
                .meters().stream().mapToDouble(m -> ((Counter) m).count()).sum();
    }

    @Test
    void callsAndStreamsRecordTokenUsage() throws InterruptedException {
        MeterRegistry meters = new SimpleMeterRegistry();
        ObservationRegistry observations = ObservationRegistry.create();
        observations.observationConfig().observationHandler(new ChatModelMeterObservationHandler(meters));
        QwenVlChatModel model = QwenVlChatModel.builder().model(engine).observationRegistry(observations)
                .defaultOptions(QwenVlChatOptions.builder().maxTokens(4).temperature(0.0).build()).build();

        ChatResponse called = model.call(new Prompt(new UserMessage("Hello")));
        assertThat(tokens(meters, "input")).isEqualTo((double) called.getMetadata().getUsage().getPromptTokens());
        assertThat(tokens(meters, "output")).isEqualTo((double) called.getMetadata().getUsage().getCompletionTokens());

        ChatResponse last = model.stream(new Prompt(new UserMessage("Hello again"))).blockLast();
        int expectedInput = called.getMetadata().getUsage().getPromptTokens() + last.getMetadata().getUsage().getPromptTokens();
        // the stream's observation stops just after the subscriber sees completion
        long until = System.currentTimeMillis() + 5000;
        while (tokens(meters, "total") < called.getMetadata().getUsage().getTotalTokens()
                + last.getMetadata().getUsage().getTotalTokens() && System.currentTimeMillis() < until) {
            Thread.sleep(10);
        }
        assertThat(tokens(meters, "input")).isEqualTo((double) expectedInput);
        assertThat(tokens(meters, "output")).isEqualTo((double) (called.getMetadata().getUsage().getCompletionTokens()
                + last.getMetadata().getUsage().getCompletionTokens()));
    }
}
