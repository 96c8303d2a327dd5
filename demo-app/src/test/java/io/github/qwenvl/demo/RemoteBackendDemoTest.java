package io.github.qwenvl.demo;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.grounding.GroundingResult;
import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlChatOptions;
import io.github.qwenvl.spring.QwenVlGrounding;
import io.github.qwenvl.spring.QwenVlMetadata;
import io.github.qwenvl.spring.remote.RemoteQwenVlBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.io.FileSystemResource;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.util.MimeTypeUtils;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The demo as an OpenAI-compatible server for another instance of itself: demo A runs the tiny model locally
 * ({@code tiny} profile, random port); this test's demo B runs with {@code spring.ai.qwen-vl.backend=remote} pointed
 * at A. B's greedy answers — text, usage, finish reason, images as the model saw them, grounding — equal what A's own
 * local ChatModel answers, called and streamed, and B's pages and APIs work unchanged.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.ai.qwen-vl.backend=remote", "spring.ai.qwen-vl.remote.max-retries=0"})
@ActiveProfiles("tiny")
class RemoteBackendDemoTest {

    private static ConfigurableApplicationContext server;

    @DynamicPropertySource
    static void remoteServer(DynamicPropertyRegistry registry) {
        if (server == null) {
            server = new SpringApplicationBuilder(DemoApplication.class).profiles("tiny")
                    .properties("server.port=0", "spring.ai.qwen-vl.serving.max-concurrent-requests=2",
                            // the remote side sizes images by the checkpoint's bounds: the server uses them too
                            "spring.ai.qwen-vl.serving.max-image-tokens=16384").run();
        }
        String port = server.getEnvironment().getProperty("local.server.port");
        registry.add("spring.ai.qwen-vl.remote.base-url", () -> "http://127.0.0.1:" + port);
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    @Autowired
    ChatModel remote;

    @LocalServerPort
    int port;

    private static ChatModel local() {
        return server.getBean(ChatModel.class);
    }

    private static Prompt prompt(String question, String... images) {
        List<Media> media = java.util.Arrays.stream(images).map(name -> Media.builder().mimeType(
                name.endsWith(".jpg") ? MimeTypeUtils.IMAGE_JPEG : MimeTypeUtils.IMAGE_PNG)
                .data(new FileSystemResource(Fixtures.image(name))).build()).toList();
        return new Prompt(List.of(new SystemMessage("You are a helpful assistant."),
                UserMessage.builder().text(question).media(media).build()),
                QwenVlChatOptions.builder().temperature(0.0).maxTokens(12).build());
    }

    private static void assertSameAnswer(ChatResponse remote, ChatResponse local) {
        assertThat(remote.getResult().getOutput().getText()).isEqualTo(local.getResult().getOutput().getText());
        assertThat(remote.getMetadata().getUsage().getPromptTokens()).isEqualTo(local.getMetadata().getUsage().getPromptTokens());
        assertThat(remote.getMetadata().getUsage().getCompletionTokens())
                .isEqualTo(local.getMetadata().getUsage().getCompletionTokens());
        assertThat(remote.getResult().getMetadata().getFinishReason()).isEqualTo(local.getResult().getMetadata().getFinishReason());
        assertThat((Object) remote.getMetadata().get(QwenVlMetadata.IMAGES)).isEqualTo(local.getMetadata().get(QwenVlMetadata.IMAGES));
        assertThat((Object) remote.getMetadata().get(QwenVlMetadata.IMAGE_TOKENS))
                .isEqualTo(local.getMetadata().get(QwenVlMetadata.IMAGE_TOKENS));
        GroundingResult remoteBoxes = QwenVlGrounding.from(remote);
        GroundingResult localBoxes = QwenVlGrounding.from(local);
        assertThat(remoteBoxes.boxes()).isEqualTo(localBoxes.boxes());
        assertThat(remoteBoxes.cleanText()).isEqualTo(localBoxes.cleanText());
    }

    @Test
    void theRemoteBeanAnswersLikeTheLocalModel() {
        assertThat(((QwenVlChatModel) remote).backend()).isInstanceOf(RemoteQwenVlBackend.class);
        assertThat(((QwenVlChatModel) local()).backend().kind()).isEqualTo("local");
        for (Prompt p : List.of(prompt("What is in this image?", "square_56x56.png"),
                prompt("Compare the two pictures.", "photo_640x480.jpg", "strip_1000x200.png"),
                prompt("Say hello."))) {
            ChatResponse expected = local().call(p);
            assertThat(expected.getMetadata().getUsage().getCompletionTokens()).isPositive();
            assertSameAnswer(remote.call(p), expected);
        }
    }

    @Test
    void streamedAnswersEqualTheLocalOnes() {
        Prompt p = prompt("Describe the picture.", "portrait_333x517.png");
        ChatResponse expected = local().call(p);
        List<ChatResponse> chunks = remote.stream(p).collectList().block();
        StringBuilder text = new StringBuilder();
        chunks.forEach(c -> text.append(c.getResult().getOutput().getText()));
        assertThat(text.toString()).isEqualTo(expected.getResult().getOutput().getText());
        ChatResponse last = chunks.get(chunks.size() - 1);
        assertThat(last.getMetadata().getUsage().getPromptTokens()).isEqualTo(expected.getMetadata().getUsage().getPromptTokens());
        assertThat(last.getMetadata().getUsage().getCompletionTokens())
                .isEqualTo(expected.getMetadata().getUsage().getCompletionTokens());
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo(expected.getResult().getMetadata().getFinishReason());
        assertThat(QwenVlGrounding.from(last).boxes()).isEqualTo(QwenVlGrounding.from(expected).boxes());
        assertThat((Object) last.getMetadata().get(QwenVlMetadata.IMAGES)).isEqualTo(expected.getMetadata().get(QwenVlMetadata.IMAGES));
    }

    @Test
    void theDemoPagesAndApisWorkOnTheRemoteBackend() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        JsonMapper json = JsonMapper.builder().build();
        for (String page : List.of("/", "/grounding", "/region", "/compare", "/status")) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + page)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(page).isEqualTo(200);
        }
        JsonNode status = json.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/status"))
                .build(), HttpResponse.BodyHandlers.ofString()).body());
        assertThat(status.get("backend").asString()).isEqualTo("remote");
        assertThat(status.get("architecture").asString()).isEqualTo("QWEN2_VL");
        String body = "{\"messages\":[{\"role\":\"user\",\"text\":\"Describe this image.\",\"images\":[\""
                + Fixtures.dataUrl("square_56x56.png") + "\"]}],\"options\":{\"maxTokens\":5,\"temperature\":0}}";
        HttpResponse<String> chat = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/chat"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        JsonNode answer = json.readTree(chat.body());
        assertThat(answer.get("usage").get("completionTokens").asInt()).isEqualTo(5);
        assertThat(answer.get("images").get(0).get("originalWidth").asInt()).isEqualTo(56);
        ImageInfo seen = ((QwenVlChatModel) remote).backend().describeImage(
                io.github.qwenvl.image.ImageSource.of(Fixtures.image("square_56x56.png")), null, 0);
        assertThat(answer.get("images").get(0).get("resizedWidth").asInt()).isEqualTo(seen.resizedWidth());
    }
}
