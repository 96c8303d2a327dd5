package io.github.qwenvl.spring.remote;

import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.generate.FinishReason;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The OpenAI Chat Completions wire format as vLLM, SGLang, llama.cpp server and Ollama speak it: request bodies, and
 * the fields read from answers, stream chunks and error bodies.
 */
final class OpenAiWire {

    static final JsonMapper JSON = JsonMapper.builder().build();

    private OpenAiWire() {
    }

    /**
     * The request body. Sampling fields are sent only when set (the server then applies the checkpoint's
     * generation_config.json, as the local engine does); {@code top_k} and {@code repetition_penalty} are vLLM /
     * SGLang extensions that other servers ignore; {@code skip_special_tokens=false} and
     * {@code spaces_between_special_tokens=false} keep Qwen2-VL's {@code <|box_start|>} markup in the answer as the
     * model wrote it; {@code mm_processor_kwargs} passes per-request pixel bounds to vLLM.
     */
    static Map<String, Object> request(String model, List<ChatMessage> messages, List<String> imageUrls,
                                       GenerationOptions o, int maxTokens, boolean stream) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", model);
        List<Object> out = new ArrayList<>();
        int image = 0;
        for (ChatMessage m : messages) {
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", m.role().name().toLowerCase(Locale.ROOT));
            boolean textOnly = m.content().stream().allMatch(c -> c instanceof Content.Text);
            if (textOnly) {
                StringBuilder text = new StringBuilder();
                for (Content c : m.content()) {
                    text.append(((Content.Text) c).text());
                }
                message.put("content", text.toString());
            } else {
                List<Object> parts = new ArrayList<>();
                for (Content c : m.content()) {
                    if (c instanceof Content.Text t) {
                        parts.add(Map.of("type", "text", "text", t.text()));
                    } else {
                        parts.add(Map.of("type", "image_url", "image_url", Map.of("url", imageUrls.get(image++))));
                    }
                }
                message.put("content", parts);
            }
            out.add(message);
        }
        body.put("messages", out);
        body.put("max_tokens", maxTokens);
        putIfSet(body, "temperature", o.temperature());
        putIfSet(body, "top_p", o.topP());
        putIfSet(body, "top_k", o.topK());
        putIfSet(body, "repetition_penalty", o.repetitionPenalty());
        putIfSet(body, "seed", o.seed());
        putIfSet(body, "min_tokens", o.minNewTokens());
        if (o.stopSequences() != null && !o.stopSequences().isEmpty()) {
            body.put("stop", o.stopSequences());
        }
        if (o.minPixels() != null || o.maxPixels() != null) {
            Map<String, Object> kwargs = new LinkedHashMap<>();
            putIfSet(kwargs, "min_pixels", o.minPixels());
            putIfSet(kwargs, "max_pixels", o.maxPixels());
            body.put("mm_processor_kwargs", kwargs);
        }
        body.put("skip_special_tokens", false);
        body.put("spaces_between_special_tokens", false);
        body.put("stream", stream);
        if (stream) {
            body.put("stream_options", Map.of("include_usage", true));
        }
        return body;
    }

    private static void putIfSet(Map<String, Object> body, String key, Object value) {
        if (value != null) {
            body.put(key, value);
        }
    }

    /** {@code finish_reason} → the engine's reasons: stop → EOS, length → LENGTH, abort → CANCELLED. */
    static FinishReason finishReason(String reason) {
        if (reason == null) {
            return FinishReason.EOS;
        }
        return switch (reason) {
            case "length" -> FinishReason.LENGTH;
            case "abort", "cancelled" -> FinishReason.CANCELLED;
            default -> FinishReason.EOS;
        };
    }

    /**
     * The message of an error body: OpenAI / Ollama / SGLang / llama.cpp {@code {"error": {"message": ...}}} (or
     * {@code {"error": "..."}}), vLLM {@code {"object": "error", "message": ...}}; else the body itself.
     */
    static String errorMessage(String body) {
        if (body == null || body.isBlank()) {
            return "(no message)";
        }
        try {
            JsonNode n = JSON.readTree(body);
            JsonNode error = n.path("error");
            if (error.isObject() && error.hasNonNull("message")) {
                return error.get("message").asString();
            }
            if (error.isString()) {
                return error.asString();
            }
            if (n.hasNonNull("message")) {
                return n.get("message").asString();
            }
            if (n.hasNonNull("detail")) {
                return n.get("detail").toString();
            }
        } catch (RuntimeException ignored) {
            // not JSON: the body as it is
        }
        return body.length() > 500 ? body.substring(0, 500) + "..." : body;
    }

    /** An error object inside a 200 answer or stream chunk (vLLM and SGLang report failures after the start so). */
    static String inlineError(JsonNode n) {
        if (n.path("error").isObject() || n.path("error").isString()) {
            return errorMessage(n.toString());
        }
        if ("error".equals(n.path("object").asString(""))) {
            return errorMessage(n.toString());
        }
        return null;
    }
}
