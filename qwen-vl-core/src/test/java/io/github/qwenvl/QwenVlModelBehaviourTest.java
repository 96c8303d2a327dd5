package io.github.qwenvl;

import com.google.gson.JsonObject;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.generate.FinishReason;
import io.github.qwenvl.image.ImageInputException;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Engine behaviour beyond the goldens: stop sequences, cancellation, concurrency, memory, errors. */
class QwenVlModelBehaviourTest {

    private static FixtureSet set;
    private static QwenVlModel model;
    private static Path image;

    @BeforeAll
    static void load() {
        set = FixtureRoot.bundledSets().stream().filter(FixtureSet::isQwen2Family).findFirst().orElseThrow();
        model = QwenVlModel.load(set.modelDir());
        JsonObject entry = set.cases().getAsJsonObject("preprocess").getAsJsonArray("entries").get(0).getAsJsonObject();
        image = set.resolve(entry.get("image").getAsString());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static GenerationRequest request(String text, boolean withImage, GenerationOptions options) {
        ChatMessage user = withImage
                ? ChatMessage.user(Content.image(ImageSource.of(image)), Content.text(text))
                : ChatMessage.user(text);
        return new GenerationRequest(List.of(user), options);
    }

    private static GenerationOptions greedy(int maxNew) {
        return GenerationOptions.builder().temperature(0.0).repetitionPenalty(1.0).maxNewTokens(maxNew).build();
    }

    /**
     * The load and the first request each end with one whole-heap collection by default (they let G1 give back the
     * heap the load and the JIT's warm-up made it grow), later requests with none, and nothing is collected when
     * {@code collectGarbage} is off. Counted as the collections the model asks for (any collector).
     */
    @Test
    void loadAndFirstRequestEndWithOneFullCollectionUnlessTurnedOff() {
        long before = fullCollections();
        try (QwenVlModel fresh = QwenVlModel.load(set.modelDir())) {
            assertThat(fullCollections() - before).isEqualTo(1);
            before = fullCollections();
            fresh.generate(request("Hi", false, greedy(2)));
            assertThat(fullCollections() - before).isEqualTo(1);
            before = fullCollections();
            fresh.generate(request("Hi", false, greedy(2)));
            assertThat(fullCollections() - before).isZero();
        }

        before = fullCollections();
        try (QwenVlModel fresh = QwenVlModel.load(set.modelDir(), QwenVlOptions.defaults().withCollectGarbage(false))) {
            fresh.generate(request("Hi", false, greedy(2)));
        }
        assertThat(fullCollections() - before).isZero();
        assertThat(QwenVlOptions.defaults().collectGarbage()).isTrue();
    }

    /**
     * A request that grew the heap (here: any request, the threshold lowered below any growth) is followed by one
     * collection when it leaves the model idle, and by none while another request still runs.
     */
    @Test
    void aRequestThatGrewTheHeapIsCollectedWhenTheModelFallsIdle() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        // the threshold below any growth: every request that leaves the model idle is followed by a collection
        QwenVlOptions options = QwenVlOptions.defaults()
                .withTuning(io.github.qwenvl.EngineTuning.DEFAULTS.withHeapGrowthToCollect(Long.MIN_VALUE / 4));
        try (QwenVlModel fresh = QwenVlModel.load(set.modelDir(), options)) {
            fresh.generate(request("Hi", false, greedy(2))); // the first request's own collection
            long before = fullCollections();
            fresh.generate(request("Hi", false, greedy(2)));
            assertThat(fullCollections() - before).as("idle after the request").isEqualTo(1);

            java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            // held at its first token (outside the network's forward passes, which the other request needs)
            CancellationToken holdAtFirstToken = CancellationToken.create().observe((checkpoint, index) -> {
                if (checkpoint == CancellationToken.Checkpoint.TOKEN && index == 0) {
                    running.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            Future<GenerationResult> held = pool.submit(() -> fresh.stream(request("Hi", false, greedy(2)), delta -> {
            }, holdAtFirstToken));
            assertThat(running.await(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            before = fullCollections();
            fresh.generate(request("Hi", false, greedy(2)));
            assertThat(fullCollections() - before).as("another request in flight").isZero();
            release.countDown();
            held.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(fullCollections() - before).as("the last request leaves the model idle").isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Whole-heap collections the model asked for: its {@code System.gc()} calls, counted by the model itself, so the
     * count is the same under every collector (G1, Serial, Parallel, ZGC, Shenandoah; also with
     * {@code -XX:+DisableExplicitGC}, which only makes the calls do nothing).
     */
    private static long fullCollections() {
        return QwenVlModel.COLLECTIONS_REQUESTED.get();
    }

    @Test
    void stopSequenceCutsTextAndStreamAgrees() {
        GenerationResult full = model.generate(request("Tell me a story.", false, greedy(24).toBuilder().minNewTokens(24).build()));
        assertThat(full.text().length()).isGreaterThan(12);
        String stop = full.text().substring(8, 11);
        int expectedCut = full.text().indexOf(stop);
        StringBuilder streamed = new StringBuilder();
        GenerationResult cut = model.stream(request("Tell me a story.", false,
                greedy(24).toBuilder().minNewTokens(24).stopSequences(List.of(stop)).build()), streamed::append);
        assertThat(cut.finishReason()).isEqualTo(FinishReason.STOP_SEQUENCE);
        assertThat(cut.text()).isEqualTo(full.text().substring(0, expectedCut));
        assertThat(streamed.toString()).isEqualTo(cut.text());
    }

    @Test
    void cancellationStopsGenerationAndFreesTheRequest() {
        int before = model.liveTensors();
        int[] deltas = {0};
        GenerationResult r = model.stream(request("Describe.", true, greedy(200).toBuilder().minNewTokens(200).build()),
                new GenerationListener() {
                    @Override
                    public void onText(String delta) {
                        deltas[0]++;
                    }

                    @Override
                    public boolean isCancelled() {
                        return deltas[0] >= 3;
                    }
                });
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(r.usage().completionTokens()).isLessThan(200);
        assertThat(model.liveTensors()).isEqualTo(before);
    }

    @Test
    void concurrentRequestsEqualTheirSerialRuns() throws Exception {
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            requests.add(request("Question number " + i + "?", i % 2 == 0, greedy(12)));
        }
        List<GenerationResult> serial = new ArrayList<>();
        for (GenerationRequest r : requests) {
            serial.add(model.generate(r));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (GenerationRequest r : requests) {
                futures.add(pool.submit(() -> model.generate(r)));
            }
            for (int i = 0; i < requests.size(); i++) {
                GenerationResult concurrent = futures.get(i).get();
                assertThat(concurrent.tokenIds()).as("request %d", i).containsExactly(serial.get(i).tokenIds());
                assertThat(concurrent.text()).isEqualTo(serial.get(i).text());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void longGenerationsDoNotGrowNativeMemory() {
        // the default mode: decode steps in Java where the Vector API is enabled (as under Surefire)
        assertLongGenerationsKeepMemory(model, "default decode");
    }

    @Test
    void longEngineDecodeGenerationsDoNotGrowNativeMemory() {
        try (QwenVlModel engine = QwenVlModel.load(set.modelDir(),
                QwenVlOptions.defaults().withDecodeMode(QwenVlOptions.DecodeMode.ENGINE))) {
            assertLongGenerationsKeepMemory(engine, "engine decode");
        }
    }

    private static void assertLongGenerationsKeepMemory(QwenVlModel model, String what) {
        GenerationRequest longRun = request("Write a long answer.", true,
                greedy(500).toBuilder().minNewTokens(500).build());
        int tensorsBefore = model.liveTensors();
        model.generate(longRun); // warm-up: allocator pools, JIT
        long rssAfterFirst = NativeMemory.residentBytes();
        long nativeAfterFirst = NativeMemory.mallocInUseBytes();
        GenerationResult second = model.generate(longRun);
        long nativeAfterSecond = NativeMemory.mallocInUseBytes();
        long rssAfterSecond = NativeMemory.residentBytes();
        assertThat(second.usage().completionTokens()).isEqualTo(500);
        assertThat(model.liveTensors()).as("every per-step tensor is freed").isEqualTo(tensorsBefore);
        long growth = nativeAfterSecond - nativeAfterFirst;
        System.out.printf("[memory] %s, 500-token run: malloc in use %d MiB -> %d MiB (growth %d KiB), RSS %d MiB -> %d MiB%n",
                what, nativeAfterFirst >> 20, nativeAfterSecond >> 20, growth >> 10, rssAfterFirst >> 20, rssAfterSecond >> 20);
        // a leak of even one small tensor per layer per step would add tens of MiB over 500 steps; counted in
        // malloc's bytes in use, not the resident set, which also moves with the Java heap's size
        assertThat(growth).as("native memory growth over a second 500-token run").isLessThan(24L << 20);
    }

    @Test
    void sameSeedSamplesTheSameTokens() {
        GenerationOptions sampled = GenerationOptions.builder().temperature(0.9).topK(40).topP(0.95).seed(7L).maxNewTokens(16).build();
        GenerationResult a = model.generate(request("Hello", false, sampled));
        GenerationResult b = model.generate(request("Hello", false, sampled));
        assertThat(a.tokenIds()).containsExactly(b.tokenIds());
    }

    @Test
    void resultReportsUsageTimingsAndImages() {
        GenerationResult r = model.generate(request("Describe.", true, greedy(4)));
        assertThat(r.images()).hasSize(1);
        ImageInfo info = r.images().get(0);
        assertThat(info.resizedWidth() % 28).isZero();
        assertThat(r.usage().imageTokens()).isEqualTo(info.tokens());
        assertThat(r.usage().promptTokens()).isGreaterThan(info.tokens());
        assertThat(r.timings().visionMillis()).isPositive();
        assertThat(r.timings().prefillMillis()).isPositive();
        assertThat(r.timings().firstTokenMillis()).isPositive();
    }

    @Test
    void badRequestsGetTypedErrors() {
        assertThatThrownBy(() -> new GenerationRequest(List.of(), null)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> model.generate(request("x", false, GenerationOptions.builder().maxNewTokens(0).build())))
                .isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> model.generate(request("x", false, GenerationOptions.builder().temperature(0.5).topP(0.0).build())))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("topP");
        assertThatThrownBy(() -> model.generate(GenerationRequest.of(
                ChatMessage.user(Content.image(ImageSource.of(new byte[] {1, 2, 3})), Content.text("what?")))))
                .isInstanceOf(ImageInputException.class);
        assertThatThrownBy(() -> model.generate(request("x", true, GenerationOptions.builder().minPixels(0).build())))
                .isInstanceOf(InvalidRequestException.class);
    }

    @Test
    void limitsFromLoadOptions() {
        try (QwenVlModel small = QwenVlModel.load(set.modelDir(),
                QwenVlOptions.defaults().withContextLength(40).withMaxImages(1))) {
            assertThatThrownBy(() -> small.generate(GenerationRequest.of(ChatMessage.user(
                    Content.image(ImageSource.of(image)), Content.image(ImageSource.of(image)), Content.text("compare")))))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("Too many images");
            assertThatThrownBy(() -> small.generate(request("describe", true, null)))
                    .isInstanceOf(PromptTooLongException.class).hasMessageContaining("context");
            // a prompt that fits leaves room for fewer new tokens than asked: generation stops at the context
            GenerationResult r = small.generate(request("hi", false, greedy(100).toBuilder().minNewTokens(100).build()));
            assertThat(r.usage().totalTokens()).isLessThanOrEqualTo(40);
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void loadErrorsAreClear(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> QwenVlModel.load(dir.resolve("missing"))).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> QwenVlModel.load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("config.json");
        Files.writeString(dir.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\"}");
        assertThatThrownBy(() -> QwenVlModel.load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("Qwen2VLForConditionalGeneration");
        assertThatThrownBy(() -> QwenVlModel.load(set.modelDir(), QwenVlOptions.defaults().withPrecision(QwenVlOptions.Precision.FLOAT16)))
                .isInstanceOf(QwenVlException.class).hasMessageContaining("GPU");
    }
}
