package io.github.qwenvl.bench;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.EngineTuning;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.RequestCancelledException;
import io.github.qwenvl.ServingLimits;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.engine.DjlRuntime;
import io.github.qwenvl.generate.DecodeBatcher;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Continuous batching through {@link QwenVlModel} on the random Qwen2-VL-2B checkpoint (written by
 * {@link RandomCheckpoint} under {@code target/bench-models} if missing), in one run:
 * <ol>
 *     <li>decode tok/s at 1, 2, 4 and 8 concurrent streams, each with a prompt of about 128 tokens and a forced
 *     number of new tokens ({@code -Dqwenvl.bench.tokens}, 32); the streams start decoding together (each waits at
 *     its first token for the others' prefills): aggregate = tokens the shared steps computed while every stream was
 *     decoding, over that window (sampled from the scheduler's counters); per stream = aggregate / N; also each
 *     request's own decode speed (its tokens after the first over its decode time);</li>
 *     <li>admission: a 448×448 image request alone, then while 1 and then 4 streams decode: its time to first token,
 *     and the longest gap between two tokens of a running stream from its arrival until its first token, against the
 *     gaps before it arrived (the step time at that batch size);</li>
 *     <li>peak RSS (VmHWM) and the load average before and after.</li>
 * </ol>
 * {@code mvn -B -o -q -pl qwen-vl-core test -Dtest=BatchBenchmarkLauncher -Dqwenvl.bench.batchRun=true}
 * (Surefire's forked JVM: the test suites' heap, Vector API and DJL settings); {@code -Dqwenvl.bench.batch} sets
 * max-batch-size (8), {@code -Dqwenvl.bench.dir} the checkpoint cache. Needs ≥ 8 GB available
 * ({@code -Dqwenvl.bench.force=true} skips the check). A command, never a timed test: figures depend on the machine.
 */
public final class BatchBenchmark {

    private static final String[] WORDS = ("river stone light window garden table paper music winter summer city "
            + "forest bridge market colour story morning evening letter number circle square yellow orange silver "
            + "animal flower mountain ocean island valley harbour engine machine picture camera").split(" ");

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    /** The whole run, printed to standard output; returns the exit status (2: not enough memory available). */
    public static int run(String[] args) throws Exception {
        int tokens = Integer.getInteger("qwenvl.bench.tokens", 32);
        int maxBatch = Integer.getInteger("qwenvl.bench.batch", 8);
        double available = EngineBenchmark.memAvailableGiB();
        if (available < 8 && !Boolean.getBoolean("qwenvl.bench.force")) {
            System.err.printf(Locale.ROOT, "Only %.1f GiB available (< 8): not starting%n", available);
            return 2;
        }
        Path dir = args.length > 0 ? Path.of(args[0])
                : RandomCheckpoint.ensure(Qwen2VlSpec.QWEN2_VL_2B, RandomCheckpoint.cacheRoot(),
                RandomCheckpoint.fixtureRoot()).directory();
        System.out.printf(Locale.ROOT, "[batch] model %s, max-batch-size %d, %d forced tokens per stream, load %s,"
                + " %.1f GiB available%n", dir, maxBatch, tokens, loadAverage(), available);
        DjlRuntime.start(2);
        EngineBenchmark.resetPeakRss();
        try (QwenVlModel model = QwenVlModel.load(dir, QwenVlOptions.defaults().withThreads(2)
                .withServing(ServingLimits.NONE.withMaxBatchSize(maxBatch)).withTuning(EngineTuning.DEFAULTS))) {
            if (model.decodeStats() == null) {
                throw new IllegalStateException("decode steps are not batched (run with --add-modules jdk.incubator.vector)");
            }
            model.generate(new GenerationRequest(List.of(ChatMessage.user(prompt(0, 16))), forced(4)));
            model.generate(EngineBenchmark.imageRequest(EngineBenchmark.syntheticImage(56, 56), forced(2)));
            int words = wordsFor(model, 128);
            double single = 0;
            List<String> rows = new ArrayList<>();
            for (int streams : new int[] {1, 2, 4, 8}) {
                double[] r = decodeRun(model, streams, words, tokens);
                if (streams == 1) {
                    single = r[0];
                }
                rows.add(String.format(Locale.ROOT, "  %2d streams: aggregate %6.2f tok/s (%.2fx one stream), per stream"
                                + " %5.2f tok/s (%.2fx), streams' own %5.2f tok/s, largest step %d, prompt %d tokens",
                        streams, r[0], r[0] / single, r[0] / streams, r[0] / streams / single, r[1], (int) r[2], (int) r[3]));
                System.out.println("[batch] " + rows.get(rows.size() - 1).trim());
            }
            List<String> admissions = new ArrayList<>();
            for (int streams : new int[] {0, 1, 4}) {
                admissions.add(admission(model, streams, words));
                System.out.println("[batch] " + admissions.get(admissions.size() - 1).trim());
            }
            System.out.println();
            System.out.println("Continuous batching, random Qwen2-VL-2B, 2 threads, max-batch-size " + maxBatch);
            System.out.println("decode (prompts of ~128 tokens, " + tokens + " forced new tokens each):");
            rows.forEach(System.out::println);
            System.out.println("a 448x448 image request admitted while streams decode:");
            admissions.forEach(System.out::println);
        }
        System.out.printf(Locale.ROOT, "peak RSS %.2f GiB, load average after %s%n",
                EngineBenchmark.procStatusGiB("VmHWM"), loadAverage());
        return 0;
    }

    /** {aggregate tok/s while all streams decode, mean of the requests' own decode tok/s, largest step, prompt len}. */
    private static double[] decodeRun(QwenVlModel model, int streams, int words, int tokens) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(streams);
        try {
            List<Future<GenerationResult>> futures = new ArrayList<>();
            // every stream holds at its first token until all have one: the prefills run first, then every stream
            // decodes from the same moment (a stream joins the shared steps after its first token)
            java.util.concurrent.CountDownLatch prefilled = new java.util.concurrent.CountDownLatch(streams);
            List<List<Long>> times = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                List<Long> at = new CopyOnWriteArrayList<>();
                times.add(at);
                GenerationRequest request = new GenerationRequest(List.of(ChatMessage.user(prompt(i + 1, words))),
                        forced(tokens));
                CancellationToken token = CancellationToken.create().observe((checkpoint, index) -> {
                    if (checkpoint == CancellationToken.Checkpoint.TOKEN) {
                        at.add(System.nanoTime());
                    }
                    if (checkpoint == CancellationToken.Checkpoint.TOKEN && index == 0) {
                        prefilled.countDown();
                        try {
                            prefilled.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
                futures.add(pool.submit(() -> model.stream(request, delta -> { }, token)));
            }
            // the full-batch window, from the scheduler's counters
            long t0 = 0;
            long tokens0 = 0;
            long t1 = 0;
            long tokens1 = 0;
            int largest = 0;
            while (!futures.stream().allMatch(Future::isDone)) {
                DecodeBatcher.Stats s = model.decodeStats();
                long now = System.nanoTime();
                if (s.decoding() == streams) {
                    if (t0 == 0) {
                        t0 = now;
                        tokens0 = s.tokens();
                    }
                    t1 = now;
                    tokens1 = s.tokens();
                    largest = Math.max(largest, s.batchSize());
                }
                Thread.sleep(1);
            }
            int prompt = 0;
            for (Future<GenerationResult> f : futures) {
                prompt = f.get().usage().promptTokens();
            }
            // each stream's own speed: its tokens after the first, from the moment all were released
            long release = times.stream().mapToLong(t -> t.get(0)).max().orElseThrow();
            double own = 0;
            for (List<Long> t : times) {
                own += (t.size() - 1) / ((t.get(t.size() - 1) - release) / 1e9);
            }
            double aggregate = t1 > t0 ? (tokens1 - tokens0) / ((t1 - t0) / 1e9) : Double.NaN;
            return new double[] {aggregate, own / streams, largest, prompt};
        } finally {
            pool.shutdownNow();
        }
    }

    /** Running streams' token gaps before and during the admission of a 448×448 request, and its TTFT. */
    private static String admission(QwenVlModel model, int streams, int words) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(streams + 1);
        List<CancellationToken> stop = new ArrayList<>();
        List<List<Long>> times = new ArrayList<>();
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                CancellationToken token = CancellationToken.create();
                List<Long> at = new CopyOnWriteArrayList<>();
                token.observe((checkpoint, index) -> {
                    if (checkpoint == CancellationToken.Checkpoint.TOKEN) {
                        at.add(System.nanoTime());
                    }
                });
                stop.add(token);
                times.add(at);
                GenerationRequest request = new GenerationRequest(List.of(ChatMessage.user(prompt(20 + i, words))),
                        forced(4000));
                running.add(pool.submit(() -> {
                    try {
                        model.stream(request, delta -> { }, token);
                    } catch (RequestCancelledException expected) {
                        // stopped below
                    }
                }));
            }
            while (model.decodeStats().decoding() < streams || times.stream().anyMatch(t -> t.size() < 6)) {
                // the streams decode a few steps first (none: the request alone, the reference)
                Thread.sleep(5);
            }
            long arrival = System.nanoTime();
            long[] firstToken = {0};
            CancellationToken newToken = CancellationToken.create().observe((checkpoint, index) -> {
                if (checkpoint == CancellationToken.Checkpoint.TOKEN && index == 0) {
                    firstToken[0] = System.nanoTime();
                }
            });
            GenerationResult admitted = CompletableFuture.supplyAsync(() -> model.stream(EngineBenchmark.imageRequest(
                    EngineBenchmark.syntheticImage(448, 448), forced(1)), delta -> { }, newToken), pool).get();
            for (CancellationToken t : stop) {
                t.cancel(RequestCancelledException.Reason.CLIENT);
            }
            for (Future<?> f : running) {
                f.get();
            }
            double before = 0;
            double worst = 0;
            int beforeCount = 0;
            for (List<Long> t : times) {
                Long[] at = t.toArray(new Long[0]);
                for (int i = 1; i < at.length; i++) {
                    double gap = (at[i] - at[i - 1]) / 1e6;
                    if (at[i] <= arrival && i >= 2) {
                        before += gap;
                        beforeCount++;
                    } else if (at[i - 1] < firstToken[0] && at[i] > arrival) {
                        worst = Math.max(worst, gap);
                    }
                }
            }
            if (streams == 0) {
                return String.format(Locale.ROOT, "  alone:       TTFT %.1f s (vision %.1f s, prefill %.1f s, %d prompt"
                                + " tokens)", (firstToken[0] - arrival) / 1e9, admitted.timings().visionMillis() / 1000,
                        admitted.timings().prefillMillis() / 1000, admitted.usage().promptTokens());
            }
            return String.format(Locale.ROOT, "  %d stream(s): TTFT %.1f s (vision %.1f s, prefill %.1f s, %d prompt"
                            + " tokens); running streams' worst gap between two tokens meanwhile %.0f ms, mean gap before"
                            + " it arrived %.0f ms", streams, (firstToken[0] - arrival) / 1e9,
                    admitted.timings().visionMillis() / 1000, admitted.timings().prefillMillis() / 1000,
                    admitted.usage().promptTokens(), worst, before / Math.max(1, beforeCount));
        } finally {
            for (CancellationToken t : stop) {
                t.cancel(RequestCancelledException.Reason.CLIENT);
            }
            pool.shutdownNow();
        }
    }

    /** How many words make a user message whose prompt is about {@code target} tokens. */
    private static int wordsFor(QwenVlModel model, int target) {
        int base = model.generate(new GenerationRequest(List.of(ChatMessage.user(prompt(0, 0))), forced(1)))
                .usage().promptTokens();
        int perWord = model.tokenizer().encode(prompt(0, 200)).length - model.tokenizer().encode(prompt(0, 0)).length;
        return Math.max(1, Math.round((target - base) * 200f / Math.max(1, perWord)));
    }

    /** A user message of {@code words} words, different for each {@code seed}. */
    private static String prompt(int seed, int words) {
        StringBuilder b = new StringBuilder("Summarise these words:");
        for (int i = 0; i < words; i++) {
            b.append(' ').append(WORDS[(i * 7 + seed * 13 + i / WORDS.length) % WORDS.length]);
        }
        return b.toString();
    }

    private static GenerationOptions forced(int n) {
        return EngineBenchmark.forced(n);
    }

    private static String loadAverage() {
        try {
            return Arrays.toString(Arrays.copyOf(Files.readString(Path.of("/proc/loadavg")).trim().split(" "), 3));
        } catch (Exception e) {
            return "unknown";
        }
    }

    private BatchBenchmark() {
    }
}
