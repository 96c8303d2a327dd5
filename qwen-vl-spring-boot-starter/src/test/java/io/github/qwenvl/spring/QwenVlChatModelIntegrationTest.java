package io.github.qwenvl.spring;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.grounding.GroundingResult;
import io.github.qwenvl.spring.autoconfigure.QwenVlAutoConfiguration;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.StreamingChatModel;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.core.io.FileSystemResource;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.util.MimeTypeUtils;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The tiny real model through Spring AI: ChatModel, StreamingChatModel and ChatClient, one and two images. */
@SpringBootTest(classes = QwenVlChatModelIntegrationTest.Config.class)
class QwenVlChatModelIntegrationTest {

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("spring.ai.qwen-vl.model", () -> TinyModels.qwen2vl().toString());
        registry.add("spring.ai.qwen-vl.chat.options.temperature", () -> "0");
        registry.add("spring.ai.qwen-vl.chat.options.max-tokens", () -> "12");
        registry.add("spring.ai.qwen-vl.serving.max-concurrent-requests", () -> "2");
    }

    @org.springframework.boot.SpringBootConfiguration
    @ImportAutoConfiguration(QwenVlAutoConfiguration.class)
    static class Config {
        @Bean
        ObservationRegistry observationRegistry() {
            return TestObservationRegistry.create();
        }
    }

    @Autowired
    ChatModel chatModel;

    @Autowired
    StreamingChatModel streamingChatModel;

    @Autowired
    TestObservationRegistry observations;

    private static Media image(int i) {
        Path p = TinyModels.images().get(i);
        return Media.builder().mimeType(p.toString().endsWith(".jpg") ? MimeTypeUtils.IMAGE_JPEG : MimeTypeUtils.IMAGE_PNG)
                .data(new FileSystemResource(p)).build();
    }

    private static Prompt describe(Media... images) {
        return new Prompt(UserMessage.builder().text("Describe the image.").media(List.of(images)).build());
    }

    @Test
    void callWithOneImageReportsUsageMetadataAndGrounding() {
        ChatResponse response = chatModel.call(describe(image(0)));
        assertThat(response.getResult().getOutput().getText()).isNotEmpty();
        assertThat(response.getResult().getMetadata().getFinishReason()).isIn("LENGTH", "STOP");
        assertThat(response.getMetadata().getModel()).isEqualTo("model");
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isBetween(1, 12);
        int imageTokens = response.getMetadata().get(QwenVlMetadata.IMAGE_TOKENS);
        assertThat(imageTokens).isPositive();
        assertThat(response.getMetadata().getUsage().getPromptTokens()).isGreaterThan(imageTokens);
        List<ImageInfo> images = response.getMetadata().get(QwenVlMetadata.IMAGES);
        assertThat(images).hasSize(1);
        GroundingResult grounding = QwenVlGrounding.from(response);
        assertThat(grounding.rawText()).isEqualTo(response.getResult().getOutput().getText());
        TestObservationRegistryAssert.assertThat(observations).hasObservationWithNameEqualTo("gen_ai.client.operation")
                .that().hasLowCardinalityKeyValue("gen_ai.system", "qwen-vl");
    }

    @Test
    void twoImagesTakeMorePromptTokensThanOne() {
        ChatResponse one = chatModel.call(describe(image(0)));
        ChatResponse two = chatModel.call(describe(image(0), image(1)));
        List<ImageInfo> images = two.getMetadata().get(QwenVlMetadata.IMAGES);
        assertThat(images).hasSize(2);
        assertThat(two.getMetadata().getUsage().getPromptTokens()).isGreaterThan(one.getMetadata().getUsage().getPromptTokens());
    }

    @Test
    void greedyCallsAreReproducibleAndStreamingMatchesCall() {
        String called = chatModel.call(describe(image(0))).getResult().getOutput().getText();
        List<ChatResponse> chunks = streamingChatModel.stream(describe(image(0))).collectList().block();
        StringBuilder streamed = new StringBuilder();
        chunks.forEach(c -> streamed.append(c.getResult().getOutput().getText()));
        assertThat(streamed.toString()).isEqualTo(called);
        ChatResponse last = chunks.get(chunks.size() - 1);
        assertThat(last.getResult().getMetadata().getFinishReason()).isIn("LENGTH", "STOP");
        assertThat(last.getMetadata().getUsage().getTotalTokens()).isPositive();
        assertThat(chunks.size()).isGreaterThan(2);
    }

    @Test
    void requestOptionsOverrideDefaultsFieldByField() {
        ChatResponse r = chatModel.call(new Prompt(new UserMessage("Hello"), QwenVlChatOptions.builder().maxTokens(3).build()));
        assertThat(r.getMetadata().getUsage().getCompletionTokens()).isLessThanOrEqualTo(3);
        ChatResponse portable = chatModel.call(new Prompt(new UserMessage("Hello"), ChatOptions.builder().maxTokens(2).build()));
        assertThat(portable.getMetadata().getUsage().getCompletionTokens()).isLessThanOrEqualTo(2);
    }

    @Test
    void chatClientCallAndStreamWithMedia() {
        ChatClient client = ChatClient.create(chatModel);
        Path file = TinyModels.images().get(0);
        String answer = client.prompt().user(u -> u.text("What is this?").media(MimeTypeUtils.IMAGE_PNG, new FileSystemResource(file)))
                .call().content();
        assertThat(answer).isNotEmpty();
        String streamed = String.join("", client.prompt()
                .user(u -> u.text("What is this?").media(MimeTypeUtils.IMAGE_PNG, new FileSystemResource(file)))
                .stream().content().collectList().block());
        assertThat(streamed).isEqualTo(answer);
    }

    @Test
    void dataUrlsAndMultiTurnConversations() throws Exception {
        byte[] bytes = Files.readAllBytes(TinyModels.images().get(0));
        Media dataUrl = Media.builder().mimeType(MimeTypeUtils.IMAGE_PNG)
                .data("data:image/png;base64," + Base64.getEncoder().encodeToString(bytes)).build();
        ChatResponse first = chatModel.call(describe(dataUrl));
        ChatResponse bytesMedia = chatModel.call(describe(Media.builder().mimeType(MimeTypeUtils.IMAGE_PNG).data(bytes).build()));
        assertThat(first.getResult().getOutput().getText()).isEqualTo(bytesMedia.getResult().getOutput().getText());
        ChatResponse followUp = chatModel.call(new Prompt(List.of(
                new SystemMessage("Be brief."),
                UserMessage.builder().text("Describe.").media(List.of(dataUrl)).build(),
                new AssistantMessage(first.getResult().getOutput().getText()),
                new UserMessage("And the colours?"))));
        assertThat(followUp.getMetadata().getUsage().getPromptTokens())
                .isGreaterThan(first.getMetadata().getUsage().getPromptTokens());
    }

    @Test
    void unsupportedContentGetsClearErrors() {
        assertThatThrownBy(() -> chatModel.call(new Prompt(UserMessage.builder().text("listen")
                .media(List.of(Media.builder().mimeType(MimeTypeUtils.parseMimeType("audio/wav")).data(new byte[] {1}).build()))
                .build()))).isInstanceOf(UnsupportedContentException.class).hasMessageContaining("audio");
        assertThatThrownBy(() -> chatModel.call(new Prompt(UserMessage.builder().text("fetch")
                .media(List.of(Media.builder().mimeType(MimeTypeUtils.IMAGE_PNG).data("http://127.0.0.1:9/x.png").build()))
                .build()))).isInstanceOf(UnsupportedContentException.class).hasMessageContaining("allowed-hosts");
        assertThatThrownBy(() -> chatModel.call(new Prompt(List.of(new UserMessage("q"),
                ToolResponseMessage.builder().responses(List.of()).build()))))
                .isInstanceOf(UnsupportedContentException.class).hasMessageContaining("Tool");
        assertThatThrownBy(() -> chatModel.call(new Prompt(new UserMessage(" "))))
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> chatModel.call(new Prompt(new UserMessage("x"),
                QwenVlChatOptions.builder().topP(5.0).temperature(0.7).build()))).hasMessageContaining("topP");
        assertThatThrownBy(() -> chatModel.call(new Prompt(new UserMessage("x"),
                ChatOptions.builder().frequencyPenalty(0.5).build()))).hasMessageContaining("frequencyPenalty");
    }

    @Test
    void cancellingAStreamStopsGeneration() {
        Prompt longAnswer = new Prompt(new UserMessage("Write a lot."), QwenVlChatOptions.builder().maxTokens(400).build());
        StepVerifier.create(streamingChatModel.stream(longAnswer).take(3)).expectNextCount(3).verifyComplete();
        // the model is free again right away: a second request completes normally
        assertThat(chatModel.call(new Prompt(new UserMessage("Hi"))).getResult().getOutput().getText()).isNotNull();
    }

    @Test
    void backpressureIsRespected() {
        Prompt p = new Prompt(new UserMessage("Count."), QwenVlChatOptions.builder().maxTokens(30).build());
        StepVerifier.create(streamingChatModel.stream(p), 1)
                .expectNextCount(1)
                .thenRequest(2)
                .expectNextCount(2)
                .thenCancel()
                .verify();
    }

    @Test
    void aConsumerAskingOneChunkAtATimeFromAnotherThreadDoesNotStall() {
        Prompt p = new Prompt(new UserMessage("Count."), QwenVlChatOptions.builder().maxTokens(20).build());
        String whole = chatModel.call(p).getResult().getOutput().getText();
        // concatMap asks for one chunk at a time, from the publishOn thread, while generation blocks its worker
        List<String> deltas = streamingChatModel.stream(p)
                .publishOn(reactor.core.scheduler.Schedulers.parallel(), 1)
                .concatMap(r -> reactor.core.publisher.Mono.justOrEmpty(r.getResult().getOutput().getText()))
                .collectList().block(java.time.Duration.ofSeconds(60));
        assertThat(String.join("", deltas)).isEqualTo(whole);
    }

    @Test
    void concurrentCallsEqualSerialCalls() throws Exception {
        List<Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            prompts.add(i % 2 == 0 ? describe(image(i % TinyModels.images().size())) : new Prompt(new UserMessage("Question " + i)));
        }
        List<String> serial = prompts.stream().map(p -> chatModel.call(p).getResult().getOutput().getText()).toList();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<CompletableFuture<String>> futures = prompts.stream()
                    .map(p -> CompletableFuture.supplyAsync(() -> chatModel.call(p).getResult().getOutput().getText(), pool))
                    .toList();
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(futures.get(i).get()).as("prompt %d", i).isEqualTo(serial.get(i));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRequestPastItsTimeoutFailsClearly() {
        QwenVlChatModel model = QwenVlChatModel.builder().model(((QwenVlChatModel) chatModel).holder())
                .requestTimeout(java.time.Duration.ofNanos(1)).build();
        assertThatThrownBy(() -> model.call(new Prompt(new UserMessage("Hi")))).isInstanceOf(RequestTimeoutException.class)
                .hasMessageContaining("request-timeout");
        StepVerifier.create(model.stream(new Prompt(new UserMessage("Hi")))).thenConsumeWhile(r -> true)
                .expectError(RequestTimeoutException.class).verify();
    }

    @Test
    void aFullQueueIsRefusedAtOnce() throws Exception {
        QwenVlChatModel model = QwenVlChatModel.builder().model(((QwenVlChatModel) chatModel).holder())
                .requestGate(new RequestGate(1, 0, java.time.Duration.ofSeconds(1))).build();
        Prompt slow = new Prompt(new UserMessage("Write a lot."), QwenVlChatOptions.builder().maxTokens(300).temperature(0.0).build());
        Flux<ChatResponse> running = model.stream(slow);
        // a subscriber that asks for one chunk only: its generation holds the single slot, waiting for demand
        var subscription = new reactor.core.publisher.BaseSubscriber<ChatResponse>() {
            @Override
            protected void hookOnSubscribe(org.reactivestreams.Subscription s) {
                request(1);
            }
        };
        running.subscribe(subscription);
        try {
            long until = System.currentTimeMillis() + 10_000;
            while (model.gate().running() == 0 && System.currentTimeMillis() < until) {
                Thread.sleep(20);
            }
            assertThat(model.gate().running()).isEqualTo(1);
            assertThatThrownBy(() -> model.call(new Prompt(new UserMessage("me too")))).isInstanceOf(ModelBusyException.class)
                    .hasMessageContaining("busy");
        } finally {
            subscription.dispose();
        }
    }
}
