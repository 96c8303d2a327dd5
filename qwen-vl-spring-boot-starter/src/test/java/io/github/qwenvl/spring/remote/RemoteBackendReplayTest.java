package io.github.qwenvl.spring.remote;

import io.github.qwenvl.RemoteRequestRejectedException;
import io.github.qwenvl.RemoteServerException;
import io.github.qwenvl.grounding.GroundingBox;
import io.github.qwenvl.spring.QwenVlBackend;
import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlChatOptions;
import io.github.qwenvl.spring.QwenVlGrounding;
import io.github.qwenvl.spring.QwenVlMetadata;
import io.github.qwenvl.spring.RequestTimeoutException;
import io.github.qwenvl.spring.TinyModels;
import io.github.qwenvl.ImageInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.util.MimeTypeUtils;
import tools.jackson.databind.JsonNode;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The remote backend against a loopback server that replays the response shapes of vLLM and Ollama:
 * <ul>
 *   <li>vLLM answers and stream chunks ({@code vllm/entrypoints/openai/protocol.py} ChatCompletionResponse /
 *   ChatCompletionStreamResponse; {@code serving_chat.py}: with {@code stream_options.include_usage} a last chunk with
 *   {@code "choices": []} and the usage, then {@code data: [DONE]}), its error body {@code ErrorResponse}
 *   ({@code {"object": "error", "message", "type", "param", "code"}});</li>
 *   <li>Ollama ({@code openai/openai.go}: ChatCompletionChunk with {@code "system_fingerprint": "fp_ollama"}, a
 *   {@code delta} carrying {@code role} in every chunk and no {@code usage} field unless asked; errors as
 *   {@code {"error": {"message", "type": "not_found_error", "param": null, "code": null}}} from NewError).</li>
 * </ul>
 */
class RemoteBackendReplayTest {

    private static final String VLLM_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct";

    private static RemoteSettings settings(List<String> urls, Integer maxPixels, boolean downscale, int retries,
                                           Duration readTimeout) {
        return new RemoteSettings(urls, "secret-key", null, Duration.ofSeconds(2), readTimeout, retries,
                Duration.ofMillis(50), true, null, maxPixels, downscale, 8, 64L << 20);
    }

    private static QwenVlChatModel chatModel(RemoteSettings settings, Path checkpoint) {
        QwenVlBackend backend = new RemoteQwenVlBackend(settings, "served-model", () -> checkpoint).load();
        return QwenVlChatModel.builder().backend(backend)
                .defaultOptions(QwenVlChatOptions.builder().maxTokens(32).temperature(0.0).build()).build();
    }

    private static byte[] png(int width, int height) throws Exception {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, (x * 255 / width) << 16 | (y * 255 / height) << 8 | 90);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    private static Prompt imagePrompt(byte[] image, String text) {
        return new Prompt(UserMessage.builder().text(text)
                .media(List.of(new Media(MimeTypeUtils.IMAGE_PNG, new ByteArrayResource(image)))).build());
    }

    private static JsonNode json(String body) {
        return OpenAiWire.JSON.readTree(body);
    }

