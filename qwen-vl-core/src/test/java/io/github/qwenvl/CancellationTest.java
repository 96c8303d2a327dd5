package io.github.qwenvl;

import io.github.qwenvl.CancellationToken.Checkpoint;
import io.github.qwenvl.RequestCancelledException.Reason;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.testing.FixtureRoot;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Requests stop inside the vision tower and the prefill, for the three architectures: the checkpoints a request
 * passes are counted (no timing), and a cancelled request frees what it held and leaves the model to the next one.
 */
class CancellationTest {

    private static final Map<String, QwenVlModel> MODELS = new HashMap<>();

    static QwenVlModel model(String set) {
        return MODELS.computeIfAbsent(set, s -> QwenVlModel.load(FixtureRoot.bundled().resolve(s).resolve("model")));
    }

    @AfterAll
    static void close() {
        MODELS.values().forEach(QwenVlModel::close);
    }

    static Path image() {
        return FixtureRoot.bundled().resolve("qwen2-vl-common/images/photo_640x480.jpg");
    }

    /** The photo at 448×336 (192 patches): a few vision blocks' worth of work. */
    static GenerationRequest imageRequest(int maxNew) {
        return imageRequest(maxNew, 448 * 336);
    }

    static GenerationRequest imageRequest(int maxNew, int maxPixels) {
        return new GenerationRequest(List.of(ChatMessage.user(Content.image(ImageSource.of(image())),
                Content.text("Describe the picture."))),
                GenerationOptions.builder().temperature(0.0).maxNewTokens(maxNew).maxPixels(maxPixels).build());
    }

    /** A token recording every checkpoint it passes, cancelled with {@code reason} at {@code at}/{@code index}. */
    static final class Recorder implements CancellationToken.Observer {
        final List<String> seen = Collections.synchronizedList(new ArrayList<>());
        final CancellationToken token = CancellationToken.create().observe(this);
        private final Checkpoint at;
        private final int nth;
        private int count;

        Recorder(Checkpoint at, int nth) {
            this.at = at;
            this.nth = nth;
        }

        @Override
        public void reached(Checkpoint checkpoint, int index) {
            seen.add(checkpoint + " " + index);
            if (checkpoint == at && count++ == nth) {
                token.cancel(Reason.CLIENT);
            }
        }

        long count(Checkpoint checkpoint) {
            synchronized (seen) {
                return seen.stream().filter(s -> s.startsWith(checkpoint + " ")).count();
            }
        }
    }

    private static final GenerationListener SILENT = delta -> {
    };

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-vl-tiny", "qwen2_5-vl-tiny", "qwen-vl-tiny"})
    void aCancelDuringTheVisionTowerStopsItBeforeItsLastBlock(String set) {
        QwenVlModel model = model(set);
        Recorder all = new Recorder(null, 0);
        model.stream(imageRequest(2), SILENT, all.token);
        long depth = all.count(Checkpoint.VISION_BLOCK);
        assertThat(depth).as("vision blocks of an uncancelled request").isGreaterThanOrEqualTo(2);
        int before = model.liveTensors();

        Recorder cancelled = new Recorder(Checkpoint.VISION_BLOCK, 1);
        assertThatThrownBy(() -> model.stream(imageRequest(2), SILENT, cancelled.token))
                .isInstanceOfSatisfying(RequestCancelledException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.CLIENT));
        // block 0 ran; the check before block 1 stopped the tower, and nothing after it ran
        assertThat(cancelled.count(Checkpoint.VISION_BLOCK)).isEqualTo(2).isLessThan(depth + 1);
        assertThat(cancelled.seen).noneMatch(s -> s.startsWith("PREFILL") || s.startsWith("TOKEN"));
        assertThat(model.liveTensors()).as("the cancelled request freed its tensors").isEqualTo(before);
        assertThat(model.activeRequests()).isZero();
        // the model serves the next request
        assertThat(model.generate(imageRequest(2)).usage().completionTokens()).isPositive();
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-vl-tiny", "qwen2_5-vl-tiny"})
    void aCancelInsideAVisionBlocksAttentionStopsThatBlock(String set) {
        QwenVlModel model = model(set);
        // the whole 640×480 photo: several query blocks per whole-image attention
        Recorder all = new Recorder(null, 0);
        model.stream(imageRequest(1, 640 * 480), SILENT, all.token);
        long attentionPerRequest = all.count(Checkpoint.VISION_ATTENTION);
        assertThat(attentionPerRequest).as("attention blocks per request").isGreaterThan(all.count(Checkpoint.VISION_BLOCK));

        Recorder cancelled = new Recorder(Checkpoint.VISION_ATTENTION, 1);
        assertThatThrownBy(() -> model.stream(imageRequest(1, 640 * 480), SILENT, cancelled.token))
                .isInstanceOf(RequestCancelledException.class);
        assertThat(cancelled.count(Checkpoint.VISION_ATTENTION)).isEqualTo(2);
        assertThat(cancelled.count(Checkpoint.VISION_BLOCK)).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-vl-tiny", "qwen2_5-vl-tiny", "qwen-vl-tiny"})
    void aCancelDuringThePrefillStopsItBeforeItsLastLayer(String set) {
        QwenVlModel model = model(set);
        int before = model.liveTensors();
        Recorder cancelled = new Recorder(Checkpoint.PREFILL_LAYER, 1);
        assertThatThrownBy(() -> model.stream(imageRequest(2), SILENT, cancelled.token))
                .isInstanceOf(RequestCancelledException.class);
        assertThat(cancelled.count(Checkpoint.PREFILL_LAYER)).isEqualTo(2);
        assertThat(cancelled.seen).noneMatch(s -> s.startsWith("TOKEN"));
        assertThat(model.liveTensors()).isEqualTo(before);

        Recorder inAttention = new Recorder(Checkpoint.PREFILL_ATTENTION, 0);
        assertThatThrownBy(() -> model.stream(imageRequest(2), SILENT, inAttention.token))
                .isInstanceOf(RequestCancelledException.class);
        assertThat(inAttention.count(Checkpoint.PREFILL_LAYER)).isEqualTo(1);
        assertThat(model.liveTensors()).isEqualTo(before);
        assertThat(model.generate(imageRequest(2)).usage().completionTokens()).isPositive();
    }

    @Test
    void aPassedDeadlineEndsTheRequestWithATimeoutBeforeAnyWork() {
        QwenVlModel model = model("qwen2-vl-tiny");
        CancellationToken token = CancellationToken.withTimeout(Duration.ZERO);
        List<String> seen = new ArrayList<>();
        token.observe((c, i) -> seen.add(c.name()));
        assertThatThrownBy(() -> model.stream(imageRequest(2), SILENT, token))
                .isInstanceOfSatisfying(RequestCancelledException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.TIMEOUT));
        assertThat(seen).isEmpty();
    }

