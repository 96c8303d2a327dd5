package io.github.qwenvl.demo.api;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.ModelInfo;
import io.github.qwenvl.demo.DemoProperties;
import io.github.qwenvl.demo.model.AnnotationStore;
import io.github.qwenvl.demo.model.ChatService;
import io.github.qwenvl.demo.model.Conversation;
import io.github.qwenvl.demo.model.ImageUploads;
import io.github.qwenvl.demo.model.RequestStats;
import io.github.qwenvl.demo.model.UploadedImage;
import io.github.qwenvl.demo.model.VisionModel;
import io.github.qwenvl.grounding.BoxRenderer;
import io.github.qwenvl.spring.QwenVlGrounding;
import io.github.qwenvl.spring.autoconfigure.QwenVlProperties;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;
import reactor.core.publisher.Flux;
import tools.jackson.databind.json.JsonMapper;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The demo's JSON API, used by its pages and usable with curl:
 * {@code POST /api/chat} (JSON with data URLs, or multipart), {@code POST /api/chat/stream} (the same,
 * answered as Server-Sent Events), {@code POST /api/region}, {@code GET /api/status},
 * {@code GET /api/presets}, {@code GET /api/annotated/{id}/{image}} (PNG).
 */
@RestController
@RequestMapping("/api")
public class DemoApiController {

    private static final Pattern ID = Pattern.compile("[0-9a-f-]{36}");

    private final ChatService chat;
    private final ImageUploads uploads;
    private final VisionModel vision;
    private final RequestStats stats;
    private final AnnotationStore annotations;
    private final DemoProperties properties;
    private final QwenVlProperties qwenProperties;
    private final JsonMapper json;

    public DemoApiController(ChatService chat, ImageUploads uploads, VisionModel vision, RequestStats stats,
                             AnnotationStore annotations, DemoProperties properties, QwenVlProperties qwenProperties,
                             JsonMapper json) {
        this.chat = chat;
        this.uploads = uploads;
        this.vision = vision;
        this.stats = stats;
        this.annotations = annotations;
        this.properties = properties;
        this.qwenProperties = qwenProperties;
        this.json = json;
    }

    @PostMapping(path = "/chat", consumes = MediaType.APPLICATION_JSON_VALUE, produces = MediaType.APPLICATION_JSON_VALUE)
    public ApiTypes.ChatResult chat(@RequestBody ApiTypes.ChatRequest request) {
        return chat.call(chat.prepare(conversation(request)), "/api/chat");
    }

    @PostMapping(path = "/chat", consumes = MediaType.MULTIPART_FORM_DATA_VALUE, produces = MediaType.APPLICATION_JSON_VALUE)
    public ApiTypes.ChatResult chatMultipart(@RequestParam("question") String question,
                                             @RequestPart(name = "images", required = false) List<MultipartFile> images,
                                             @RequestParam(name = "maxTokens", required = false) Integer maxTokens,
                                             @RequestParam(name = "temperature", required = false) Double temperature) {
        return chat.call(chat.prepare(conversation(question, images, maxTokens, temperature)), "/api/chat");
    }