    /** vLLM, non-streamed: a Qwen2.5-VL JSON box in absolute pixels of the image as the server resized it. */
    @Test
    void vllmAnswerWithQwen25AbsoluteBoxMappedThroughTheServedPixelBounds() throws Exception {
        try (ReplayServer vllm = new ReplayServer().serving(VLLM_MODEL)) {
            vllm.on("/v1/chat/completions", ReplayServer.Answer.json(200, """
                    {"id":"chatcmpl-8f1c","object":"chat.completion","created":1733000000,"model":"Qwen/Qwen2.5-VL-7B-Instruct",\
                    "choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,\
                    "content":"```json\\n[\\n\\t{\\"bbox_2d\\": [61, 30, 308, 154], \\"label\\": \\"cat\\"}\\n]\\n```",\
                    "tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":null}],\
                    "usage":{"prompt_tokens":273,"total_tokens":301,"completion_tokens":28,"prompt_tokens_details":null},\
                    "prompt_logprobs":null}"""));
            // the server was started with max_pixels=200704 (--mm-processor-kwargs), below the checkpoint's 12845056
            QwenVlChatModel chat = chatModel(settings(List.of(vllm.baseUrl()), 200704, false, 0, Duration.ofSeconds(10)),
                    TinyModels.qwen25vl());
            byte[] image = png(1000, 500);
            ChatResponse response = chat.call(imagePrompt(image, "Outline the cat in JSON."));

            // smart_resize(500, 1000, factor 28, max 200704): 308 x 616; the box maps back by 1000/616 and 500/308
            @SuppressWarnings("unchecked")
            List<ImageInfo> images = (List<ImageInfo>) response.getMetadata().get(QwenVlMetadata.IMAGES);
            assertThat(images).containsExactly(new ImageInfo(0, 1000, 500, 616, 308, 242));
            List<GroundingBox> boxes = QwenVlGrounding.boxes(response);
            assertThat(boxes).hasSize(1);
            assertThat(boxes.get(0).label()).isEqualTo("cat");
            assertThat(boxes.get(0).pixels().x1()).isCloseTo(61 * 1000.0 / 616, within(0.01));
            assertThat(boxes.get(0).pixels().y1()).isCloseTo(30 * 500.0 / 308, within(0.01));
            assertThat(boxes.get(0).pixels().x2()).isCloseTo(500.0, within(0.01));
            assertThat(boxes.get(0).pixels().y2()).isCloseTo(250.0, within(0.01));
            assertThat(response.getMetadata().getUsage().getPromptTokens()).isEqualTo(273);
            assertThat(response.getMetadata().getUsage().getCompletionTokens()).isEqualTo(28);
            assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
            assertThat((Object) response.getMetadata().get(QwenVlMetadata.IMAGE_TOKENS)).isEqualTo(242);

            // the request: the served model from /v1/models, the image's own bytes as a data: URL, the options
            JsonNode sent = json(vllm.requests.get(vllm.requests.size() - 1));
            assertThat(sent.path("model").asString()).isEqualTo(VLLM_MODEL);
            assertThat(sent.path("max_tokens").asInt()).isEqualTo(32);
            assertThat(sent.path("temperature").asDouble()).isEqualTo(0.0);
            assertThat(sent.path("stream").asBoolean()).isFalse();
            assertThat(sent.path("skip_special_tokens").asBoolean(true)).isFalse();
            JsonNode parts = sent.path("messages").path(0).path("content");
            assertThat(parts.path(0).path("type").asString()).isEqualTo("image_url");
            assertThat(parts.path(0).path("image_url").path("url").asString())
                    .isEqualTo("data:image/png;base64," + Base64.getEncoder().encodeToString(image));
            assertThat(parts.path(1).path("text").asString()).isEqualTo("Outline the cat in JSON.");
        }
    }

    /** Client-side downscaling: the image leaves at the size the server would resize it to. */
    @Test
    void downscaledImagesAreSentAtTheServedSize() throws Exception {
        try (ReplayServer vllm = new ReplayServer().serving(VLLM_MODEL)) {
            vllm.on("/v1/chat/completions", ReplayServer.Answer.json(200, """
                    {"id":"chatcmpl-1","object":"chat.completion","created":1733000000,"model":"Qwen/Qwen2.5-VL-7B-Instruct",\
                    "choices":[{"index":0,"message":{"role":"assistant","content":"A gradient."},"finish_reason":"stop"}],\
                    "usage":{"prompt_tokens":250,"total_tokens":253,"completion_tokens":3}}"""));
            QwenVlChatModel chat = chatModel(settings(List.of(vllm.baseUrl()), 200704, true, 0, Duration.ofSeconds(10)),
                    TinyModels.qwen25vl());
            chat.call(imagePrompt(png(1000, 500), "What is this?"));
            String url = json(vllm.requests.get(vllm.requests.size() - 1)).path("messages").path(0).path("content")
                    .path(0).path("image_url").path("url").asString();
            assertThat(url).startsWith("data:image/png;base64,");
            BufferedImage sent = ImageIO.read(new ByteArrayInputStream(
                    Base64.getDecoder().decode(url.substring("data:image/png;base64,".length()))));
            assertThat(sent.getWidth()).isEqualTo(616);
            assertThat(sent.getHeight()).isEqualTo(308);
        }
    }

