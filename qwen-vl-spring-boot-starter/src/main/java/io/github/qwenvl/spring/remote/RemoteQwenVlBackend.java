package io.github.qwenvl.spring.remote;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.GenerationListener;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.InvalidRequestException;
import io.github.qwenvl.ModelInfo;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.RemoteRequestRejectedException;
import io.github.qwenvl.RemoteServerException;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.generate.FinishReason;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.spring.QwenVlBackend;
import io.github.qwenvl.spring.RequestTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.JdkClientHttpConnector;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.client.WebClientRequestException;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Generations on an OpenAI-compatible server (vLLM, SGLang, llama.cpp server, Ollama, or another instance of this
 * starter's demo): chat completions over Spring's {@link WebClient} on the JDK's HTTP client, streamed as server-sent
 * events or answered at once. The checkpoint directory describes the served model (architecture, image processor,
 * generation defaults); its weights are never loaded. Images are decoded and checked here as the local engine checks
 * them, and their resized size is computed with the architecture's resize rule and the served pixel bounds, so
 * grounding boxes map back to the original pixels exactly as for local answers.
 *
 * <p>Each request starts on the next base URL (round robin) or on the first (fail-over only); a connection error or a
 * busy / failing server (HTTP 429, 502, 503, 504) before the answer starts moves it to the next URL, waiting with
 * exponential back-off once every URL was tried, up to {@code maxRetries} further attempts. Other 4xx answers fail
 * at once as {@link RemoteRequestRejectedException} with the server's message; servers that cannot be reached fail as
 * {@link RemoteServerException}; a server that stays silent past the read timeout as {@link RequestTimeoutException}.
 */
public final class RemoteQwenVlBackend implements QwenVlBackend {

    private static final Logger LOG = LoggerFactory.getLogger(RemoteQwenVlBackend.class);
    private static final ParameterizedTypeReference<ServerSentEvent<String>> SSE = new ParameterizedTypeReference<>() {
    };
    /** End-of-turn markers a server may leave in the text when asked to keep special tokens. */
    private static final List<String> END_MARKERS = List.of("<|im_end|>", "<|endoftext|>");

    private final RemoteSettings settings;
    private final String modelId;
    private final Supplier<Path> checkpoint;
    private final WebClient web;
    private final AtomicInteger next = new AtomicInteger();
    private volatile ModelConfig config;
    private volatile ServedImages images;
    private volatile String servedModel;
    private volatile RuntimeException failure;

    /**
     * @param modelId    the name reported in responses
     * @param checkpoint the checkpoint directory that describes the served model (resolved on first use)
     */
    public RemoteQwenVlBackend(RemoteSettings settings, String modelId, Supplier<Path> checkpoint) {
        this.settings = settings;
        this.modelId = modelId;
        this.checkpoint = checkpoint;
        this.servedModel = settings.model();
        HttpClient http = HttpClient.newBuilder().connectTimeout(settings.connectTimeout())
                .version(HttpClient.Version.HTTP_1_1).build();
        this.web = WebClient.builder().clientConnector(new JdkClientHttpConnector(http))
                .codecs(c -> c.defaultCodecs().maxInMemorySize(64 << 20))
                .defaultHeaders(h -> {
                    if (settings.apiKey() != null) {
                        h.setBearerAuth(settings.apiKey());
                    }
                })
                .build();
    }

    /** Reads the checkpoint's configuration files now (a bad checkpoint fails the application start). */
    public RemoteQwenVlBackend load() {
        config();
        return this;
    }

    private ModelConfig config() {
        ModelConfig c = config;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (config == null) {
                try {
                    ModelConfig loaded = ModelConfig.load(checkpoint.get());
                    images = new ServedImages(loaded, settings.maxImagePixels(), settings.minPixels(),
                            settings.maxPixels(), settings.downscale());
                    config = loaded;
                } catch (RuntimeException e) {
                    failure = e;
                    throw e;
                }
            }
            return config;
        }
    }

    @Override
    public String kind() {
        return "remote";
    }

    @Override
    public String modelId() {
        return modelId;
    }

    public RemoteSettings settings() {
        return settings;
    }

    @Override
    public ModelArchitecture architecture() {
        return config().architecture();
    }

    @Override
    public ImageInfo describeImage(ImageSource source, GenerationOptions options, int index) {
        config();
        return images.describe(source, options == null ? GenerationOptions.DEFAULTS : options, index);
    }

    @Override
    public GenerationResult call(GenerationRequest request, GenerationListener listener, CancellationToken token) {
        return run(request, cancellable(listener, token), false, token);
    }

    @Override
    public GenerationResult stream(GenerationRequest request, GenerationListener listener, CancellationToken token) {
        return run(request, cancellable(listener, token), true, token);
    }

    /** The listener, also cancelled when the token is. */
    private static GenerationListener cancellable(GenerationListener listener, CancellationToken token) {
        return new GenerationListener() {
            @Override
            public void onText(String delta) {
                listener.onText(delta);
            }

            @Override
            public boolean isCancelled() {
                return token.isCancelled() || listener.isCancelled();
            }
        };
    }

    private GenerationResult run(GenerationRequest request, GenerationListener listener, boolean stream,
                                 CancellationToken token) {
        token.throwIfCancelled();
        long start = System.nanoTime();
        ModelConfig c = config();
        GenerationOptions o = request.options();
        List<ImageInfo> infos = new ArrayList<>();
        List<String> urls = new ArrayList<>();
        int imageTokens = 0;
        for (ChatMessage m : request.messages()) {
            for (Content part : m.content()) {
                if (part instanceof Content.Image image) {
                    if (infos.size() >= settings.maxImages()) {
                        throw new InvalidRequestException("Too many images: at most " + settings.maxImages() + " per request");
                    }
                    ServedImages.Prepared p = images.prepare(image.source(), o, infos.size());
                    infos.add(p.info());
                    urls.add(p.dataUrl());
                    imageTokens += p.info().tokens();
                }
            }
        }
        if (o.maxNewTokens() != null && o.maxNewTokens() < 1) {
            throw new InvalidRequestException("maxNewTokens must be at least 1, was " + o.maxNewTokens());
        }
        int maxTokens = o.maxNewTokens() != null ? o.maxNewTokens()
                : c.generation().maxNewTokens() != null ? c.generation().maxNewTokens() : QwenVlModel.DEFAULT_MAX_NEW_TOKENS;
        String body = OpenAiWire.JSON.writeValueAsString(
                OpenAiWire.request(servedModel(), request.messages(), urls, o, maxTokens, stream));
        long prepared = System.nanoTime();
        Answer answer = stream ? streamed(body, listener) : whole(body, listener);
        // a cancelled token ends the request as the engine ends it: the connection is closed, the reason thrown
        token.throwIfCancelled();
        long end = System.nanoTime();
        String text = stripEndMarkers(answer.text.toString());
        if (!stream && !text.isEmpty()) {
            listener.onText(text);
        }
        double firstToken = answer.firstChunkNanos > 0 ? (answer.firstChunkNanos - start) / 1e6 : (end - start) / 1e6;
        GenerationResult.Timings timings = new GenerationResult.Timings((prepared - start) / 1e6, 0, 0,
                (end - prepared) / 1e6, firstToken);
        GenerationResult.Usage usage = new GenerationResult.Usage(answer.promptTokens, imageTokens, answer.completionTokens);
        return new GenerationResult(text, new int[0], answer.finishReason, usage, timings, List.copyOf(infos));
    }

    private static String stripEndMarkers(String text) {
        boolean again = true;
        while (again) {
            again = false;
            for (String marker : END_MARKERS) {
                if (text.endsWith(marker)) {
                    text = text.substring(0, text.length() - marker.length());
                    again = true;
                }
            }
        }
        return text;
    }

    /** What a server answered. */
    private static final class Answer {
        final StringBuilder text = new StringBuilder();
        FinishReason finishReason = FinishReason.EOS;
        int promptTokens;
        int completionTokens;
        long firstChunkNanos;
        boolean started;
    }

    /** A non-streamed answer: one JSON body. */
    private Answer whole(String body, GenerationListener listener) {
        Answer answer = new Answer();
        withFailover(answer, base -> web.post().uri(base + "/v1/chat/completions")
                .contentType(MediaType.APPLICATION_JSON).accept(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchangeToMono(r -> bodyOrError(base, r))
                .timeout(settings.readTimeout())
                .flux(), listener, json -> {
                    JsonNode n = OpenAiWire.JSON.readTree(json);
                    failOnInlineError(n);
                    JsonNode choice = n.path("choices").path(0);
                    JsonNode content = choice.path("message").path("content");
                    answer.text.append(content.isString() ? content.asString() : "");
                    answer.finishReason = OpenAiWire.finishReason(choice.path("finish_reason").asString(null));
                    usage(answer, n.path("usage"));
                    return true;
                });
        return answer;
    }

    /** A streamed answer: server-sent events, each a chat.completion.chunk, ending with {@code [DONE]}. */
    private Answer streamed(String body, GenerationListener listener) {
        Answer answer = new Answer();
        withFailover(answer, base -> web.post().uri(base + "/v1/chat/completions")
                .contentType(MediaType.APPLICATION_JSON).accept(MediaType.TEXT_EVENT_STREAM).bodyValue(body)
                .exchangeToFlux(r -> r.statusCode().is2xxSuccessful()
                        ? r.bodyToFlux(SSE).mapNotNull(ServerSentEvent::data)
                        : bodyOrError(base, r).flux())
                .timeout(settings.readTimeout()), listener, data -> {
                    String d = data.strip();
                    if (d.isEmpty()) {
                        return false;
                    }
                    if (d.equals("[DONE]")) {
                        return true;
                    }
                    JsonNode n = OpenAiWire.JSON.readTree(d);
                    failOnInlineError(n);
                    JsonNode choice = n.path("choices").path(0);
                    if (!choice.isMissingNode()) {
                        JsonNode content = choice.path("delta").path("content");
                        if (content.isString() && !content.asString().isEmpty()) {
                            String delta = content.asString();
                            if (!END_MARKERS.contains(delta)) {
                                if (answer.firstChunkNanos == 0) {
                                    answer.firstChunkNanos = System.nanoTime();
                                }
                                answer.text.append(delta);
                                listener.onText(delta);
                            }
                        }
                        String finish = choice.path("finish_reason").asString(null);
                        if (finish != null) {
                            answer.finishReason = OpenAiWire.finishReason(finish);
                        }
                    }
                    usage(answer, n.path("usage"));
                    return false;
                });
        return answer;
    }

    private static void usage(Answer answer, JsonNode usage) {
        if (usage.isObject()) {
            answer.promptTokens = usage.path("prompt_tokens").asInt(answer.promptTokens);
            answer.completionTokens = usage.path("completion_tokens").asInt(answer.completionTokens);
        }
    }

    private static void failOnInlineError(JsonNode n) {
        String error = OpenAiWire.inlineError(n);
        if (error != null) {
            throw new ServerFailure(0, error);
        }
    }

    private static Mono<String> bodyOrError(String base, ClientResponse r) {
        if (r.statusCode().is2xxSuccessful()) {
            return r.bodyToMono(String.class).defaultIfEmpty("");
        }
        int status = r.statusCode().value();
        return r.bodyToMono(String.class).defaultIfEmpty("")
                .flatMap(b -> Mono.error(new ServerFailure(status, OpenAiWire.errorMessage(b))));
    }

    /** An HTTP error status (or an error object inside an answer, status 0) with the server's message. */
    private static final class ServerFailure extends RuntimeException {
        final int status;

        ServerFailure(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    /** Handles one received item; true = the answer is complete. */
    @FunctionalInterface
    private interface ItemHandler {
        boolean handle(String item);
    }

    private static final Object COMPLETE = new Object();

    /**
     * Sends the request to one base URL after another until one answers, and hands its items to {@code handler} on
     * this thread, polling {@code listener} for cancellation (which disposes of the exchange: the connection closes,
     * and vLLM aborts the generation).
     */
    private void withFailover(Answer answer, java.util.function.Function<String, Flux<String>> exchange,
                              GenerationListener listener, ItemHandler handler) {
        List<String> bases = settings.baseUrls();
        int first = settings.roundRobin() ? Math.floorMod(next.getAndIncrement(), bases.size()) : 0;
        List<String> tried = new ArrayList<>();
        int lastStatus = 0;
        Throwable lastError = null;
        for (int attempt = 0; attempt <= settings.maxRetries(); attempt++) {
            String base = bases.get((first + attempt) % bases.size());
            if (attempt >= bases.size()) {
                long round = attempt / bases.size();
                long wait = Math.min(10_000, settings.retryBackoff().toMillis() << Math.min(10, round - 1));
                if (!sleep(wait, listener)) {
                    answer.finishReason = FinishReason.CANCELLED;
                    return;
                }
            }
            tried.add(base);
            try {
                consume(exchange.apply(base), listener, handler, answer);
                return;
            } catch (ServerFailure f) {
                lastStatus = f.status;
                lastError = f;
                if (answer.started || !retryable(f.status)) {
                    if (f.status >= 400 && f.status < 500 && f.status != 429) {
                        throw new RemoteRequestRejectedException(base, f.status, f.getMessage());
                    }
                    throw new RemoteServerException("The server at " + base + " failed"
                            + (f.status > 0 ? " (HTTP " + f.status + ")" : "") + ": " + f.getMessage(), tried,
                            f.status, null);
                }
                LOG.warn("{} answered HTTP {} ({}); trying {}", base, f.status, f.getMessage(), nextOrNone(attempt, bases, first));
            } catch (TimeoutException e) {
                throw new RequestTimeoutException("The server at " + base + " sent nothing for "
                        + settings.readTimeout() + " (spring.ai.qwen-vl.remote.read-timeout)");
            } catch (WebClientRequestException e) {
                lastStatus = 0;
                lastError = e;
                if (answer.started) {
                    throw new RemoteServerException("The connection to " + base + " broke: " + rootMessage(e), tried, 0, e);
                }
                LOG.warn("Cannot reach {} ({}); trying {}", base, rootMessage(e), nextOrNone(attempt, bases, first));
            }
        }
        boolean busy = lastStatus == 429 || lastStatus == 503;
        throw new RemoteServerException((busy ? "The servers stayed busy" : "No server could be reached")
                + " after " + tried.size() + " attempt(s) on " + bases + ": "
                + (lastError instanceof WebClientRequestException w ? rootMessage(w) : String.valueOf(lastError == null ? "" : lastError.getMessage())),
                tried, lastStatus, lastError);
    }

    private String nextOrNone(int attempt, List<String> bases, int first) {
        return attempt < settings.maxRetries() ? bases.get((first + attempt + 1) % bases.size()) : "no other (retries exhausted)";
    }

    private static boolean retryable(int status) {
        return status == 429 || status == 502 || status == 503 || status == 504;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static boolean sleep(long millis, GenerationListener listener) {
        long until = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < until) {
            if (listener.isCancelled()) {
                return false;
            }
            try {
                Thread.sleep(Math.min(50, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Subscribes and handles the items on this thread; throws what the exchange failed with. */
    private static void consume(Flux<String> items, GenerationListener listener, ItemHandler handler, Answer answer)
            throws TimeoutException {
        BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        Disposable subscription = items.subscribe(queue::add, queue::add, () -> queue.add(COMPLETE));
        try {
            while (true) {
                Object item;
                try {
                    item = queue.poll(50, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    answer.finishReason = FinishReason.CANCELLED;
                    return;
                }
                if (item == null) {
                    if (listener.isCancelled()) {
                        answer.finishReason = FinishReason.CANCELLED;
                        return;
                    }
                    continue;
                }
                if (item == COMPLETE) {
                    return;
                }
                if (item instanceof Throwable t) {
                    if (t instanceof TimeoutException te) {
                        throw te;
                    }
                    if (t instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new RemoteServerException("Remote call failed: " + t, List.of(), 0, t);
                }
                answer.started = true;
                if (handler.handle((String) item)) {
                    return;
                }
                if (listener.isCancelled()) {
                    answer.finishReason = FinishReason.CANCELLED;
                    return;
                }
            }
        } finally {
            subscription.dispose();
        }
    }

    /** {@code remote.model}, else the only model the first reachable server lists. */
    private String servedModel() {
        String m = servedModel;
        if (m != null) {
            return m;
        }
        RuntimeException last = null;
        for (String base : settings.baseUrls()) {
            try {
                List<String> ids = models(base);
                if (ids.size() != 1) {
                    throw new InvalidRequestException("The server at " + base + " serves " + ids
                            + ": set spring.ai.qwen-vl.remote.model to one of them");
                }
                servedModel = ids.get(0);
                LOG.info("Remote backend: {} serves '{}'", base, servedModel);
                return servedModel;
            } catch (InvalidRequestException e) {
                throw e;
            } catch (RuntimeException e) {
                last = e;
            }
        }
        throw new RemoteServerException("Cannot ask " + settings.baseUrls() + " for their model ("
                + (last == null ? "" : last.getMessage()) + "); set spring.ai.qwen-vl.remote.model", settings.baseUrls(),
                0, last);
    }

    /** The ids the server at {@code base} lists at {@code GET /v1/models}. */
    List<String> models(String base) {
        String json = web.get().uri(base + "/v1/models").accept(MediaType.APPLICATION_JSON)
                .exchangeToMono(r -> bodyOrError(base, r))
                .timeout(settings.readTimeout().compareTo(Duration.ofSeconds(10)) < 0 ? settings.readTimeout() : Duration.ofSeconds(10))
                .onErrorMap(WebClientRequestException.class, e -> new RemoteServerException(
                        "Cannot reach " + base + ": " + rootMessage(e), List.of(base), 0, e))
                .onErrorMap(TimeoutException.class, e -> new RemoteServerException(
                        base + " did not list its models in time", List.of(base), 0, e))
                .onErrorMap(ServerFailure.class, e -> new RemoteServerException(
                        base + "/v1/models answered HTTP " + e.status + ": " + e.getMessage(), List.of(base), e.status, e))
                .block();
        List<String> ids = new ArrayList<>();
        for (JsonNode model : OpenAiWire.JSON.readTree(json == null ? "{}" : json).path("data")) {
            ids.add(model.path("id").asString());
        }
        return ids;
    }

    @Override
    public boolean isReady() {
        return config != null;
    }

    @Override
    public Optional<RuntimeException> failure() {
        return Optional.ofNullable(failure);
    }

    @Override
    public Optional<ModelInfo> info() {
        return Optional.empty();
    }

    /** UP when at least one server lists its models; each server's answer in the details. */
    @Override
    public Health health() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("backend", kind());
        details.put("model", modelId);
        if (failure != null) {
            details.put("error", failure.getMessage());
            return new Health("DOWN", details);
        }
        if (config != null) {
            details.put("architecture", config.architecture().architectureClass());
        }
        Map<String, Object> servers = new LinkedHashMap<>();
        boolean up = false;
        for (String base : settings.baseUrls()) {
            try {
                List<String> ids = models(base);
                servers.put(base, Map.of("status", "UP", "models", ids));
                up = true;
            } catch (RuntimeException e) {
                servers.put(base, Map.of("status", "DOWN", "error", String.valueOf(e.getMessage())));
            }
        }
        details.put("servers", servers);
        return new Health(up ? "UP" : "DOWN", details);
    }

    @Override
    public void close() {
        // the JDK HTTP client frees its connections when collected
    }

    @Override
    public String toString() {
        return "RemoteQwenVlBackend" + settings.baseUrls();
    }
}
