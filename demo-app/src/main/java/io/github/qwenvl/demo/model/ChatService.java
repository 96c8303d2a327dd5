package io.github.qwenvl.demo.model;

import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.demo.DemoProperties;
import io.github.qwenvl.demo.api.ApiException;
import io.github.qwenvl.demo.api.ApiTypes;
import io.github.qwenvl.grounding.GroundingBox;
import io.github.qwenvl.grounding.GroundingResult;
import io.github.qwenvl.spring.QwenVlChatOptions;
import io.github.qwenvl.spring.QwenVlGrounding;
import io.github.qwenvl.spring.QwenVlMetadata;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.Usage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.stereotype.Service;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs conversations on the application's {@link ChatModel} (the starter's, injected like any Spring AI
 * user would) and turns answers into the demo's result: clean text, boxes on the right images, usage and
 * timings.
 */
@Service
public class ChatService {

    /** A prepared request: validated, images described, prompt built. */
    public record PreparedChat(String id, Prompt prompt, List<UploadedImage> images, List<ImageInfo> infos,
                               ModelArchitecture architecture) {
    }

    /** What a stream emits: text deltas, then one {@link Done}. */
    public sealed interface StreamEvent permits Delta, Done {
    }

    public record Delta(String text) implements StreamEvent {
    }

    public record Done(ApiTypes.ChatResult result) implements StreamEvent {
    }

    private final ChatModel chatModel;
    private final VisionModel vision;
    private final DemoProperties properties;
    private final RequestStats stats;
    private final AnnotationStore annotations;

    public ChatService(ChatModel chatModel, VisionModel vision, DemoProperties properties, RequestStats stats,
                       AnnotationStore annotations) {
        this.chatModel = chatModel;
        this.vision = vision;
        this.properties = properties;
        this.stats = stats;
        this.annotations = annotations;
    }

