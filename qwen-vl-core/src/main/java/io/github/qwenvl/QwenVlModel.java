package io.github.qwenvl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.github.qwenvl.config.GenerationDefaults;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.engine.Checkpoints;
import io.github.qwenvl.engine.DjlRuntime;
import io.github.qwenvl.engine.ModelBackend;
import io.github.qwenvl.engine.PreparedPrompt;
import io.github.qwenvl.generate.DecodingSession;
import io.github.qwenvl.generate.FinishReason;
import io.github.qwenvl.generate.GenerationLoop;
import io.github.qwenvl.generate.SamplingParams;
import io.github.qwenvl.engine.Architectures;
import io.github.qwenvl.tokenizer.QwenTokenizer;
import io.github.qwenvl.tokenizer.StreamingDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;

/**
 * A loaded Qwen vision-language model: the engine's entry point.
 *
 * <pre>{@code
 * try (QwenVlModel model = QwenVlModel.load(Path.of("/models/Qwen2-VL-2B-Instruct"))) {
 *     GenerationResult r = model.generate(GenerationRequest.of(
 *             ChatMessage.user(Content.image(ImageSource.of(Path.of("cat.jpg"))), Content.text("What is this?"))));
 *     System.out.println(r.text());
 * }
 * }</pre>
 *
 * <p>Thread-safe: one model serves concurrent requests, each with its own KV cache; weights are
 * shared read-only. Every request's native memory is freed when it ends, normally or not.
 */