    /** vLLM, streamed with include_usage: role chunk, content chunks, finish_reason "length", a usage-only chunk. */
    @Test
    void vllmStreamWithUsageChunk() throws Exception {
        try (ReplayServer vllm = new ReplayServer().serving(VLLM_MODEL)) {
            String head = "{\"id\":\"chatcmpl-77\",\"object\":\"chat.completion.chunk\",\"created\":1733000000,"
                    + "\"model\":\"Qwen/Qwen2.5-VL-7B-Instruct\",";
            vllm.on("/v1/chat/completions", ReplayServer.Answer.events(
                    head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
                    head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A red\"},\"logprobs\":null,\"finish_reason\":null}]}",
                    head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" square\"},\"logprobs\":null,\"finish_reason\":null}]}",
                    head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" on\"},\"logprobs\":null,\"finish_reason\":\"length\",\"stop_reason\":null}]}",
                    head + "\"choices\":[],\"usage\":{\"prompt_tokens\":262,\"total_tokens\":265,\"completion_tokens\":3}}",
                    "[DONE]"));
            QwenVlChatModel chat = chatModel(settings(List.of(vllm.baseUrl()), null, false, 0, Duration.ofSeconds(10)),
                    TinyModels.qwen25vl());
            List<ChatResponse> chunks = chat.stream(imagePrompt(png(64, 48), "Describe.")).collectList().block();
            StringBuilder text = new StringBuilder();
            chunks.forEach(c -> text.append(c.getResult().getOutput().getText()));
            assertThat(text.toString()).isEqualTo("A red square on");
            ChatResponse last = chunks.get(chunks.size() - 1);
            assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
            assertThat(last.getMetadata().getUsage().getPromptTokens()).isEqualTo(262);
            assertThat(last.getMetadata().getUsage().getCompletionTokens()).isEqualTo(3);
            JsonNode sent = json(vllm.requests.get(vllm.requests.size() - 1));
            assertThat(sent.path("stream").asBoolean()).isTrue();
            assertThat(sent.path("stream_options").path("include_usage").asBoolean()).isTrue();
        }
    }

    /** Ollama, streamed without usage; Qwen2-VL's 0–1000 box markup kept in the text and mapped to original pixels. */
    @Test
    void ollamaStreamWithoutUsageAndQwen2VlNormalizedBoxes() throws Exception {
        try (ReplayServer ollama = new ReplayServer()) {
            ollama.on("/v1/models", ReplayServer.Answer.json(200,
                    "{\"object\":\"list\",\"data\":[{\"id\":\"qwen2-vl:2b\",\"object\":\"model\",\"created\":1733000000,\"owned_by\":\"library\"}]}"));
            String head = "{\"id\":\"chatcmpl-412\",\"object\":\"chat.completion.chunk\",\"created\":1733000000,"
                    + "\"model\":\"qwen2-vl:2b\",\"system_fingerprint\":\"fp_ollama\",";
            ollama.on("/v1/chat/completions", ReplayServer.Answer.events(
                    head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"<|object_ref_start|>the dog\"},\"finish_reason\":null}]}",
                    head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"<|object_ref_end|><|box_start|>(100,200),(500,600)<|box_end|>\"},\"finish_reason\":null}]}",
                    head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"stop\"}]}",
                    "[DONE]"));
            QwenVlChatModel chat = chatModel(settings(List.of(ollama.baseUrl()), null, false, 0, Duration.ofSeconds(10)),
                    TinyModels.qwen2vl());
            List<ChatResponse> chunks = chat.stream(imagePrompt(png(800, 600), "Find the dog.")).collectList().block();
            ChatResponse last = chunks.get(chunks.size() - 1);
            assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
            assertThat(last.getMetadata().getUsage().getCompletionTokens()).isZero();
            List<GroundingBox> boxes = QwenVlGrounding.boxes(last);
            assertThat(boxes).hasSize(1);
            assertThat(boxes.get(0).label()).isEqualTo("the dog");
            assertThat(boxes.get(0).pixels().x1()).isCloseTo(80.0, within(0.01));
            assertThat(boxes.get(0).pixels().y1()).isCloseTo(120.0, within(0.01));
            assertThat(boxes.get(0).pixels().x2()).isCloseTo(400.0, within(0.01));
            assertThat(boxes.get(0).pixels().y2()).isCloseTo(360.0, within(0.01));
            assertThat(json(ollama.requests.get(ollama.requests.size() - 1)).path("model").asString()).isEqualTo("qwen2-vl:2b");
        }
    }

