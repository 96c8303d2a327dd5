package io.github.qwenvl.demo.api;

import io.github.qwenvl.demo.DemoProperties;
import io.github.qwenvl.demo.model.ChatService;
import io.github.qwenvl.demo.model.Conversation;
import io.github.qwenvl.demo.model.ImageUploads;
import io.github.qwenvl.demo.model.UploadedImage;
import io.github.qwenvl.demo.model.VisionModel;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Flux;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * OpenAI-compatible Chat Completions ({@code POST /v1/chat/completions}, {@code GET /v1/models}), so
 * OpenAI clients can talk to the local model: {@code messages} with text and {@code image_url} parts
 * ({@code data:} URLs only), {@code stream} true (SSE chunks ending in {@code [DONE]}) or false, usage.
 * Answers add a {@code qwen_vl} field: clean text, the parsed grounding boxes, the images as the model
 * saw them, timings. The requested {@code model} name is not checked: the loaded model answers.
 */
@RestController
@RequestMapping("/v1")
public class OpenAiController {

    private final ChatService chat;
    private final ImageUploads uploads;
    private final VisionModel vision;
    private final DemoProperties properties;
    private final JsonMapper json;

    public OpenAiController(ChatService chat, ImageUploads uploads, VisionModel vision, DemoProperties properties,
                            JsonMapper json) {
        this.chat = chat;
        this.uploads = uploads;
        this.vision = vision;
        this.properties = properties;
        this.json = json;
    }

    @GetMapping("/models")
    public Map<String, Object> models() {
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("id", vision.modelId());
        model.put("object", "model");
        model.put("created", 0);
        model.put("owned_by", "local");
        return Map.of("object", "list", "data", List.of(model));
    }

