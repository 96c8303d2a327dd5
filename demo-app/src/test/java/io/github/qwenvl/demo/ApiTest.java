package io.github.qwenvl.demo;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.http.MediaType;
import org.springframework.mock.web.MockMultipartFile;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.servlet.MockMvc;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/** The demo API and the OpenAI-compatible API on the real tiny model (the tiny profile, as the jar runs it). */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureMockMvc
@ActiveProfiles("tiny")
@TestPropertySource(properties = {"demo.max-images=3", "demo.max-image-size=200KB", "demo.max-request-size=1MB",
        "spring.ai.qwen-vl.chat.options.max-tokens=6"})
class ApiTest {

    @Autowired
    MockMvc mvc;

    @Autowired
    JsonMapper json;

    @LocalServerPort
    int port;

    static final String SQUARE = Fixtures.dataUrl("square_56x56.png");

    private static String chatBody(String question, String... images) {
        StringBuilder b = new StringBuilder("{\"messages\":[{\"role\":\"user\",\"text\":\"" + question + "\",\"images\":[");
        for (int i = 0; i < images.length; i++) {
            b.append(i == 0 ? "" : ",").append('"').append(images[i]).append('"');
        }
        return b.append("]}]}").toString();
    }

    private HttpResponse<String> postHttp(String path, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** SSE frames as [event, data] pairs. */
    private static List<String[]> frames(String body) {
        List<String[]> out = new ArrayList<>();
        for (String frame : body.split("\n\n")) {
            String event = "message";
            StringBuilder data = new StringBuilder();
            for (String line : frame.split("\n")) {
                if (line.startsWith("event:")) {
                    event = line.substring(6).trim();
                } else if (line.startsWith("data:")) {
                    data.append(line.substring(5).replaceFirst("^ ", ""));
                }
            }
            if (!data.isEmpty()) {
                out.add(new String[] {event, data.toString()});
            }
        }
        return out;
    }

    @Test
    void chatJsonAnswersWithUsageTimingsAndImages() throws Exception {
        mvc.perform(post("/api/chat").contentType(MediaType.APPLICATION_JSON).content(chatBody("Describe this image.", SQUARE)))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.model").value("qwen2-vl-tiny-random"))
                .andExpect(jsonPath("$.architecture").value("QWEN2_VL"))
                .andExpect(jsonPath("$.text").isString())
                .andExpect(jsonPath("$.usage.completionTokens").value(6))
                .andExpect(jsonPath("$.usage.imageTokens").value(4))
                .andExpect(jsonPath("$.images[0].originalWidth").value(56))
                .andExpect(jsonPath("$.timings.ttftMillis").isNumber())
                .andExpect(jsonPath("$.finishReason").value("length"))
                .andExpect(jsonPath("$.boxes").isArray());
    }

    @Test
    void chatMultipartTakesUploadedImages() throws Exception {
        byte[] png = Files.readAllBytes(Fixtures.image("square_56x56.png"));
        mvc.perform(multipart("/api/chat").file(new MockMultipartFile("images", "a.png", "image/png", png))
                        .file(new MockMultipartFile("images", "b.png", "image/png", png))
                        .param("question", "这两张图有什么不同？").param("maxTokens", "3"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.images.length()").value(2))
                .andExpect(jsonPath("$.usage.completionTokens").value(3));
    }

    @Test
    void chatStreamSendsStartDeltasAndDone() throws Exception {
        String multiRound = "{\"messages\":[{\"role\":\"user\",\"text\":\"What is this?\",\"images\":[\"" + SQUARE + "\"]},"
                + "{\"role\":\"assistant\",\"text\":\"A square.\"},{\"role\":\"user\",\"text\":\"And its colour?\"}]}";
        HttpResponse<String> response = postHttp("/api/chat/stream", multiRound);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<String[]> frames = frames(response.body());
        assertThat(frames.get(0)[0]).isEqualTo("start");
        assertThat(frames.get(frames.size() - 1)[0]).isEqualTo("done");
        StringBuilder deltas = new StringBuilder();
        frames.stream().filter(f -> f[0].equals("delta")).forEach(f -> deltas.append(json.readTree(f[1]).get("text").asString()));
        assertThat(frames.stream().filter(f -> f[0].equals("delta")).count()).isBetween(1L, 6L);
        JsonNode done = json.readTree(frames.get(frames.size() - 1)[1]);
        assertThat(done.get("text").asString()).isEqualTo(deltas.toString());
        assertThat(done.get("usage").get("completionTokens").asInt()).isEqualTo(6);
    }

    @Test
    void streamErrorsBeforeStreamingAreHttpErrors() throws Exception {
        HttpResponse<String> response = postHttp("/api/chat/stream", chatBody("x", "data:text/plain;base64,aGVsbG8="));
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json.readTree(response.body()).get("error").asString()).isEqualTo("unsupported_content");
    }

    @Test
    void onlyDataUrlsAreAccepted() throws Exception {
        for (String url : List.of("file:///etc/passwd", "http://127.0.0.1:1/x.png", "/etc/passwd", "data:image/png,notbase64")) {
            mvc.perform(post("/api/chat").contentType(MediaType.APPLICATION_JSON).content(chatBody("x", url)))
                    .andExpect(status().isBadRequest())
                    .andExpect(jsonPath("$.error").value("unsupported_content"));
        }
    }

    @Test
    void refusesWhatIsNotAnImage() throws Exception {
        String notImage = "data:image/png;base64," + Base64.getEncoder().encodeToString("not an image at all".getBytes());
        mvc.perform(post("/api/chat").contentType(MediaType.APPLICATION_JSON).content(chatBody("x", notImage)))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.message").value(org.hamcrest.Matchers.containsString("Unsupported image format")));
    }

    @Test
    void limitsAreEnforced() throws Exception {
        mvc.perform(post("/api/chat").contentType(MediaType.APPLICATION_JSON).content(chatBody("x", SQUARE, SQUARE, SQUARE, SQUARE)))
                .andExpect(status().isContentTooLarge())
                .andExpect(jsonPath("$.error").value("too_large"))
                .andExpect(jsonPath("$.message").value(org.hamcrest.Matchers.containsString("demo.max-images")));
        byte[] big = new byte[300 * 1024];
        big[0] = (byte) 0x89;
        String bigUrl = "data:image/png;base64," + Base64.getEncoder().encodeToString(big);
        mvc.perform(post("/api/chat").contentType(MediaType.APPLICATION_JSON).content(chatBody("x", bigUrl)))
                .andExpect(status().isContentTooLarge())
                .andExpect(jsonPath("$.message").value(org.hamcrest.Matchers.containsString("demo.max-image-size")));
        // a JSON body over demo.max-request-size, refused before it is parsed (real HTTP: the filter sees Content-Length)
        HttpResponse<String> huge = postHttp("/api/chat", chatBody("x".repeat(1_200_000)));
        assertThat(huge.statusCode()).isEqualTo(413);
        HttpResponse<String> hugeOpenAi = postHttp("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\""
                + "x".repeat(1_200_000) + "\"}]}");
        assertThat(hugeOpenAi.statusCode()).isEqualTo(413);
        assertThat(json.readTree(hugeOpenAi.body()).get("error").get("code").asString()).isEqualTo("too_large");
    }

    @Test
    void imageTokensAreKnownBeforeSending() throws Exception {
        String notImage = "data:image/png;base64," + Base64.getEncoder().encodeToString("not an image".getBytes());
        mvc.perform(post("/api/images/cost").contentType(MediaType.APPLICATION_JSON)
                        .content("{\"images\":[\"" + SQUARE + "\",\"" + notImage + "\"]}"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.images[0].tokens").value(4))
                .andExpect(jsonPath("$.images[0].resizedWidth").value(56))
                .andExpect(jsonPath("$.images[0].originalHeight").value(56))
                .andExpect(jsonPath("$.images[0].error").doesNotExist())
                .andExpect(jsonPath("$.images[1].tokens").value(0))
                .andExpect(jsonPath("$.images[1].error").value(org.hamcrest.Matchers.containsString("Unsupported image format")))
                .andExpect(jsonPath("$.totalTokens").value(4));
        mvc.perform(post("/api/images/cost").contentType(MediaType.APPLICATION_JSON)
                        .content("{\"images\":[\"" + SQUARE + "\",\"" + SQUARE + "\",\"" + SQUARE + "\",\"" + SQUARE + "\"]}"))
                .andExpect(status().isContentTooLarge())
                .andExpect(jsonPath("$.param").value("images"));
    }

    @Test
    void regionIsWrittenInTheModelsMarkup() throws Exception {
        mvc.perform(post("/api/region").contentType(MediaType.APPLICATION_JSON)
                        .content("{\"image\":\"" + SQUARE + "\",\"x1\":14,\"y1\":0,\"x2\":42,\"y2\":28,\"label\":\"the top\"}"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.markup").value(
                        "<|object_ref_start|>the top<|object_ref_end|><|box_start|>(250,0),(750,500)<|box_end|>"))
                .andExpect(jsonPath("$.image.originalWidth").value(56));
        mvc.perform(post("/api/region").contentType(MediaType.APPLICATION_JSON)
                        .content("{\"image\":\"" + SQUARE + "\",\"x1\":14,\"y1\":10,\"x2\":4,\"y2\":28}"))
                .andExpect(status().isBadRequest());
    }

    @Test
    void statusPresetsAndPages() throws Exception {
        mvc.perform(get("/api/status"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.modelId").value("qwen2-vl-tiny-random"))
                .andExpect(jsonPath("$.loaded").value(true))
                .andExpect(jsonPath("$.randomWeights").value(true))
                .andExpect(jsonPath("$.device").value("cpu()"))
                .andExpect(jsonPath("$.limits.maxImages").value(3))
                // application.properties' spring.ai.qwen-vl.serving.* keys bind
                .andExpect(jsonPath("$.limits.maxImagePixels").value(16777216))
                // unset max-concurrent-requests: as many as share a decode step (max-batch-size, 4)
                .andExpect(jsonPath("$.limits.maxConcurrentRequests").value(4))
                .andExpect(jsonPath("$.limits.maxBatchSize").value(4))
                // Java decode (the Vector API is on under Surefire): the scheduler's current batch
                .andExpect(jsonPath("$.batch.maxBatchSize").value(4))
                .andExpect(jsonPath("$.batch.size").isNumber())
                .andExpect(jsonPath("$.batch.decoding").isNumber());
        mvc.perform(get("/api/presets"))
                .andExpect(jsonPath("$.architecture").value("QWEN2_VL"))
                .andExpect(jsonPath("$.presets[0].template").value(org.hamcrest.Matchers.containsString("{object}")));
        for (String page : List.of("/", "/grounding", "/region", "/compare", "/status")) {
            mvc.perform(get(page)).andExpect(status().isOk())
                    .andExpect(content().string(org.hamcrest.Matchers.containsString("Random weights — answers are gibberish")));
        }
        mvc.perform(get("/api/annotated/00000000-0000-0000-0000-000000000000/0")).andExpect(status().isNotFound());
        mvc.perform(get("/api/annotated/..%2F..%2Fetc%2Fpasswd/0")).andExpect(status().is4xxClientError());
    }

    @Test
    void openAiCompletionAddsQwenFields() throws Exception {
        String body = "{\"model\":\"anything\",\"max_tokens\":4,\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is this?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + SQUARE + "\"}}]}]}";
        mvc.perform(post("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).content(body))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.object").value("chat.completion"))
                .andExpect(jsonPath("$.id").value(org.hamcrest.Matchers.startsWith("chatcmpl-")))
                .andExpect(jsonPath("$.model").value("qwen2-vl-tiny-random"))
                .andExpect(jsonPath("$.choices[0].message.role").value("assistant"))
                .andExpect(jsonPath("$.choices[0].message.content").isString())
                .andExpect(jsonPath("$.choices[0].finish_reason").value("length"))
                .andExpect(jsonPath("$.usage.completion_tokens").value(4))
                .andExpect(jsonPath("$.usage.total_tokens").isNumber())
                .andExpect(jsonPath("$.qwen_vl.boxes").isArray())
                .andExpect(jsonPath("$.qwen_vl.images[0].tokens").value(4));
        mvc.perform(get("/v1/models")).andExpect(jsonPath("$.data[0].id").value("qwen2-vl-tiny-random"));
    }

    @Test
    void openAiStreamingFormat() throws Exception {
        String body = "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
                + "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + SQUARE + "\"}},{\"type\":\"text\",\"text\":\"Hi\"}]}]}";
        HttpResponse<String> response = postHttp("/v1/chat/completions", body);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<String[]> frames = frames(response.body());
        assertThat(frames).allSatisfy(f -> assertThat(f[0]).isEqualTo("message"));
        assertThat(frames.get(frames.size() - 1)[1]).isEqualTo("[DONE]");
        List<JsonNode> chunks = frames.subList(0, frames.size() - 1).stream().map(f -> json.readTree(f[1])).toList();
        assertThat(chunks).allSatisfy(c -> {
            assertThat(c.get("object").asString()).isEqualTo("chat.completion.chunk");
            assertThat(c.get("id").asString()).isEqualTo(chunks.get(0).get("id").asString());
        });
        assertThat(chunks.get(0).get("choices").get(0).get("delta").get("role").asString()).isEqualTo("assistant");
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.get("usage").get("completion_tokens").asInt()).isEqualTo(5);
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertThat(finish.get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        assertThat(finish.get("qwen_vl").get("boxes").isArray()).isTrue();
        long contentChunks = chunks.stream().filter(c -> c.get("choices").size() == 1
                && c.get("choices").get(0).get("delta").hasNonNull("content")
                && !c.get("choices").get(0).get("delta").get("content").asString().isEmpty()).count();
        assertThat(contentChunks).isBetween(1L, 5L);
    }

    @Test
    void openAiErrorsHaveOpenAiShape() throws Exception {
        mvc.perform(post("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                        .content("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}}]}]}"))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.error.type").value("invalid_request_error"))
                .andExpect(jsonPath("$.error.code").value("unsupported_content"))
                .andExpect(jsonPath("$.error.message").value(org.hamcrest.Matchers.containsString("data: URLs")));
        mvc.perform(post("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).content("{\"messages\":[]}"))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.error.message").exists());
        mvc.perform(post("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).content("not json"))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.error.type").value("invalid_request_error"));
        mvc.perform(post("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                        .content("{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}"))
                .andExpect(status().isBadRequest());
    }
}