    @Test
    void aListenerThatCancelsDuringVisionEndsTheRequestWithAClientCancellation() {
        QwenVlModel model = model("qwen2-vl-tiny");
        int[] polls = {0};
        GenerationListener gone = new GenerationListener() {
            @Override
            public void onText(String delta) {
            }

            @Override
            public boolean isCancelled() {
                return ++polls[0] > 1; // the second checkpoint: inside the tower
            }
        };
        CancellationToken token = CancellationToken.create();
        List<String> seen = new ArrayList<>();
        token.observe((c, i) -> seen.add(c.name()));
        assertThatThrownBy(() -> model.stream(imageRequest(2), gone, token))
                .isInstanceOfSatisfying(RequestCancelledException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.CLIENT));
        assertThat(seen).hasSize(2).allMatch(s -> s.startsWith("VISION"));
        assertThat(token.reason()).isEqualTo(Reason.CLIENT);
    }

    @Test
    void aTokenCancelledWhileGeneratingEndsTheRequestAfterThatToken() {
        QwenVlModel model = model("qwen2-vl-tiny");
        Recorder cancelled = new Recorder(Checkpoint.TOKEN, 2);
        GenerationRequest request = new GenerationRequest(List.of(ChatMessage.user("Hi")),
                GenerationOptions.builder().temperature(0.0).maxNewTokens(20).minNewTokens(20).build());
        assertThatThrownBy(() -> model.stream(request, SILENT, cancelled.token))
                .isInstanceOf(RequestCancelledException.class);
        assertThat(cancelled.count(Checkpoint.TOKEN)).isEqualTo(3);
    }

    /**
     * Closing the model while a request is inside the vision tower cancels it (reason SHUTDOWN), waits for it to
     * leave, then frees the model; later requests are refused with the same typed error.
     */
    @Test
    void closingTheModelCancelsTheRequestInsideTheVisionTowerAndRefusesNewOnes() throws Exception {
        QwenVlModel model = QwenVlModel.load(FixtureRoot.bundled().resolve("qwen2_5-vl-tiny/model"));
        CountDownLatch inside = new CountDownLatch(1);
        CancellationToken token = CancellationToken.create().observe((c, i) -> {
            if (c == Checkpoint.VISION_BLOCK && i == 1) {
                inside.countDown();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (System.nanoTime() < until && !model.isClosing()) {
                    Thread.onSpinWait();
                }
            }
        });
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<GenerationResult> running = pool.submit(() -> model.stream(imageRequest(2), SILENT, token));
            assertThat(inside.await(60, TimeUnit.SECONDS)).isTrue();
            model.close();
            assertThat(model.activeRequests()).isZero();
            assertThatThrownBy(running::get).cause().isInstanceOfSatisfying(RequestCancelledException.class,
                    e -> assertThat(e.reason()).isEqualTo(Reason.SHUTDOWN));
            assertThatThrownBy(() -> model.generate(imageRequest(2)))
                    .isInstanceOfSatisfying(RequestCancelledException.class,
                            e -> assertThat(e.reason()).isEqualTo(Reason.SHUTDOWN));
            model.close(); // idempotent
        } finally {
            pool.shutdownNow();
        }
    }
}