    /** Qwen-VL (the original): a fixed 448 x 448 view, 256 image tokens, {@code <ref>/<box>} in 0–1000 units. */
    @Test
    void qwenVlBoxesInThousandthsMapToOriginalPixels() throws Exception {
        try (ReplayServer vllm = new ReplayServer().serving("Qwen/Qwen-VL-Chat")) {
            vllm.on("/v1/chat/completions", ReplayServer.Answer.json(200, """
                    {"id":"chatcmpl-3","object":"chat.completion","created":1733000000,"model":"Qwen/Qwen-VL-Chat",                    "choices":[{"index":0,"message":{"role":"assistant","content":"<ref>the bird</ref><box>(250,100),(750,900)</box>"},                    "logprobs":null,"finish_reason":"stop","stop_reason":null}],                    "usage":{"prompt_tokens":300,"total_tokens":318,"completion_tokens":18}}"""));
            QwenVlChatModel chat = chatModel(settings(List.of(vllm.baseUrl()), null, false, 0, Duration.ofSeconds(10)),
                    TinyModels.root().resolve("qwen-vl-tiny/model"));
            ChatResponse response = chat.call(imagePrompt(png(640, 480), "Where is the bird?"));
            @SuppressWarnings("unchecked")
            List<ImageInfo> images = (List<ImageInfo>) response.getMetadata().get(QwenVlMetadata.IMAGES);
            assertThat(images.get(0).resizedWidth()).isEqualTo(448);
            assertThat(images.get(0).resizedHeight()).isEqualTo(448);
            List<GroundingBox> boxes = QwenVlGrounding.boxes(response);
            assertThat(boxes).hasSize(1);
            assertThat(boxes.get(0).label()).isEqualTo("the bird");
            assertThat(boxes.get(0).pixels().x1()).isCloseTo(160.0, within(0.01));
            assertThat(boxes.get(0).pixels().y1()).isCloseTo(48.0, within(0.01));
            assertThat(boxes.get(0).pixels().x2()).isCloseTo(480.0, within(0.01));
            assertThat(boxes.get(0).pixels().y2()).isCloseTo(432.0, within(0.01));
        }
    }

    /**
     * Qwen3-VL: images sized by its registered rule (smart_resize with factor 32 = 16-px patches merged 2 × 2), JSON
     * boxes and points in 0–1000 units of the image.
     */
    @Test
    void qwen3VlJsonBoxesAndPointsInThousandthsMapToOriginalPixels() throws Exception {
        try (ReplayServer vllm = new ReplayServer().serving("Qwen/Qwen3-VL-2B-Instruct")) {
            vllm.on("/v1/chat/completions", ReplayServer.Answer.json(200, """
                    {"id":"chatcmpl-4","object":"chat.completion","created":1733000000,"model":"Qwen/Qwen3-VL-2B-Instruct",                    "choices":[{"index":0,"message":{"role":"assistant","content":"```json\\n[{\\"bbox_2d\\": [250, 100, 750, 900], \\"label\\": \\"bird\\"}, {\\"point_2d\\": [500, 500], \\"label\\": \\"eye\\"}]\\n```"},                    "logprobs":null,"finish_reason":"stop","stop_reason":null}],                    "usage":{"prompt_tokens":80,"total_tokens":110,"completion_tokens":30}}"""));
            QwenVlChatModel chat = chatModel(settings(List.of(vllm.baseUrl()), null, false, 0, Duration.ofSeconds(10)),
                    TinyModels.model("qwen3_vl"));
            ChatResponse response = chat.call(imagePrompt(png(640, 480), "Where is the bird?"));
            // smart_resize(480, 640, factor 32, 8192..65536 pixels of the tiny checkpoint): 192 x 288, 12 x 18 patches
            @SuppressWarnings("unchecked")
            List<ImageInfo> images = (List<ImageInfo>) response.getMetadata().get(QwenVlMetadata.IMAGES);
            assertThat(images).containsExactly(new ImageInfo(0, 640, 480, 288, 192, 54));
            List<GroundingBox> boxes = QwenVlGrounding.boxes(response);
            assertThat(boxes).hasSize(2);
            assertThat(boxes.get(0).label()).isEqualTo("bird");
            assertThat(boxes.get(0).pixels().x1()).isCloseTo(160.0, within(0.01));
            assertThat(boxes.get(0).pixels().y1()).isCloseTo(48.0, within(0.01));
            assertThat(boxes.get(0).pixels().x2()).isCloseTo(480.0, within(0.01));
            assertThat(boxes.get(0).pixels().y2()).isCloseTo(432.0, within(0.01));
            assertThat(boxes.get(1).label()).isEqualTo("eye");
            assertThat(boxes.get(1).pixels().x1()).isCloseTo(320.0, within(0.01));
            assertThat(boxes.get(1).pixels().y1()).isCloseTo(240.0, within(0.01));
        }
    }