    /** Validates the conversation, describes its images (refusing unusable ones) and builds the prompt. */
    public PreparedChat prepare(Conversation conversation) {
        List<Conversation.Turn> turns = conversation.turns();
        if (turns == null || turns.isEmpty()) {
            throw ApiException.badRequest("No messages: send at least one user message");
        }
        if (turns.size() > properties.getMaxMessages()) {
            throw ApiException.badRequest("Too many messages (" + turns.size() + "); the limit is "
                    + properties.getMaxMessages() + " (demo.max-messages)");
        }
        List<UploadedImage> images = new ArrayList<>();
        List<Message> messages = new ArrayList<>();
        if (conversation.system() != null && !conversation.system().isBlank()) {
            checkText(conversation.system());
            messages.add(new SystemMessage(conversation.system()));
        }
        for (Conversation.Turn turn : turns) {
            String role = turn.role() == null ? "user" : turn.role().toLowerCase(Locale.ROOT);
            String text = turn.text() == null ? "" : turn.text();
            checkText(text);
            List<UploadedImage> turnImages = turn.images() == null ? List.of() : turn.images();
            switch (role) {
                case "user" -> {
                    List<Media> media = new ArrayList<>();
                    for (UploadedImage image : turnImages) {
                        media.add(Media.builder().mimeType(image.mimeType()).data(image.bytes()).build());
                    }
                    images.addAll(turnImages);
                    messages.add(UserMessage.builder().text(text).media(media).build());
                }
                case "assistant" -> {
                    if (!turnImages.isEmpty()) {
                        throw ApiException.badRequest("Only user messages can carry images");
                    }
                    messages.add(new AssistantMessage(text));
                }
                case "system" -> {
                    if (!turnImages.isEmpty()) {
                        throw ApiException.badRequest("Only user messages can carry images");
                    }
                    messages.add(new SystemMessage(text));
                }
                default -> throw ApiException.badRequest("Unknown message role '" + turn.role()
                        + "': use user, assistant or system");
            }
        }
        if (!"user".equalsIgnoreCase(turns.get(turns.size() - 1).role() == null ? "user" : turns.get(turns.size() - 1).role())) {
            throw ApiException.badRequest("The last message must be the user's");
        }
        if (images.size() > properties.getMaxImages()) {
            throw ApiException.tooLarge("Too many images (" + images.size() + "); the limit is "
                    + properties.getMaxImages() + " per request (demo.max-images)");
        }
        List<ImageInfo> infos = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            infos.add(vision.describe(images.get(i), i));
        }
        Prompt prompt = new Prompt(messages, options(conversation));
        return new PreparedChat(UUID.randomUUID().toString(), prompt, List.copyOf(images), List.copyOf(infos),
                vision.architecture());
    }

    private void checkText(String text) {
        if (text.length() > properties.getMaxTextLength()) {
            throw ApiException.tooLarge("A message is too long (" + text.length() + " characters); the limit is "
                    + properties.getMaxTextLength() + " (demo.max-text-length)");
        }
    }

    private static QwenVlChatOptions options(Conversation conversation) {
        QwenVlChatOptions.Builder b = QwenVlChatOptions.builder();
        ApiTypes.Options o = conversation.options();
        if (o != null) {
            if (o.maxTokens() != null) {
                if (o.maxTokens() < 1) {
                    throw ApiException.badRequest("maxTokens must be at least 1");
                }
                b.maxTokens(o.maxTokens());
            }
            if (o.temperature() != null) {
                if (o.temperature() < 0) {
                    throw ApiException.badRequest("temperature must not be negative");
                }
                b.temperature(o.temperature());
            }
            if (o.topP() != null) {
                b.topP(o.topP());
            }
            if (o.topK() != null) {
                b.topK(o.topK());
            }
            if (o.seed() != null) {
                b.seed(o.seed());
            }
            if (o.repetitionPenalty() != null) {
                b.repetitionPenalty(o.repetitionPenalty());
            }
        }
        if (conversation.stop() != null && !conversation.stop().isEmpty()) {
            b.stopSequences(conversation.stop());
        }
        return b.build();
    }

    /** Runs to completion. */
    public ApiTypes.ChatResult call(PreparedChat chat, String endpoint) {
        long start = System.nanoTime();
        try {
            ChatResponse response = chatModel.call(chat.prompt());
            String text = response.getResult() == null ? "" : nullToEmpty(response.getResult().getOutput().getText());
            double total = (System.nanoTime() - start) / 1e6;
            ApiTypes.ChatResult result = result(chat, response, text, total, total, countTokens(response, 0));
            stats.record(endpoint, result);
            return result;
        } catch (RuntimeException e) {
            stats.failed();
            throw e;
        }
    }

    /**
     * Streams the answer: deltas as the model produces them, then the complete result. Cancelling the
     * subscription (the client went away, or pressed stop) cancels the model's stream, which stops generating.
     */
    public Flux<StreamEvent> stream(PreparedChat chat, String endpoint) {
        return Flux.defer(() -> {
            long start = System.nanoTime();
            AtomicLong firstToken = new AtomicLong();
            AtomicInteger chunks = new AtomicInteger();
            StringBuilder text = new StringBuilder();
            AtomicReference<ChatResponse> last = new AtomicReference<>();
            // the starter's stream honours backpressure: generation waits while the SSE writer is behind
            Flux<StreamEvent> deltas = chatModel.stream(chat.prompt())
                    .concatMap(response -> {
                        last.set(response);
                        String delta = response.getResult() == null ? null : response.getResult().getOutput().getText();
                        if (delta == null || delta.isEmpty()) {
                            return Flux.empty();
                        }
                        if (firstToken.get() == 0) {
                            firstToken.set(System.nanoTime());
                        }
                        chunks.incrementAndGet();
                        text.append(delta);
                        return Flux.just((StreamEvent) new Delta(delta));
                    });
            Mono<StreamEvent> done = Mono.fromSupplier(() -> {
                long end = System.nanoTime();
                double ttft = ((firstToken.get() == 0 ? end : firstToken.get()) - start) / 1e6;
                ApiTypes.ChatResult result = result(chat, last.get(), text.toString(), ttft, (end - start) / 1e6,
                        chunks.get());
                stats.record(endpoint, result);
                return new Done(result);
            });
            return deltas.concatWith(done).doOnError(e -> stats.failed());
        });
    }

    private ApiTypes.ChatResult result(PreparedChat chat, ChatResponse response, String text, double wallTtft,
                                       double wallTotal, int chunkCount) {
        Generation generation = response == null ? null : response.getResult();
        GroundingResult grounding = null;
        if (generation != null && generation.getMetadata().get(QwenVlMetadata.GROUNDING) instanceof GroundingResult g) {
            grounding = g;
        }
        if (grounding == null || !grounding.rawText().equals(text)) {
            // a ChatModel that does not report grounding: parse the answer against the images as described
            grounding = QwenVlGrounding.parse(text, chat.architecture(), chat.infos());
        }
        annotations.put(chat.id(), chat.images(), grounding.boxes());
        String finish = generation == null || generation.getMetadata().getFinishReason() == null ? "STOP"
                : generation.getMetadata().getFinishReason();
        ApiTypes.Usage usage = usage(response, chunkCount);
        ApiTypes.Timings timings = timings(response, usage, wallTtft, wallTotal);
        String model = response != null && response.getMetadata().getModel() != null
                && !response.getMetadata().getModel().isBlank() ? response.getMetadata().getModel() : vision.modelId();
        return new ApiTypes.ChatResult(chat.id(), model, chat.architecture().name(), text, grounding.cleanText(),
                grounding.boxes().stream().map(ChatService::box).toList(),
                chat.infos().stream().map(ApiTypes.ImageDto::of).toList(), finish.toLowerCase(Locale.ROOT), usage,
                timings);
    }

    private static int countTokens(ChatResponse response, int fallback) {
        Usage u = response == null ? null : response.getMetadata().getUsage();
        return u != null && u.getCompletionTokens() != null && u.getCompletionTokens() > 0 ? u.getCompletionTokens()
                : fallback;
    }

    private static ApiTypes.Usage usage(ChatResponse response, int chunkCount) {
        Usage u = response == null ? null : response.getMetadata().getUsage();
        Integer imageTokens = response == null ? null : response.getMetadata().get(QwenVlMetadata.IMAGE_TOKENS);
        int prompt = u != null && u.getPromptTokens() != null ? u.getPromptTokens() : 0;
        int completion = u != null && u.getCompletionTokens() != null && u.getCompletionTokens() > 0
                ? u.getCompletionTokens() : chunkCount;
        return new ApiTypes.Usage(prompt, completion, prompt + completion, imageTokens);
    }

    private static ApiTypes.Timings timings(ChatResponse response, ApiTypes.Usage usage, double wallTtft,
                                            double wallTotal) {
        Object t = response == null ? null : response.getMetadata().get(QwenVlMetadata.TIMINGS);
        if (t instanceof GenerationResult.Timings engine) {
            return new ApiTypes.Timings(engine.firstTokenMillis(),
                    engine.decodeTokensPerSecond(usage.completionTokens()), engine.preprocessMillis(),
                    engine.visionMillis(), engine.prefillMillis(), engine.decodeMillis(), engine.totalMillis());
        }
        double decode = wallTotal - wallTtft;
        double tps = usage.completionTokens() <= 1 || decode <= 0 ? 0 : (usage.completionTokens() - 1) * 1000.0 / decode;
        return new ApiTypes.Timings(wallTtft, tps, null, null, null, null, wallTotal);
    }

    static ApiTypes.Box box(GroundingBox b) {
        ApiTypes.Rect normalized = b.normalized() == null ? null
                : new ApiTypes.Rect(b.normalized().x1(), b.normalized().y1(), b.normalized().x2(), b.normalized().y2());
        ApiTypes.Rect pixels = b.pixels() == null ? null
                : new ApiTypes.Rect(b.pixels().x1(), b.pixels().y1(), b.pixels().x2(), b.pixels().y2());
        return new ApiTypes.Box(b.label(), b.imageIndex(), b.kind().name(), normalized, pixels, b.quadNormalized(),
                b.modelCoordinates());
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