    @PostMapping(path = "/chat/completions", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = {MediaType.APPLICATION_JSON_VALUE, MediaType.TEXT_EVENT_STREAM_VALUE})
    public Object completions(@RequestBody JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.invalidField("body", "must be a JSON object");
        }
        Conversation conversation = conversation(body);
        ChatService.PreparedChat prepared = chat.prepare(conversation);
        boolean stream = bool(body, "stream", false);
        if (!stream) {
            ApiTypes.ChatResult result = chat.call(prepared, "/v1/chat/completions");
            Map<String, Object> response = base(prepared.id(), "chat.completion", result.model());
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", "assistant");
            message.put("content", result.text());
            message.put("refusal", null);
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            choice.put("message", message);
            choice.put("logprobs", null);
            choice.put("finish_reason", finishReason(result.finishReason()));
            response.put("choices", List.of(choice));
            response.put("usage", usage(result.usage()));
            response.put("qwen_vl", extra(result));
            return org.springframework.http.ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(response);
        }
        boolean includeUsage = body.path("stream_options").isObject()
                && bool(body.path("stream_options"), "include_usage", false);
        String model = vision.modelId();
        Flux<ServerSentEvent<String>> first = Flux.just(data(chunk(prepared.id(), model,
                Map.of("role", "assistant", "content", ""), null)));
        Flux<ServerSentEvent<String>> rest = chat.stream(prepared, "/v1/chat/completions").concatMap(e -> {
            if (e instanceof ChatService.Delta d) {
                return Flux.just(data(chunk(prepared.id(), model, Map.of("content", d.text()), null)));
            }
            ChatService.Done d = (ChatService.Done) e;
            {
                Map<String, Object> last = chunk(prepared.id(), d.result().model(), Map.of(),
                        finishReason(d.result().finishReason()));
                last.put("qwen_vl", extra(d.result()));
                List<ServerSentEvent<String>> out = new ArrayList<>();
                out.add(data(last));
                if (includeUsage) {
                    Map<String, Object> usage = base(prepared.id(), "chat.completion.chunk", d.result().model());
                    usage.put("choices", List.of());
                    usage.put("usage", usage(d.result().usage()));
                    out.add(data(usage));
                }
                return Flux.fromIterable(out);
            }
        });
        return first.concatWith(rest)
                .onErrorResume(e -> Flux.just(data(ApiErrorAdvice.openAiBody(ErrorMapping.map(e)))))
                .concatWith(Flux.just(ServerSentEvent.builder("[DONE]").build()));
    }

    private ServerSentEvent<String> data(Object value) {
        return ServerSentEvent.builder(json.writeValueAsString(value)).build();
    }

    private static Map<String, Object> base(String id, String object, String model) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", "chatcmpl-" + id);
        m.put("object", object);
        m.put("created", System.currentTimeMillis() / 1000);
        m.put("model", model);
        m.put("system_fingerprint", null);
        return m;
    }

    private static Map<String, Object> chunk(String id, String model, Map<String, Object> delta, String finish) {
        Map<String, Object> m = base(id, "chat.completion.chunk", model);
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("delta", delta);
        choice.put("logprobs", null);
        choice.put("finish_reason", finish);
        m.put("choices", List.of(choice));
        return m;
    }

    private static Map<String, Object> usage(ApiTypes.Usage u) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt_tokens", u.promptTokens());
        m.put("completion_tokens", u.completionTokens());
        m.put("total_tokens", u.totalTokens());
        return m;
    }

    private static Map<String, Object> extra(ApiTypes.ChatResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", r.architecture());
        m.put("clean_text", r.cleanText());
        m.put("boxes", r.boxes());
        m.put("images", r.images());
        m.put("timings", r.timings());
        m.put("image_tokens", r.usage().imageTokens());
        return m;
    }

    private static String finishReason(String reason) {
        return "length".equals(reason) ? "length" : "stop";
    }

    private Conversation conversation(JsonNode body) {
        JsonNode messages = body.path("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            throw ApiException.invalidField("messages", "must be a non-empty array of messages");
        }
        if (body.hasNonNull("tools") || body.hasNonNull("functions")) {
            throw ApiException.unsupported("Tools / function calling are not supported by this model");
        }
        Integer n = integer(body, "n", 1, Integer.MAX_VALUE);
        if (n != null && n != 1) {
            throw ApiException.invalidField("n", "only n=1 is supported");
        }
        for (String penalty : List.of("frequency_penalty", "presence_penalty")) {
            Double value = number(body, penalty);
            if (value != null && value != 0) {
                throw ApiException.invalidField(penalty, "not supported; use repetition_penalty");
            }
        }
        List<Conversation.Turn> turns = new ArrayList<>();
        String system = null;
        int imageCount = 0;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.invalidField(at, "expected an object with 'role' and 'content', got " + kind(m));
            }
            String role = string(m, "role", at + ".role");
            role = role == null ? "" : role.toLowerCase(Locale.ROOT);
            if (role.equals("developer")) {
                role = "system";
            }
            if (!List.of("system", "user", "assistant").contains(role)) {
                throw new ApiException(org.springframework.http.HttpStatus.BAD_REQUEST, "unsupported_content",
                        "Unsupported message role '" + role + "': use system, developer, user or assistant"
                                + " (tool messages are not supported)", at + ".role");
            }
            StringBuilder text = new StringBuilder();
            List<UploadedImage> images = new ArrayList<>();
            JsonNode content = m.path("content");
            if (content.isString()) {
                text.append(content.asString());
            } else if (content.isArray()) {
                for (int j = 0; j < content.size(); j++) {
                    JsonNode part = content.get(j);
                    String partAt = at + ".content[" + j + "]";
                    if (!part.isObject()) {
                        throw ApiException.invalidField(partAt, "expected a content part object, got " + kind(part));
                    }
                    String type = string(part, "type", partAt + ".type");
                    switch (type == null ? "" : type) {
                        case "text" -> {
                            if (!text.isEmpty()) {
                                text.append('\n');
                            }
                            String value = string(part, "text", partAt + ".text");
                            text.append(value == null ? "" : value);
                        }
                        case "image_url" -> {
                            JsonNode url = part.path("image_url");
                            String value = url.isString() ? url.asString() : string(url, "url", partAt + ".image_url.url");
                            if (++imageCount > properties.getMaxImages()) {
                                throw new ApiException(org.springframework.http.HttpStatus.CONTENT_TOO_LARGE, "too_large",
                                        "Too many images; the limit is " + properties.getMaxImages()
                                                + " per request (demo.max-images)", "messages");
                            }
                            images.add(uploads.fromDataUrl(value));
                        }
                        default -> throw new ApiException(org.springframework.http.HttpStatus.BAD_REQUEST,
                                "unsupported_content", "Unsupported content part type '" + type
                                + "': this model takes text and image_url (data: URLs)", partAt + ".type");
                    }
                }
            } else if (!content.isNull() && !content.isMissingNode()) {
                throw ApiException.invalidField(at + ".content", "must be a string or an array of parts, got "
                        + kind(content));
            }
            if (role.equals("system") && turns.isEmpty() && system == null && images.isEmpty()) {
                system = text.toString();
            } else {
                turns.add(new Conversation.Turn(role, text.toString(), images));
            }
        }
        Integer maxTokens = body.hasNonNull("max_completion_tokens")
                ? integer(body, "max_completion_tokens", 1, Integer.MAX_VALUE)
                : integer(body, "max_tokens", 1, Integer.MAX_VALUE);
        Double temperature = number(body, "temperature");
        if (temperature != null && (temperature < 0 || temperature > 2)) {
            throw ApiException.invalidField("temperature", temperature + " is out of range: 0 to 2");
        }
        Double topP = number(body, "top_p");
        if (topP != null && (topP <= 0 || topP > 1)) {
            throw ApiException.invalidField("top_p", topP + " is out of range: above 0, at most 1");
        }
        Long seed = body.hasNonNull("seed") ? integralLong(body, "seed") : null;
        Double repetitionPenalty = number(body, "repetition_penalty");
        if (repetitionPenalty != null && repetitionPenalty <= 0) {
            throw ApiException.invalidField("repetition_penalty", "must be above 0");
        }
        ApiTypes.Options options = new ApiTypes.Options(maxTokens, temperature, topP,
                integer(body, "top_k", 1, Integer.MAX_VALUE), seed, repetitionPenalty);
        List<String> stop = null;
        JsonNode stopNode = body.path("stop");
        if (stopNode.isString()) {
            stop = List.of(stopNode.asString());
        } else if (stopNode.isArray()) {
            stop = new ArrayList<>();
            for (JsonNode s : stopNode) {
                if (!s.isString()) {
                    throw ApiException.invalidField("stop", "expected strings, got " + kind(s));
                }
                stop.add(s.asString());
            }
        } else if (!stopNode.isNull() && !stopNode.isMissingNode()) {
            throw ApiException.invalidField("stop", "expected a string or an array of strings, got " + kind(stopNode));
        }
        return new Conversation(system, turns, options, stop);
    }

    /** A boolean field, {@code fallback} when absent or null. */
    private static boolean bool(JsonNode body, String field, boolean fallback) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw ApiException.invalidField(field, "expected true or false, got " + kind(n));
        }
        return n.booleanValue();
    }

    /** A string field of an object, {@code null} when absent or null. */
    private static String string(JsonNode object, String field, String path) {
        JsonNode n = object.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isString()) {
            throw ApiException.invalidField(path, "expected a string, got " + kind(n));
        }
        return n.asString();
    }

    /** A number field, {@code null} when absent or null. */
    private static Double number(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isNumber()) {
            throw ApiException.invalidField(field, "expected a number, got " + kind(n));
        }
        double value = n.doubleValue();
        if (!Double.isFinite(value)) {
            throw ApiException.invalidField(field, "expected a finite number");
        }
        return value;
    }

    /** An integer field within [min, max], {@code null} when absent or null; 12.0 counts as 12, 1e20 is out of range. */
    private static Integer integer(JsonNode body, String field, int min, int max) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isNumber()) {
            throw ApiException.invalidField(field, "expected an integer, got " + kind(n));
        }
        double value = n.doubleValue();
        if (value != Math.rint(value)) {
            throw ApiException.invalidField(field, "expected an integer, got " + n);
        }
        if (value < min || value > max) {
            throw ApiException.invalidField(field, n + " is out of range: " + min + " to " + max);
        }
        return (int) value;
    }

    private static Long integralLong(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (!n.isNumber() || !n.isIntegralNumber() || !n.canConvertToLong()) {
            throw ApiException.invalidField(field, "expected an integer (64-bit), got " + (n.isNumber() ? n.toString() : kind(n)));
        }
        return n.longValue();
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }
}