    /** 4xx answers fail at once with the server's own message: vLLM's ErrorResponse and Ollama's error object. */
    @Test
    void errorBodiesOfVllmAndOllamaBecomeTypedErrors() throws Exception {
        try (ReplayServer vllm = new ReplayServer().serving(VLLM_MODEL)) {
            vllm.on("/v1/chat/completions", ReplayServer.Answer.json(400,
                    "{\"object\":\"error\",\"message\":\"At most 1 image(s) may be provided in one request.\","
                            + "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}"));
            QwenVlChatModel chat = chatModel(settings(List.of(vllm.baseUrl()), null, false, 2, Duration.ofSeconds(10)),
                    TinyModels.qwen25vl());
            assertThatThrownBy(() -> chat.call(imagePrompt(png(64, 48), "Hi")))
                    .isInstanceOf(RemoteRequestRejectedException.class)
                    .hasMessageContaining("HTTP 400").hasMessageContaining("At most 1 image(s)")
                    .satisfies(e -> assertThat(((RemoteRequestRejectedException) e).status()).isEqualTo(400));
            assertThat(vllm.requests).hasSize(1);   // a 400 is not retried
        }
        try (ReplayServer ollama = new ReplayServer().serving("qwen2.5vl:7b")) {
            ollama.on("/v1/chat/completions", ReplayServer.Answer.json(404,
                    "{\"error\":{\"message\":\"model \\\"qwen2.5vl:7b\\\" not found, try pulling it first\","
                            + "\"type\":\"not_found_error\",\"param\":null,\"code\":null}}"));
            QwenVlChatModel chat = chatModel(settings(List.of(ollama.baseUrl()), null, false, 0, Duration.ofSeconds(10)),
                    TinyModels.qwen25vl());
            assertThatThrownBy(() -> chat.stream(new Prompt("Hi")).blockLast())
                    .isInstanceOf(RemoteRequestRejectedException.class)
                    .hasMessageContaining("HTTP 404").hasMessageContaining("try pulling it first");
        }
    }

