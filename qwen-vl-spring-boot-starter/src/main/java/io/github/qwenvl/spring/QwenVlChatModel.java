package io.github.qwenvl.spring;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.InvalidRequestException;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.RequestCancelledException;
import io.github.qwenvl.generate.FinishReason;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.model.MessageAggregator;
import org.springframework.ai.chat.observation.ChatModelObservationContext;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.chat.observation.ChatModelObservationDocumentation;
import org.springframework.ai.chat.observation.DefaultChatModelObservationConvention;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Spring AI {@link ChatModel} (and so {@code StreamingChatModel}) over a Qwen vision-language model, run by a
 * {@link QwenVlBackend}: the engine in this JVM, or a remote OpenAI-compatible server. User messages carry images as
 * {@code Media}; responses carry usage, timings, the images as the model saw them and, in
 * {@link QwenVlMetadata#GROUNDING}, the parsed grounding boxes.
 *
 * <pre>{@code
 * QwenVlChatModel chatModel = QwenVlChatModel.builder()
 *         .model(QwenVlModel.load(Path.of("/models/Qwen2-VL-2B-Instruct")))
 *         .defaultOptions(QwenVlChatOptions.builder().maxTokens(256).build())
 *         .build();
 * }</pre>
 */
public class QwenVlChatModel implements ChatModel, AutoCloseable {

    /** Provider name reported in observations ({@code gen_ai.system}). */
    public static final String PROVIDER = "qwen-vl";

    private static final ChatModelObservationConvention DEFAULT_OBSERVATION_CONVENTION =
            new DefaultChatModelObservationConvention();

    private final QwenVlBackend backend;
    private final QwenVlChatOptions defaultOptions;
    private final ObservationRegistry observationRegistry;
    private final PromptConverter converter;
    private final RequestGate gate;
    private final Duration requestTimeout;
    private final Scheduler scheduler;
    private final GroundingSupport grounding;
    private ChatModelObservationConvention observationConvention = DEFAULT_OBSERVATION_CONVENTION;

    protected QwenVlChatModel(Builder b) {
        this.backend = Objects.requireNonNull(b.backend, "model or backend must be set");
        // a copy: the caller's options object is theirs (it may be a shared bean), never filled in here
        this.defaultOptions = b.defaultOptions != null ? b.defaultOptions.copy() : QwenVlChatOptions.builder().build();
        if (this.defaultOptions.getModel() == null) {
            this.defaultOptions.setModel(backend.modelId());
        }
        this.observationRegistry = b.observationRegistry != null ? b.observationRegistry : ObservationRegistry.NOOP;
        this.converter = new PromptConverter(b.mediaResolver != null ? b.mediaResolver : MediaResolver.defaults());
        this.gate = b.gate != null ? b.gate : new RequestGate(1, 64, Duration.ofMinutes(5));
        this.requestTimeout = b.requestTimeout != null ? b.requestTimeout : Duration.ofMinutes(10);
        this.scheduler = b.scheduler != null ? b.scheduler : Schedulers.boundedElastic();
        this.grounding = new GroundingSupport();
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        Prompt request = withMergedOptions(prompt);
        ChatModelObservationContext context = ChatModelObservationContext.builder()
                .prompt(request).provider(PROVIDER).build();
        return ChatModelObservationDocumentation.CHAT_MODEL_OPERATION
                .observation(observationConvention, DEFAULT_OBSERVATION_CONVENTION, () -> context, observationRegistry)
                .observe(() -> {
                    GenerationRequest engineRequest = toEngineRequest(request);
                    // the deadline covers the wait for a slot too
                    CancellationToken token = CancellationToken.withTimeout(requestTimeout);
                    GenerationResult result;
                    try (RequestGate.Permit ignored = gate.acquire()) {
                        result = backend.call(engineRequest, delta -> {
                        }, token);
                    } catch (RequestCancelledException e) {
                        throw timeoutOr(e);
                    }
                    ChatResponse response = finalResponse(result, result.text(), request);
                    context.setResponse(response);
                    return response;
                });
    }

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.deferContextual(contextView -> {
            Prompt request = withMergedOptions(prompt);
            ChatModelObservationContext context = ChatModelObservationContext.builder()
                    .prompt(request).provider(PROVIDER).streaming(true).build();
            Observation observation = ChatModelObservationDocumentation.CHAT_MODEL_OPERATION.observation(
                    observationConvention, DEFAULT_OBSERVATION_CONVENTION, () -> context, observationRegistry);
            observation.parentObservation(contextView.getOrDefault(ObservationThreadLocalAccessor.KEY, null)).start();
            GenerationRequest engineRequest;
            try {
                engineRequest = toEngineRequest(request);
            } catch (RuntimeException e) {
                observation.error(e);
                observation.stop();
                return Flux.error(e);
            }
            String id = UUID.randomUUID().toString();
            Flux<ChatResponse> chunks = Flux.<ChatResponse>create(sink -> generateInto(sink, engineRequest, request, id),
                            FluxSink.OverflowStrategy.BUFFER)
                    // requests from the subscriber must not queue behind the generation blocked on this worker
                    .subscribeOn(scheduler, false)
                    .doOnError(observation::error)
                    .doFinally(s -> observation.stop())
                    .contextWrite(ctx -> ctx.put(ObservationThreadLocalAccessor.KEY, observation));
            return new MessageAggregator().aggregate(chunks, context::setResponse);
        });
    }

    /** Runs one generation on the scheduler thread, pushing deltas as the subscriber asks for them. */
    private void generateInto(FluxSink<ChatResponse> sink, GenerationRequest engineRequest, Prompt request, String id) {
        AtomicLong demand = new AtomicLong();
        Object lock = new Object();
        sink.onRequest(n -> {
            demand.getAndUpdate(d -> d + n < 0 ? Long.MAX_VALUE : d + n);
            synchronized (lock) {
                lock.notifyAll();
            }
        });
        // the deadline covers the wait for a slot too; a subscriber that goes away stops the request within one
        // block of the vision tower or the prefill, or one token, and frees its slot
        CancellationToken token = CancellationToken.withTimeout(requestTimeout);
        Runnable gone = () -> {
            token.cancel(RequestCancelledException.Reason.CLIENT);
            synchronized (lock) {
                lock.notifyAll();
            }
        };
        sink.onCancel(gone::run);
        sink.onDispose(gone::run);
        StringBuilder text = new StringBuilder();
        try (RequestGate.Permit ignored = gate.acquire()) {
            GenerationResult result = backend.stream(engineRequest, delta -> {
                text.append(delta);
                awaitDemand(sink, demand, lock, token);
                if (!sink.isCancelled()) {
                    demand.decrementAndGet();
                    sink.next(chunk(id, delta, request));
                }
            }, token);
            if (sink.isCancelled()) {
                return;
            }
            // a last, empty chunk carries finish reason, usage, timings and grounding of the whole answer
            sink.next(finalResponse(result, "", request, id, text.toString()));
            sink.complete();
        } catch (RequestCancelledException e) {
            if (!sink.isCancelled()) {
                sink.error(timeoutOr(e));
            }
        } catch (RuntimeException e) {
            sink.error(e);
        }
    }

    /** A request stopped by its deadline becomes a {@link RequestTimeoutException}; other cancellations stay. */
    private RuntimeException timeoutOr(RequestCancelledException e) {
        if (e.reason() == RequestCancelledException.Reason.TIMEOUT) {
            RequestTimeoutException timeout = new RequestTimeoutException("The request exceeded " + requestTimeout
                    + " (spring.ai.qwen-vl.serving.request-timeout); generation was stopped");
            timeout.initCause(e);
            return timeout;
        }
        return e;
    }

    /** Blocks the generating thread while the subscriber has no demand (backpressure). */
    private static void awaitDemand(FluxSink<?> sink, AtomicLong demand, Object lock, CancellationToken token) {
        synchronized (lock) {
            while (demand.get() <= 0 && !sink.isCancelled() && !token.isCancelled()) {
                try {
                    lock.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private ChatResponse chunk(String id, String delta, Prompt request) {
        Generation generation = new Generation(new AssistantMessage(delta), ChatGenerationMetadata.NULL);
        return new ChatResponse(List.of(generation), ChatResponseMetadata.builder().id(id).model(modelName(request)).build());
    }

    private ChatResponse finalResponse(GenerationResult result, String content, Prompt request) {
        return finalResponse(result, content, request, UUID.randomUUID().toString(), result.text());
    }

    private ChatResponse finalResponse(GenerationResult result, String content, Prompt request, String id, String fullText) {
        Map<String, Object> generationMetadata = new HashMap<>();
        grounding.parse(backend.architecture(), fullText, result.images())
                .ifPresent(g -> generationMetadata.put(QwenVlMetadata.GROUNDING, g));
        ChatGenerationMetadata metadata = ChatGenerationMetadata.builder()
                .finishReason(finishReason(result.finishReason()))
                .metadata(generationMetadata)
                .build();
        Generation generation = new Generation(new AssistantMessage(content), metadata);
        GenerationResult.Usage u = result.usage();
        ChatResponseMetadata responseMetadata = ChatResponseMetadata.builder()
                .id(id)
                .model(modelName(request))
                .usage(new DefaultUsage(u.promptTokens(), u.completionTokens(), u.totalTokens(), u))
                .keyValue(QwenVlMetadata.TIMINGS, result.timings())
                .keyValue(QwenVlMetadata.IMAGES, result.images())
                .keyValue(QwenVlMetadata.IMAGE_TOKENS, u.imageTokens())
                .keyValue(QwenVlMetadata.ARCHITECTURE, backend.architecture().name())
                .build();
        return new ChatResponse(List.of(generation), responseMetadata);
    }

    static String finishReason(FinishReason reason) {
        return switch (reason) {
            case EOS, STOP_SEQUENCE -> "STOP";
            case LENGTH -> "LENGTH";
            case CANCELLED -> "CANCELLED";
        };
    }

    private String modelName(Prompt request) {
        ChatOptions o = request.getOptions();
        return o != null && o.getModel() != null ? o.getModel() : backend.modelId();
    }

    /** Prompt options over the default options, field by field. */
    private Prompt withMergedOptions(Prompt prompt) {
        ChatOptions runtime = prompt.getOptions();
        QwenVlChatOptions merged = defaultOptions.merge(runtime);
        return prompt.mutate().chatOptions(merged).build();
    }

    private GenerationRequest toEngineRequest(Prompt request) {
        QwenVlChatOptions options = (QwenVlChatOptions) request.getOptions();
        if (options.getFrequencyPenalty() != null || options.getPresencePenalty() != null) {
            throw new InvalidRequestException("frequencyPenalty and presencePenalty are not supported by this model;"
                    + " use repetitionPenalty");
        }
        if (options.getModel() != null && !options.getModel().equals(backend.modelId())) {
            throw new InvalidRequestException("This ChatModel serves '" + backend.modelId() + "', not '"
                    + options.getModel() + "'");
        }
        return new GenerationRequest(converter.convert(request.getInstructions()), options.toGenerationOptions());
    }

    @Override
    public ChatOptions getDefaultOptions() {
        return defaultOptions.copy();
    }

    @Override
    public ChatOptions getOptions() {
        return defaultOptions.copy();
    }

    public void setObservationConvention(ChatModelObservationConvention convention) {
        this.observationConvention = Objects.requireNonNull(convention);
    }

    /** The local engine's model (loading it if lazy); there is none with a remote backend. */
    public QwenVlModel engine() {
        return holder().get();
    }

    /** The local engine's holder; there is none with a remote backend. */
    public QwenVlModelHolder holder() {
        if (backend instanceof LocalQwenVlBackend local) {
            return local.holder();
        }
        throw new IllegalStateException("This ChatModel runs on the " + backend.kind() + " backend: no local engine");
    }

    /** Where generations run. */
    public QwenVlBackend backend() {
        return backend;
    }

    public RequestGate gate() {
        return gate;
    }

    @Override
    public void close() {
        backend.close();
    }

    /** Builder. */
    public static final class Builder {
        private QwenVlBackend backend;
        private QwenVlChatOptions defaultOptions;
        private ObservationRegistry observationRegistry;
        private MediaResolver mediaResolver;
        private RequestGate gate;
        private Duration requestTimeout;
        private Scheduler scheduler;

        public Builder model(QwenVlModel model) {
            this.backend = new LocalQwenVlBackend(
                    QwenVlModelHolder.of(model.info().directory().getFileName().toString(), model));
            return this;
        }

        public Builder model(QwenVlModelHolder holder) {
            this.backend = new LocalQwenVlBackend(holder);
            return this;
        }

        /** Where generations run: {@link LocalQwenVlBackend} or a remote server's backend. */
        public Builder backend(QwenVlBackend backend) {
            this.backend = backend;
            return this;
        }

        public Builder defaultOptions(QwenVlChatOptions options) {
            this.defaultOptions = options;
            return this;
        }

        public Builder observationRegistry(ObservationRegistry registry) {
            this.observationRegistry = registry;
            return this;
        }

        public Builder mediaResolver(MediaResolver resolver) {
            this.mediaResolver = resolver;
            return this;
        }

        /** Admission control: concurrent generations, queue length, queue wait. */
        public Builder requestGate(RequestGate gate) {
            this.gate = gate;
            return this;
        }

        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = timeout;
            return this;
        }

        /** Where streaming generations run (default: Reactor's boundedElastic). */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        public QwenVlChatModel build() {
            return new QwenVlChatModel(this);
        }
    }
}