public final class QwenVlModel implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(QwenVlModel.class);
    /** Library default when neither the request nor generation_config.json limits the answer. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 512;

    private final ModelBackend<?> backend;
    private final NDManager manager;
    private final ModelInfo info;
    /**
     * Heap growth since the last collection after which a request that leaves the model idle is followed by one
     * ({@link EngineTuning#heapGrowthToCollect}): a long prompt's Java KV cache makes G1 grow the heap, which it would
     * otherwise keep committed and resident through the next request's vision pass.
     */
    private final long heapGrowthToCollect;

    private final boolean collectGarbage;
    private final ServingLimits serving;
    /** Set while the collection after the first request is still due (see {@link QwenVlOptions#collectGarbage()}). */
    private final java.util.concurrent.atomic.AtomicBoolean collectAfterFirstRequest;
    private final java.util.concurrent.atomic.AtomicInteger requestsInFlight = new java.util.concurrent.atomic.AtomicInteger();
    /** How long {@link #close()} waits for cancelled requests to leave the engine before it gives up freeing. */
    public static final java.time.Duration CLOSE_WAIT = java.time.Duration.ofSeconds(60);
    private final Object lifecycle = new Object();
    /** Tokens of the requests inside the model; guarded by {@link #lifecycle}. */
    private final java.util.Set<CancellationToken> active = new java.util.HashSet<>();
    private volatile boolean closing;
    /** Heap committed after the last collection (bytes). */
    private volatile long committedAfterCollection;

    private QwenVlModel(ModelBackend<?> backend, NDManager manager, ModelInfo info, boolean collectGarbage,
                        ServingLimits serving, long heapGrowthToCollect) {
        this.serving = serving;
        this.heapGrowthToCollect = heapGrowthToCollect;
        this.backend = backend;
        this.manager = manager;
        this.info = info;
        this.collectGarbage = collectGarbage;
        this.collectAfterFirstRequest = new java.util.concurrent.atomic.AtomicBoolean(collectGarbage);
        this.committedAfterCollection = heapCommitted();
    }

    public static QwenVlModel load(Path directory) {
        return load(directory, QwenVlOptions.defaults());
    }

    /** Loads a Hugging Face model directory (config.json, safetensors weights, tokenizer files). */
    public static QwenVlModel load(Path directory, QwenVlOptions options) {
        long start = System.nanoTime();
        ModelConfig config = ModelConfig.load(directory);
        io.github.qwenvl.checkpoint.PackedInt4.refuseWholeModel(config.raw(), directory);
        Engine engine = DjlRuntime.start(options.threads());
        Device device = DjlRuntime.device(engine, options.device());
        if (options.precision() == QwenVlOptions.Precision.FLOAT16 && !device.isGpu()) {
            throw new QwenVlException("precision FLOAT16 is only offered on a GPU: on CPU float16 matrix products are"
                    + " orders of magnitude slower than float32; use FLOAT32");
        }
        LOG.info("Loading {} from {} on {} ({})", config.architecture().architectureClass(), directory, device,
                options.precision());
        NDManager manager = engine.newBaseManager(device);
        ModelBackend<?> backend;
        try {
            backend = Architectures.supportOf(config.architecture()).createBackend(config, manager, options);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        if (options.collectGarbage()) {
            collect("the load");
        }
        double millis = (System.nanoTime() - start) / 1e6;
        ModelInfo info = new ModelInfo(directory, config.architecture(), device.toString(), options.precision(),
                backend.parameterCount(), backend.weightBytes(), backend.contextLength(), millis);
        LOG.info("Loaded {} ({}): {} parameters, {} MiB of weights, context {} tokens, in {} s", config.architecture().architectureClass(), directory,
                info.parameters(), info.weightBytes() >> 20, info.contextLength(), String.format("%.1f", millis / 1000));
        return new QwenVlModel(backend, manager, info, options.collectGarbage(), options.serving(),
                options.tuning().heapGrowthToCollect());
    }

    /**
     * One whole-heap collection after the load, one after the first request, and one whenever the model falls idle
     * after a request that grew the heap by {@link #heapGrowthToCollect} or more (see
     * {@link QwenVlOptions#collectGarbage()}): G1 grows the heap while the load allocates, during the first request,
     * while the JIT has not yet compiled the Java kernels (interpreted Vector API code allocates an object per vector
     * operation), and for a long prompt's Java KV cache; only a whole-heap collection lets it shrink again, so without
     * these the process keeps committed heap far above the live heap, and later requests touch it.
     */
    /** Collections this class has asked for ({@code System.gc()} calls), whatever the collector does with them. */
    static final java.util.concurrent.atomic.AtomicLong COLLECTIONS_REQUESTED = new java.util.concurrent.atomic.AtomicLong();

    private static long collect(String after) {
        COLLECTIONS_REQUESTED.incrementAndGet();
        long start = System.nanoTime();
        long committed = heapCommitted();
        System.gc();
        long now = heapCommitted();
        LOG.debug("Collected the garbage of {} in {} ms: heap committed {} -> {} MiB", after,
                (System.nanoTime() - start) / 1_000_000, committed >> 20, now >> 20);
        return now;
    }

    private static long heapCommitted() {
        return java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted();
    }

    public ModelInfo info() {
        return info;
    }

    public ModelArchitecture architecture() {
        return backend.architecture();
    }

    public QwenTokenizer tokenizer() {
        return backend.tokenizer();
    }

    /** The limits on what one request may cost and contain, as loaded ({@link QwenVlOptions#serving()}). */
    public ServingLimits servingLimits() {
        return serving;
    }

    /** Most tokens one image may take on this model's device (null: the checkpoint's bounds only). */
    public Integer maxImageTokens() {
        return serving.imageTokensOn(info.device().startsWith("gpu"));
    }

    /**
     * How the model would see an image (resized size, tokens) with these options and the image-token limit: what
     * grounding helpers need to turn pixel rectangles into the model's box markup before asking, and what the image
     * will cost (its {@code tokens}) before it is sent. Reads only the image's header.
     *
     * @param index the image's position in the conversation (0 = "Picture 1")
     */
    public ImageInfo describeImage(io.github.qwenvl.image.ImageSource source, GenerationOptions options, int index) {
        CancellationToken token = CancellationToken.create();
        admit(token);
        try {
            return backend.describeImage(source, options == null ? GenerationOptions.DEFAULTS : options, index);
        } finally {
            leave(token);
        }
    }

    /** Runs a request to completion. */
    public GenerationResult generate(GenerationRequest request) {
        return stream(request, delta -> {
        });
    }

    /**
     * The answer text keeps the grounding markup tokens (so boxes can be parsed) and drops every other
     * special token; {@link io.github.qwenvl.grounding.GroundingParser} gives the clean text and boxes.
     *
     * Runs a request, handing text deltas to {@code listener} as tokens are produced (on this thread).
     * Returns when generation ends; the deltas concatenated equal the result's text.
     */
    public GenerationResult stream(GenerationRequest request, GenerationListener listener) {
        return stream(request, listener, CancellationToken.create());
    }

    /**
     * Runs a request that {@code token} can stop (its caller, its deadline, or this model's {@link #close()}): the
     * token is checked between the vision tower's blocks and attention blocks, the prefill's layers and query blocks,
     * and generated tokens. A cancelled request ends with {@link RequestCancelledException} carrying the reason, its
     * memory freed. {@link GenerationListener#isCancelled()} is polled at the same places: before the first token it
     * ends the request with {@code RequestCancelledException} (reason CLIENT), after it with the text so far and
     * {@link FinishReason#CANCELLED}.
     *
     * @throws RequestCancelledException reason SHUTDOWN when the model is closing or closed
     */
    public GenerationResult stream(GenerationRequest request, GenerationListener listener, CancellationToken token) {
        java.util.Objects.requireNonNull(token, "token");
        admit(token);
        requestsInFlight.incrementAndGet();
        try {
            return run(request, listener, token);
        } finally {
            leave(token);
            boolean idle = requestsInFlight.decrementAndGet() == 0;
            if (collectAfterFirstRequest.getAndSet(false)) {
                committedAfterCollection = collect("the first request");
            } else if (collectGarbage && idle && heapCommitted() - committedAfterCollection >= heapGrowthToCollect) {
                // only when no other request runs: under a steady load the heap is in use, not left over
                committedAfterCollection = collect("a request that grew the heap");
            }
        }
    }

    private GenerationResult run(GenerationRequest request, GenerationListener listener, CancellationToken token) {
        RequestCheck check = new RequestCheck(token, listener, backend.decodeBatcher());
        try (Checkpoints.Scope ignored = Checkpoints.enter(check)) {
            return run(request, listener, token, check);
        }
    }

    private GenerationResult run(GenerationRequest request, GenerationListener listener, CancellationToken token,
                                 RequestCheck check) {
        long start = System.nanoTime();
        GenerationOptions options = request.options();
        token.throwIfCancelled();
        Prepared<?> prepared = Prepared.of(backend, request.messages(), options);
        PreparedPrompt<?> prompt = prepared.prompt();
        int promptLength = prompt.inputIds().length;
        if (serving.maxPromptTokens() != null && promptLength > serving.maxPromptTokens()) {
            throw new RequestTooLargeException("prompt tokens (image tokens included)", serving.maxPromptTokens(),
                    promptLength, ServingLimits.MAX_PROMPT_TOKENS_PROPERTY);
        }
        int context = backend.contextLength();
        if (promptLength >= context) {
            throw new PromptTooLongException(promptLength, context);
        }
        SamplingParams params = samplingParams(options, context - promptLength);
        long preparedAt = System.nanoTime();
        java.util.Set<Integer> kept = backend.keptSpecialTokens();
        QwenTokenizer tokenizer = backend.tokenizer();
        StreamingDecoder decoder = new StreamingDecoder(tokenizer, id -> tokenizer.isSpecial(id) && !kept.contains(id));
        TextAssembler text = new TextAssembler(decoder, params.stopSequences(), listener);
        long[] firstToken = {0};
        GenerationLoop.Outcome outcome;
        long visionNanos;
        token.throwIfCancelled();
        try (DecodingSession session = prepared.open(promptLength + params.maxNewTokens())) {
            visionNanos = System.nanoTime() - preparedAt;
            outcome = GenerationLoop.run(session, params, (id, index) -> {
                if (index == 0) {
                    firstToken[0] = System.nanoTime();
                    check.generating = true;
                }
                FinishReason stop = text.accept(id);
                token.reached(CancellationToken.Checkpoint.TOKEN, index);
                token.throwIfCancelled();
                if (stop == null && listener.isCancelled()) {
                    return FinishReason.CANCELLED;
                }
                return stop;
            }, null);
        }
        String answer = text.finish(outcome.finishReason());
        GenerationResult.Timings timings = new GenerationResult.Timings(
                (preparedAt - start) / 1e6, visionNanos / 1e6, outcome.prefillNanos() / 1e6, outcome.decodeNanos() / 1e6,
                (firstToken[0] - start) / 1e6);
        GenerationResult.Usage usage = new GenerationResult.Usage(promptLength, prompt.imageTokens(), outcome.tokens().length);
        return new GenerationResult(answer, outcome.tokens(), outcome.finishReason(), usage, timings, prompt.images());
    }

    /** A prompt with the backend that prepared it (which alone knows its image input's type). */
    private record Prepared<P>(ModelBackend<P> backend, PreparedPrompt<P> prompt) {
        static <P> Prepared<P> of(ModelBackend<P> backend, List<io.github.qwenvl.chat.ChatMessage> messages,
                                  GenerationOptions options) {
            return new Prepared<>(backend, backend.prepare(messages, options));
        }

        DecodingSession open(int capacity) {
            return backend.open(prompt, capacity);
        }
    }

    /** Request options over generation_config.json over the library's defaults. */
    SamplingParams samplingParams(GenerationOptions o, int room) {
        GenerationDefaults d = backend.generationDefaults();
        int maxNew = o.maxNewTokens() != null ? o.maxNewTokens()
                : d.maxNewTokens() != null ? d.maxNewTokens() : DEFAULT_MAX_NEW_TOKENS;
        if (maxNew < 1) {
            throw new InvalidRequestException("maxNewTokens must be at least 1, was " + maxNew);
        }
        maxNew = Math.min(maxNew, room);
        boolean doSample = o.temperature() != null ? o.temperature() > 0 : d.doSample();
        double temperature = o.temperature() != null ? o.temperature() : d.temperature() != null ? d.temperature() : 1.0;
        int topK = o.topK() != null ? o.topK() : d.topK() != null ? d.topK() : 50;
        double topP = o.topP() != null ? o.topP() : d.topP() != null ? d.topP() : 1.0;
        double penalty = o.repetitionPenalty() != null ? o.repetitionPenalty()
                : d.repetitionPenalty() != null ? d.repetitionPenalty() : 1.0;
        int[] eos = d.eosTokenIds().length > 0 ? d.eosTokenIds() : defaultEos();
        try {
            int minNew = o.minNewTokens() != null ? Math.min(o.minNewTokens(), maxNew) : 0;
            return new SamplingParams(doSample, temperature, topK, topP, penalty, o.seed(), maxNew, minNew, eos,
                    o.stopSequences() == null ? List.of() : o.stopSequences());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(e.getMessage());
        }
    }

    private int[] defaultEos() {
        var s = backend.tokenizer().specialTokens();
        return new int[] {s.imEnd(), s.endOfText()};
    }

    /**
     * Native tensors currently alive under this model (weights included): diagnostics for leak checks,
     * it returns to the same value after every request.
     */
    public int liveTensors() {
        return manager.getManagedArrays().size();
    }

    /**
     * The check installed for a request's thread: its token first, then its listener; inert once the first token is
     * out (from then on the token loop checks once per token, and a listener's cancellation keeps the text so far).
     */
    private static final class RequestCheck implements Checkpoints.Check {
        private final CancellationToken token;
        private final GenerationListener listener;
        volatile boolean generating;
        /** The request's turns with the running streams' decode steps (vision and prefill); null: none. */
        private final io.github.qwenvl.generate.DecodeBatcher<?>.PrefillShare share;

        RequestCheck(CancellationToken token, GenerationListener listener, io.github.qwenvl.generate.DecodeBatcher<?> batcher) {
            this.token = token;
            this.listener = listener;
            this.share = batcher == null ? null : batcher.prefillShare();
        }

        @Override
        public void reached(CancellationToken.Checkpoint checkpoint, int index) {
            if (generating) {
                return;
            }
            token.reached(checkpoint, index);
            token.throwIfCancelled();
            if (listener.isCancelled()) {
                token.cancel(RequestCancelledException.Reason.CLIENT);
                token.throwIfCancelled();
            }
            if (share != null) {
                share.checkpoint(); // takes turns with the running streams' decode steps
            }
        }
    }

    /** Admits a request unless the model is closing; the request is then cancelled by {@link #close()}. */
    private void admit(CancellationToken token) {
        synchronized (lifecycle) {
            if (closing) {
                token.cancel(RequestCancelledException.Reason.SHUTDOWN);
                throw new RequestCancelledException(RequestCancelledException.Reason.SHUTDOWN,
                        "The model is shutting down and accepts no new requests");
            }
            active.add(token);
        }
    }

    private void leave(CancellationToken token) {
        synchronized (lifecycle) {
            active.remove(token);
            lifecycle.notifyAll();
        }
    }

    /**
     * What the decode scheduler is doing (sequences decoding, size of the last shared step), or null where each
     * request's decode steps run alone (see {@link io.github.qwenvl.engine.ModelBackend#decodeBatcher()}).
     */
    public io.github.qwenvl.generate.DecodeBatcher.Stats decodeStats() {
        io.github.qwenvl.generate.DecodeBatcher<?> batcher = backend.decodeBatcher();
        return batcher == null ? null : batcher.stats();
    }

    /** Requests running in this model now. */
    public int activeRequests() {
        synchronized (lifecycle) {
            return active.size();
        }
    }

    /** True once {@link #close()} has begun: new requests are refused. */
    public boolean isClosing() {
        return closing;
    }

    /**
     * Stops admitting requests, cancels those in flight (they end with {@link RequestCancelledException}, reason
     * SHUTDOWN, within one block of the vision tower or the prefill, or one token), waits for them to leave the
     * engine, then frees the weights and every native resource. Should a request not leave within
     * {@link #CLOSE_WAIT} (one engine operation running that long), the native memory is left to the process's end
     * instead of being freed under it. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closing) {
                return;
            }
            closing = true;
            for (CancellationToken t : active) {
                t.cancel(RequestCancelledException.Reason.SHUTDOWN);
            }
            long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
            boolean interrupted = false;
            while (!active.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    lifecycle.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (!active.isEmpty()) {
                LOG.warn("{} request(s) still inside the model {} after it was closed; its native memory is left to"
                        + " the process's end", active.size(), CLOSE_WAIT);
                return;
            }
        }
        backend.close();
        manager.close();
    }
}
