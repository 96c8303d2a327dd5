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
            throw ApiException.badRequest("The body must be a JSON object");
        }
        Conversation conversation = conversation(body);
        ChatService.PreparedChat prepared = chat.prepare(conversation);
        boolean stream = body.path("stream").asBoolean(false);
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
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
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
                .onErrorResume(e -> Flux.just(data(OpenAiErrorAdvice.body(ErrorMapping.map(e)))))
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
            throw ApiException.badRequest("'messages' must be a non-empty array");
        }
        if (body.hasNonNull("tools") || body.hasNonNull("functions")) {
            throw ApiException.unsupported("Tools / function calling are not supported by this model");
        }
        if (body.hasNonNull("n") && body.path("n").asInt(1) != 1) {
            throw ApiException.badRequest("Only n=1 is supported");
        }
        for (String penalty : List.of("frequency_penalty", "presence_penalty")) {
            if (body.hasNonNull(penalty) && body.path(penalty).asDouble(0) != 0) {
                throw ApiException.badRequest(penalty + " is not supported; use repetition_penalty");
            }
        }
        List<Conversation.Turn> turns = new ArrayList<>();
        String system = null;
        int imageCount = 0;
        for (JsonNode m : messages) {
            String role = m.path("role").asString("").toLowerCase(Locale.ROOT);
            if (role.equals("developer")) {
                role = "system";
            }
            if (!List.of("system", "user", "assistant").contains(role)) {
                throw ApiException.unsupported("Unsupported message role '" + role + "' (tool messages are not supported)");
            }
            StringBuilder text = new StringBuilder();
            List<UploadedImage> images = new ArrayList<>();
            JsonNode content = m.path("content");
            if (content.isString()) {
                text.append(content.asString());
            } else if (content.isArray()) {
                for (JsonNode part : content) {
                    String type = part.path("type").asString("");
                    switch (type) {
                        case "text" -> {
                            if (!text.isEmpty()) {
                                text.append('\n');
                            }
                            text.append(part.path("text").asString(""));
                        }
                        case "image_url" -> {
                            JsonNode url = part.path("image_url");
                            String value = url.isString() ? url.asString() : url.path("url").asString(null);
                            if (++imageCount > properties.getMaxImages()) {
                                throw ApiException.tooLarge("Too many images; the limit is " + properties.getMaxImages()
                                        + " per request (demo.max-images)");
                            }
                            images.add(uploads.fromDataUrl(value));
                        }
                        default -> throw ApiException.unsupported("Unsupported content part type '" + type
                                + "': this model takes text and image_url (data: URLs)");
                    }
                }
            } else if (!content.isNull() && !content.isMissingNode()) {
                throw ApiException.badRequest("'content' must be a string or an array of parts");
            }
            if (role.equals("system") && turns.isEmpty() && system == null && images.isEmpty()) {
                system = text.toString();
            } else {
                turns.add(new Conversation.Turn(role, text.toString(), images));
            }
        }
        Integer maxTokens = body.hasNonNull("max_completion_tokens") ? Integer.valueOf(body.path("max_completion_tokens").asInt())
                : body.hasNonNull("max_tokens") ? Integer.valueOf(body.path("max_tokens").asInt()) : null;
        ApiTypes.Options options = new ApiTypes.Options(maxTokens,
                body.hasNonNull("temperature") ? body.path("temperature").asDouble() : null,
                body.hasNonNull("top_p") ? body.path("top_p").asDouble() : null,
                body.hasNonNull("top_k") ? body.path("top_k").asInt() : null,
                body.hasNonNull("seed") ? body.path("seed").asLong() : null,
                body.hasNonNull("repetition_penalty") ? body.path("repetition_penalty").asDouble() : null);
        List<String> stop = null;
        JsonNode stopNode = body.path("stop");
        if (stopNode.isString()) {
            stop = List.of(stopNode.asString());
        } else if (stopNode.isArray()) {
            stop = new ArrayList<>();
            for (JsonNode s : stopNode) {
                stop.add(s.asString());
            }
        }
        return new Conversation(system, turns, options, stop);
    }
}
