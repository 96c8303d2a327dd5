package io.github.qwenvl;

import com.google.gson.JsonObject;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.generate.DecodeBatcher;
import io.github.qwenvl.generate.FinishReason;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Continuous batching through {@link QwenVlModel} on the bundled tiny checkpoints: the greedy generation goldens of
 * every Qwen2-VL, Qwen2.5-VL and Qwen3-VL set, run concurrently in groups of 2 to 8 mixed with other requests
 * (other prompts and lengths, images, seeded sampling, repetition penalty, a request that stops early), each give
 * exactly their golden tokens; every other request gives exactly what it gives alone. The models wait without limit
 * for every running sequence ({@link EngineTuning#batchGraceNanos()} long), so every shared step takes every sequence
 * that is decoding, and the groups' sequences overlap (each listener pauses a little per token); that steps of
 * several sequences ran is checked from the batcher's counts. Also: a cancelled request, a listener's cancellation and
 * the model's close() while sequences are batched.
 */
class BatchedDecodeGoldenTest {

    private static final Map<String, QwenVlModel> MODELS = new ConcurrentHashMap<>();
    private static final Duration LIMIT = Duration.ofMinutes(5);

    static QwenVlOptions batching(int maxBatchSize) {
        return QwenVlOptions.defaults().withDecodeMode(QwenVlOptions.DecodeMode.JAVA)
                .withServing(ServingLimits.NONE.withMaxBatchSize(maxBatchSize))
                .withTuning(EngineTuning.DEFAULTS.withBatchGraceNanos(TimeUnit.MINUTES.toNanos(10)));
    }

    static QwenVlModel model(FixtureSet set) {
        return MODELS.computeIfAbsent(set.name(), n -> QwenVlModel.load(set.modelDir(), batching(8)));
    }

    @AfterAll
    static void closeModels() {
        MODELS.values().forEach(QwenVlModel::close);
        MODELS.clear();
    }

    /** The Qwen2- and Qwen3-family sets with generation goldens. */
    static List<FixtureSet> sets() {
        return FixtureRoot.sets().stream().filter(s -> s.manifest().has("model_dir") && s.cases().has("generation"))
                .filter(s -> {
                    JsonObject summary = s.manifest().getAsJsonObject("config_summary");
                    String type = summary == null || !summary.has("model_type") ? ""
                            : summary.get("model_type").getAsString();
                    return type.startsWith("qwen2") || type.startsWith("qwen3_vl") && !type.contains("moe");
                }).toList();
    }

    /** One request of a mix and what it must give: golden ids, or (null) the ids it gives alone. */
    record Job(String name, GenerationRequest request, int[] expected) {
    }

    private static int[] ints(com.google.gson.JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    /** The set's greedy goldens, and other requests over the same prompts with their ids when run alone. */
    static List<Job> jobs(FixtureSet set, QwenVlModel model) {
        List<Job> goldens = new ArrayList<>();
        List<Job> others = new ArrayList<>();
        JsonObject prompts = set.cases().getAsJsonObject("generation").getAsJsonObject("prompts");
        int variant = 0;
        for (String name : prompts.keySet()) {
            JsonObject golden = prompts.getAsJsonObject(name);
            JsonObject promptCase = set.cases().getAsJsonObject(golden.get("prompt_case").getAsString());
            JsonObject kwargs = golden.getAsJsonObject("generate_kwargs");
            double penalty = kwargs.has("repetition_penalty") && !kwargs.get("repetition_penalty").isJsonNull()
                    ? kwargs.get("repetition_penalty").getAsDouble() : 1.0;
            List<ChatMessage> messages = GoldenPrompts.messages(set, promptCase);
            GenerationOptions.Builder base = GoldenPrompts.options(set, promptCase);
            goldens.add(new Job(name + "/golden", new GenerationRequest(messages, base.maxNewTokens(
                    kwargs.get("max_new_tokens").getAsInt()).temperature(0.0).repetitionPenalty(penalty).build()),
                    ints(golden.getAsJsonArray("new_ids"))));
            GenerationOptions.Builder b = GoldenPrompts.options(set, promptCase);
            others.add(new Job(name + "/seeded", new GenerationRequest(messages, b.temperature(0.9).topK(40).topP(0.95)
                    .seed(17L + variant).maxNewTokens(30).minNewTokens(30).build()), null));
            b = GoldenPrompts.options(set, promptCase);
            others.add(new Job(name + "/penalty", new GenerationRequest(messages, b.temperature(0.0)
                    .repetitionPenalty(1.3).maxNewTokens(12 + 7 * variant).build()), null));
            b = GoldenPrompts.options(set, promptCase);
            others.add(new Job(name + "/short", new GenerationRequest(messages, b.temperature(0.0).maxNewTokens(2)
                    .build()), null));
            variant++;
        }
        others.add(new Job("text/long", new GenerationRequest(List.of(ChatMessage.user(
                "Count slowly from one to forty, one number per line, and then say which was the largest.")),
                GenerationOptions.builder().temperature(0.7).seed(5L).maxNewTokens(40).minNewTokens(40).build()), null));
        others.add(new Job("image/other-size", new GenerationRequest(List.of(ChatMessage.user(
                Content.image(ImageSource.of(FixtureRoot.bundled().resolve("qwen2-vl-common/images/photo_640x480.jpg"))),
                Content.text("What is in the picture?"))),
                GenerationOptions.builder().temperature(0.0).maxNewTokens(16).maxPixels(112 * 84).build()), null));
        List<Job> all = new ArrayList<>(goldens);
        for (Job j : others) { // the ids it gives alone: steps of one sequence
            all.add(new Job(j.name(), j.request(), model.generate(j.request()).tokenIds()));
        }
        return all;
    }

    @TestFactory
    Stream<DynamicTest> goldensInBatchesOfTwoToEight() {
        List<DynamicTest> tests = new ArrayList<>();
        for (FixtureSet set : sets()) {
            tests.add(DynamicTest.dynamicTest(set.name(), () -> assertTimeoutPreemptively(LIMIT, () -> mixes(set))));
        }
        assertThat(tests).as("sets with generation goldens").isNotEmpty();
        return tests.stream();
    }

    private void mixes(FixtureSet set) throws Exception {
        QwenVlModel model = model(set);
        assertThat(model.decodeStats()).as("Java decode through the batcher").isNotNull();
        List<Job> jobs = jobs(set, model);
        int next = 0;
        for (int size : new int[] {2, 3, 5, 8, 4}) {
            List<Job> mix = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                mix.add(jobs.get(next++ % jobs.size()));
            }
            runTogether(model, mix);
        }
        // every golden also in a group of the largest size
        List<Job> goldensFirst = new ArrayList<>(jobs);
        runTogether(model, goldensFirst.subList(0, Math.min(8, goldensFirst.size())));
        assertThat(model.decodeStats().largestBatch()).as("steps computed several sequences").isGreaterThanOrEqualTo(2);
        assertThat(model.decodeStats().decoding()).isZero();
    }

    private static void runTogether(QwenVlModel model, List<Job> mix) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(mix.size());
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<GenerationResult>> results = new ArrayList<>();
            for (Job job : mix) {
                results.add(pool.submit(() -> {
                    start.await();
                    return model.stream(job.request(), delta -> pause());
                }));
            }
            start.countDown();
            for (int i = 0; i < mix.size(); i++) {
                assertThat(results.get(i).get().tokenIds()).as(mix.get(i).name() + " in a group of " + mix.size())
                        .containsExactly(mix.get(i).expected());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** A listener's pause per delta, so that the group's sequences decode at the same time. */
    private static void pause() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A request that runs until it is stopped (forced length). */
    private static GenerationRequest endless(String text) {
        return new GenerationRequest(List.of(ChatMessage.user(text)),
                GenerationOptions.builder().temperature(0.0).maxNewTokens(4000).minNewTokens(4000).build());
    }

    private static QwenVlModel tiny() {
        return QwenVlModel.load(FixtureRoot.bundled().resolve("qwen2-vl-tiny/model"), batching(4));
    }

    private static void awaitDecoding(QwenVlModel model, int sequences) throws InterruptedException {
        while (model.decodeStats().decoding() < sequences) {
            Thread.sleep(2);
        }
    }

    @Test
    void aCancelledSequenceLeavesTheOthersDecodingToTheirOwnAnswers() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (QwenVlModel model = tiny()) {
                GenerationRequest steady = new GenerationRequest(List.of(ChatMessage.user("Name three colours.")),
                        GenerationOptions.builder().temperature(0.0).maxNewTokens(300).minNewTokens(300).build());
                int[] alone = model.generate(steady).tokenIds();
                ExecutorService pool = Executors.newFixedThreadPool(4);
                try {
                    CancellationToken cancelled = CancellationToken.create();
                    Future<GenerationResult> victim = pool.submit(() -> model.stream(endless("Tell a story."),
                            delta -> pause(), cancelled));
                    java.util.concurrent.atomic.AtomicBoolean stopListening = new java.util.concurrent.atomic.AtomicBoolean();
                    Future<GenerationResult> listenerStops = pool.submit(() -> model.stream(endless("Sing."),
                            new GenerationListener() {
                                @Override
                                public void onText(String delta) {
                                    pause();
                                }

                                @Override
                                public boolean isCancelled() {
                                    return stopListening.get();
                                }
                            }));
                    Future<GenerationResult> a = pool.submit(() -> model.stream(steady, delta -> pause()));
                    Future<GenerationResult> b = pool.submit(() -> model.stream(steady, delta -> pause()));
                    awaitDecoding(model, 4);
                    cancelled.cancel(RequestCancelledException.Reason.CLIENT);
                    stopListening.set(true);
                    assertThatThrownBy(victim::get).cause().isInstanceOf(RequestCancelledException.class)
                            .extracting(e -> ((RequestCancelledException) e).reason())
                            .isEqualTo(RequestCancelledException.Reason.CLIENT);
                    assertThat(listenerStops.get().finishReason()).isEqualTo(FinishReason.CANCELLED);
                    assertThat(a.get().tokenIds()).containsExactly(alone);
                    assertThat(b.get().tokenIds()).containsExactly(alone);
                } finally {
                    pool.shutdownNow();
                }
                assertThat(model.decodeStats().largestBatch()).isGreaterThanOrEqualTo(2);
                assertThat(model.decodeStats().decoding()).isZero();
                assertThat(model.activeRequests()).isZero();
            }
        });
    }

    @Test
    void anInterruptedThreadEndsItsBatchedRequestAsCancelled() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (QwenVlModel model = tiny()) {
                ExecutorService pool = Executors.newFixedThreadPool(2);
                try {
                    Future<GenerationResult> other = pool.submit(() -> model.stream(endless("Sing."), delta -> pause()));
                    Future<GenerationResult> interrupted = pool.submit(() -> model.stream(endless("Tell a story."),
                            delta -> pause()));
                    awaitDecoding(model, 2);
                    interrupted.cancel(true); // interrupts its thread, which waits for a step or runs its loop
                    other.cancel(true);
                    while (model.activeRequests() > 0) {
                        Thread.sleep(2);
                    }
                    assertThat(model.decodeStats().decoding()).isZero();
                } finally {
                    pool.shutdownNow();
                }
            }
        });
    }

    @Test
    void closeWhileSequencesAreBatchedStopsThemAndFreesTheModel() {
        assertTimeoutPreemptively(LIMIT, () -> {
            QwenVlModel model = tiny();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<GenerationResult>> running = new ArrayList<>();
                for (String text : new String[] {"One.", "Two, three.", "Four, five, six."}) {
                    running.add(pool.submit(() -> model.stream(endless(text), delta -> pause())));
                }
                awaitDecoding(model, 3);
                model.close();
                for (Future<GenerationResult> f : running) {
                    assertThatThrownBy(f::get).cause().isInstanceOf(RequestCancelledException.class)
                            .extracting(e -> ((RequestCancelledException) e).reason())
                            .isEqualTo(RequestCancelledException.Reason.SHUTDOWN);
                }
                assertThat(model.activeRequests()).isZero();
                assertThatThrownBy(() -> model.generate(endless("Late."))).isInstanceOf(RequestCancelledException.class);
            } finally {
                pool.shutdownNow();
                model.close();
            }
        });
    }
}