    /** 503 (vLLM while its engine restarts) and 429 are retried with back-off; the third attempt answers. */
    @Test
    void busyAnswersAreRetried() throws Exception {
        try (ReplayServer vllm = new ReplayServer().serving(VLLM_MODEL)) {
            vllm.on("/v1/chat/completions",
                    ReplayServer.Answer.json(503, "{\"object\":\"error\",\"message\":\"Service Unavailable\",\"type\":\"ServiceUnavailableError\",\"param\":null,\"code\":503}"),
                    ReplayServer.Answer.json(429, "{\"error\":{\"message\":\"Too many requests\",\"type\":\"api_error\",\"param\":null,\"code\":null}}"),
                    ReplayServer.Answer.json(200, "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
                            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}],"
                            + "\"usage\":{\"prompt_tokens\":9,\"total_tokens\":10,\"completion_tokens\":1}}"));
            QwenVlChatModel chat = chatModel(settings(List.of(vllm.baseUrl()), null, false, 2, Duration.ofSeconds(10)),
                    TinyModels.qwen25vl());
            assertThat(chat.call(new Prompt("Hi")).getResult().getOutput().getText()).isEqualTo("Hello");
            assertThat(vllm.requests).hasSize(3);
        }
        try (ReplayServer vllm = new ReplayServer().serving(VLLM_MODEL)) {
            vllm.on("/v1/chat/completions", ReplayServer.Answer.json(503, "{\"object\":\"error\",\"message\":\"overloaded\","
                    + "\"type\":\"ServiceUnavailableError\",\"param\":null,\"code\":503}"));
            QwenVlChatModel chat = chatModel(settings(List.of(vllm.baseUrl()), null, false, 1, Duration.ofSeconds(10)),
                    TinyModels.qwen25vl());
            assertThatThrownBy(() -> chat.call(new Prompt("Hi"))).isInstanceOf(RemoteServerException.class)
                    .hasMessageContaining("busy")
                    .satisfies(e -> assertThat(((RemoteServerException) e).busy()).isTrue());
        }
    }

    /** Two base URLs, the first down: every request succeeds on the second. Both down: a typed error, quickly. */
    @Test
    @Timeout(60)
    void failsOverToTheServerThatIsUp() throws Exception {
        String down = ReplayServer.downUrl();
        try (ReplayServer up = new ReplayServer().serving(VLLM_MODEL)) {
            up.on("/v1/chat/completions", ReplayServer.Answer.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\","
                    + "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                    + "\"content\":\"up\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"total_tokens\":6,"
                    + "\"completion_tokens\":1}}"));
            QwenVlChatModel chat = chatModel(settings(List.of(down, up.baseUrl()), null, false, 2, Duration.ofSeconds(10)),
                    TinyModels.qwen25vl());
            for (int i = 0; i < 3; i++) {   // round robin starts on each URL in turn; the down one fails over
                assertThat(chat.call(new Prompt("Hi")).getResult().getOutput().getText()).isEqualTo("up");
            }
            assertThat(up.requests).hasSize(3);
            QwenVlBackend.Health health = chat.backend().health();
            assertThat(health.status()).isEqualTo("UP");
            assertThat(health.details().get("servers").toString()).contains(down).contains("DOWN").contains(VLLM_MODEL);
        }
        String alsoDown = ReplayServer.downUrl();
        QwenVlChatModel chat = QwenVlChatModel.builder()
                .backend(new RemoteQwenVlBackend(new RemoteSettings(List.of(down, alsoDown), null, "m",
                        Duration.ofSeconds(2), Duration.ofSeconds(10), 3, Duration.ofMillis(50), true, null, null, false,
                        8, 64L << 20), "m", TinyModels::qwen25vl).load()).build();
        assertThatThrownBy(() -> chat.call(new Prompt("Hi"))).isInstanceOf(RemoteServerException.class)
                .hasMessageContaining("No server could be reached")
                .satisfies(e -> assertThat(((RemoteServerException) e).baseUrls()).containsExactly(down, alsoDown, down, alsoDown));
        assertThat(chat.backend().health().status()).isEqualTo("DOWN");
    }

    /** A server that stays silent past the read timeout: RequestTimeoutException, not a hang. */
    @Test
    @Timeout(60)
    void silentServerTimesOut() throws Exception {
        try (ReplayServer slow = new ReplayServer().serving(VLLM_MODEL)) {
            slow.on("/v1/chat/completions", ReplayServer.Answer.json(200, "{}").delayed(5_000));
            QwenVlChatModel chat = chatModel(settings(List.of(slow.baseUrl()), null, false, 2, Duration.ofMillis(500)),
                    TinyModels.qwen25vl());
            assertThatThrownBy(() -> chat.call(new Prompt("Hi"))).isInstanceOf(RequestTimeoutException.class)
                    .hasMessageContaining("remote.read-timeout");
        }
    }
}