    @PostMapping(path = "/chat/stream", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    public Flux<ServerSentEvent<String>> stream(@RequestBody ApiTypes.ChatRequest request) {
        return sse(chat.prepare(conversation(request)));
    }

    @PostMapping(path = "/chat/stream", consumes = MediaType.MULTIPART_FORM_DATA_VALUE,
            produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    public Flux<ServerSentEvent<String>> streamMultipart(@RequestParam("question") String question,
                                                         @RequestPart(name = "images", required = false) List<MultipartFile> images,
                                                         @RequestParam(name = "maxTokens", required = false) Integer maxTokens,
                                                         @RequestParam(name = "temperature", required = false) Double temperature) {
        return sse(chat.prepare(conversation(question, images, maxTokens, temperature)));
    }

    /**
     * Events: {@code start} (id, model, images), {@code delta} ({"text": ...}) per token, then {@code done}
     * (the whole result: clean text, boxes, usage, timings) or {@code error} ({status, error, message}).
     * Closing the connection cancels generation.
     */
    private Flux<ServerSentEvent<String>> sse(ChatService.PreparedChat prepared) {
        Map<String, Object> start = new LinkedHashMap<>();
        start.put("id", prepared.id());
        start.put("model", vision.modelId());
        start.put("architecture", prepared.architecture().name());
        start.put("images", prepared.infos().stream().map(ApiTypes.ImageDto::of).toList());
        Flux<ServerSentEvent<String>> events = chat.stream(prepared, "/api/chat/stream").map(e -> e instanceof ChatService.Delta d
                ? event("delta", Map.of("text", d.text()))
                : event("done", ((ChatService.Done) e).result()));
        return Flux.just(event("start", start))
                .concatWith(events)
                .onErrorResume(e -> {
                    ErrorMapping.Mapped m = ErrorMapping.map(e);
                    return Flux.just(event("error", new ApiTypes.Error(m.status().value(), m.code(), m.message(), m.param())));
                });
    }

    private ServerSentEvent<String> event(String name, Object data) {
        return ServerSentEvent.builder(json.writeValueAsString(data)).event(name).build();
    }

    @PostMapping(path = "/region", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ApiTypes.RegionResponse region(@RequestBody ApiTypes.RegionRequest request) {
        UploadedImage image = uploads.fromDataUrl(request.image());
        ImageInfo info = vision.describe(image, 0);
        if (!(request.x2() > request.x1()) || !(request.y2() > request.y1())) {
            throw ApiException.badRequest("The region is empty: x2 must be greater than x1 and y2 than y1");
        }
        String label = request.label();
        if (label != null && label.length() > 200) {
            throw ApiException.badRequest("The region label is too long (200 characters at most)");
        }
        String markup = QwenVlGrounding.region(vision.architecture(), info, request.x1(), request.y1(), request.x2(),
                request.y2(), label);
        return new ApiTypes.RegionResponse(markup, vision.architecture().name(), ApiTypes.ImageDto.of(info));
    }

    /**
     * The image tokens each image will cost, before it is sent: decoded and resized exactly as a request would
     * (the model's pixel and token limits included), without running the model. An image that a request would
     * refuse gets its reason instead.
     */
    @PostMapping(path = "/images/cost", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ApiTypes.ImageCostResponse imageCost(@RequestBody ApiTypes.ImageCostRequest request) {
        if (request == null || request.images() == null) {
            throw ApiException.invalidField("images", "must be an array of data: URLs");
        }
        if (request.images().size() > properties.getMaxImages()) {
            throw new ApiException(org.springframework.http.HttpStatus.CONTENT_TOO_LARGE, "too_large",
                    "Too many images; the limit is " + properties.getMaxImages() + " per request (demo.max-images)",
                    "images");
        }
        List<ApiTypes.ImageCost> costs = new ArrayList<>();
        int total = 0;
        for (int i = 0; i < request.images().size(); i++) {
            try {
                ImageInfo info = vision.describe(uploads.fromDataUrl(request.images().get(i)), i);
                costs.add(new ApiTypes.ImageCost(i, info.originalWidth(), info.originalHeight(), info.resizedWidth(),
                        info.resizedHeight(), info.tokens(), null));
                total += info.tokens();
            } catch (RuntimeException e) {
                costs.add(new ApiTypes.ImageCost(i, 0, 0, 0, 0, 0, ErrorMapping.map(e).message()));
            }
        }
        return new ApiTypes.ImageCostResponse(costs, total);
    }

    @GetMapping("/presets")
    public Map<String, Object> presets() {
        return Map.of("architecture", vision.architecture().name(),
                "presets", GroundingPresets.forArchitecture(vision.architecture()));
    }

    @GetMapping("/status")
    public Map<String, Object> status() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("modelId", vision.modelId());
        s.put("backend", vision.backend());
        s.put("loaded", vision.isLoaded());
        s.put("randomWeights", properties.isRandomWeights());
        vision.failure().ifPresent(f -> s.put("loadError", f.getMessage()));
        ModelInfo info = vision.info().orElse(null);
        if (info != null) {
            s.put("architecture", info.architecture().name());
            s.put("device", info.device());
            s.put("precision", info.precision().name());
            s.put("parameters", info.parameters());
            s.put("weightBytes", info.weightBytes());
            s.put("contextLength", info.contextLength());
            s.put("loadMillis", info.loadMillis());
        } else {
            vision.architectureIfLoaded().ifPresent(a -> s.put("architecture", a.name()));
        }
        s.put("running", vision.running());
        s.put("waiting", vision.waiting());
        // the current shared decode step: its size, the requests decoding, the limit (absent: decode steps alone)
        vision.decodeStats().ifPresent(d -> {
            Map<String, Object> batch = new LinkedHashMap<>();
            batch.put("size", d.batchSize());
            batch.put("decoding", d.decoding());
            batch.put("maxBatchSize", d.maxBatchSize());
            batch.put("largest", d.largestBatch());
            batch.put("steps", d.steps());
            s.put("batch", batch);
        });
        s.put("completedRequests", stats.completed());
        s.put("failedRequests", stats.failedCount());
        s.put("lastRequest", stats.last());
        Map<String, Object> limits = new LinkedHashMap<>();
        limits.put("maxImages", properties.getMaxImages());
        limits.put("maxImageBytes", properties.getMaxImageSize().toBytes());
        limits.put("maxRequestBytes", properties.getMaxRequestSize().toBytes());
        limits.put("maxImagePixels", qwenProperties.getServing().getMaxImagePixels());
        limits.put("maxConcurrentRequests", qwenProperties.concurrentRequests());
        limits.put("maxBatchSize", qwenProperties.getServing().getMaxBatchSize());
        s.put("limits", limits);
        return s;
    }

    /** The answer's boxes drawn on one of its images by the server ({@code BoxRenderer}), as PNG. */
    @GetMapping(path = "/annotated/{id}/{image}", produces = MediaType.IMAGE_PNG_VALUE)
    public ResponseEntity<byte[]> annotated(@PathVariable("id") String id, @PathVariable("image") String imageIndex) {
        if (!ID.matcher(id).matches()) {
            throw ApiException.notFound("No answer has this id");
        }
        AnnotationStore.Entry entry = annotations.get(id).orElseThrow(() -> ApiException.notFound(
                "No boxes are kept for this answer (only the last " + properties.getAnnotationCacheSize() + " are)"));
        int image = imageIndex.matches("[0-9]{1,4}") ? Integer.parseInt(imageIndex) : -1;
        if (image < 0 || image >= entry.images().size()) {
            throw ApiException.notFound("This answer has no image '" + ErrorMapping.abbreviate(imageIndex)
                    + "' (images are numbered from 0)");
        }
        BufferedImage decoded;
        try {
            decoded = ImageIO.read(new ByteArrayInputStream(entry.images().get(image).bytes()));
        } catch (IOException e) {
            decoded = null;
        }
        if (decoded == null) {
            throw ApiException.unsupported("This image cannot be redrawn");
        }
        byte[] png = new BoxRenderer().renderPng(decoded, entry.boxes().stream()
                .filter(b -> b.imageIndex() == image).toList());
        return ResponseEntity.ok()
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"annotated-" + (image + 1) + ".png\"")
                .cacheControl(CacheControl.noStore())
                .contentType(MediaType.IMAGE_PNG)
                .body(png);
    }

    private Conversation conversation(ApiTypes.ChatRequest request) {
        if (request == null || request.messages() == null) {
            throw ApiException.badRequest("The body needs \"messages\": [{\"role\":\"user\",\"text\":\"...\",\"images\":[\"data:image/png;base64,...\"]}]");
        }
        List<Conversation.Turn> turns = new ArrayList<>();
        int count = 0;
        for (int i = 0; i < request.messages().size(); i++) {
            ApiTypes.Message m = request.messages().get(i);
            if (m == null) {
                throw ApiException.invalidField("messages[" + i + "]",
                        "expected an object with 'role', 'text' and 'images', got null");
            }
            List<UploadedImage> images = new ArrayList<>();
            if (m.images() != null) {
                count += m.images().size();
                if (count > properties.getMaxImages()) {
                    throw ApiException.tooLarge("Too many images; the limit is " + properties.getMaxImages()
                            + " per request (demo.max-images)");
                }
                for (String url : m.images()) {
                    images.add(uploads.fromDataUrl(url));
                }
            }
            turns.add(new Conversation.Turn(m.role(), m.text(), images));
        }
        return new Conversation(request.system(), turns, request.options(), null);
    }

    private Conversation conversation(String question, List<MultipartFile> files, Integer maxTokens, Double temperature) {
        List<UploadedImage> images = new ArrayList<>();
        if (files != null) {
            if (files.size() > properties.getMaxImages()) {
                throw ApiException.tooLarge("Too many images; the limit is " + properties.getMaxImages()
                        + " per request (demo.max-images)");
            }
            for (MultipartFile f : files) {
                images.add(uploads.fromUpload(f));
            }
        }
        return new Conversation(null, List.of(new Conversation.Turn("user", question, images)),
                new ApiTypes.Options(maxTokens, temperature, null, null, null, null), null);
    }
}
