package io.github.qwenvl.spring;

import io.github.qwenvl.QwenVlModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.core.io.FileSystemResource;
import org.springframework.util.MimeTypeUtils;
import reactor.core.Disposable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A stream whose subscriber goes away, and a request past its timeout, give their generation slot back while the
 * request is still before its first token (vision tower or prefill): the next request runs.
 */
class StreamCancellationTest {

    private static QwenVlModel engine;
    private static QwenVlChatModel chatModel;
    private static RequestGate gate;

    @BeforeAll
    static void load() {
        engine = QwenVlModel.load(TinyModels.qwen25vl());
        gate = new RequestGate(1, 0, Duration.ZERO);
        chatModel = QwenVlChatModel.builder().model(engine).requestGate(gate).build();
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static Prompt photo() {
        Path p = TinyModels.images().stream().filter(f -> f.getFileName().toString().startsWith("photo_640x480."))
                .findFirst().orElseThrow();
        Media media = Media.builder().mimeType(MimeTypeUtils.IMAGE_JPEG).data(new FileSystemResource(p)).build();
        return new Prompt(UserMessage.builder().text("Describe the image.").media(List.of(media)).build());
    }

    private static void awaitFreeSlot() throws InterruptedException {
        for (int i = 0; i < 600 && (gate.running() > 0 || engine.activeRequests() > 0); i++) {
            Thread.sleep(100);
        }
        assertThat(gate.running()).isZero();
        assertThat(engine.activeRequests()).isZero();
    }

    @Test
    void aDisposedStreamFreesItsSlotBeforeItsFirstToken() throws Exception {
        List<ChatResponse> received = new CopyOnWriteArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        Disposable subscription = chatModel.stream(photo()).subscribe(received::add, error::set);
        for (int i = 0; i < 600 && engine.activeRequests() == 0; i++) {
            Thread.sleep(20);
        }
        assertThat(engine.activeRequests()).as("the request reached the engine").isOne();
        subscription.dispose();
        awaitFreeSlot();
        assertThat(received).as("stopped before its first token").isEmpty();
        assertThat(error.get()).isNull();
        // the next request gets the slot and runs
        assertThat(chatModel.call(new Prompt("Hi")).getResult().getOutput().getText()).isNotNull();
    }

    @Test
    void aRequestPastItsTimeoutIsARequestTimeoutAndFreesItsSlot() throws Exception {
        QwenVlChatModel strict = QwenVlChatModel.builder().model(engine).requestGate(gate)
                .requestTimeout(Duration.ofNanos(1)).build();
        assertThatThrownBy(() -> strict.call(photo())).isInstanceOf(RequestTimeoutException.class)
                .hasCauseInstanceOf(io.github.qwenvl.RequestCancelledException.class);
        awaitFreeSlot();
        assertThat(chatModel.call(new Prompt("Hi")).getResult().getOutput().getText()).isNotNull();
    }
}
