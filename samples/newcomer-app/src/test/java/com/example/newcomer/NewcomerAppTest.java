package com.example.newcomer;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.spring.QwenVlResponseMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.io.FileSystemResource;
import org.springframework.util.MimeTypeUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's walk-through as a newcomer does it: a fresh application with spring-boot-starter-web and the
 * starter, the README's classes, and its tests on the tiny random-weight model of the {@code qwen-vl-test-model}
 * test dependency (answers are gibberish, every step of the real pipeline runs; nothing is downloaded).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "spring.ai.qwen-vl.model=classpath:qwen-vl-test-models/qwen2-vl-tiny",
        "spring.ai.qwen-vl.chat.options.max-tokens=8"})
@ExtendWith(OutputCaptureExtension.class)
class NewcomerAppTest {

    static final Path IMAGES = Path.of("../../fixtures/qwen2-vl-common/images");

    @LocalServerPort
    int port;

    @Autowired
    ChatClient.Builder chatClientBuilder;

    @Autowired
    InvoiceReader invoiceReader;

    @Autowired
    SignatureFinder signatureFinder;

    @Autowired
    ChatModel chatModel;

    @Test
    void startsWithoutWarningsFromTheStartersDependencies(CapturedOutput output) {
        assertThat(output).contains("Started NewcomerAppTest").doesNotContain("Failed to introspect")
                .doesNotContain("Failed to detect GPU count");
    }

    @Test
    void describeAnswersAnUploadedImage() throws Exception {
        String boundary = "newcomer-boundary";
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"square.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(IMAGES.resolve("square_56x56.png")));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/describe"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    }

    @Test
    void chatClientBuilderIsThereAndTheReadmeServicesAnswer() {
        assertThat(chatClientBuilder).isNotNull();
        assertThat(invoiceReader.totalOf(new FileSystemResource(IMAGES.resolve("square_56x56.png")))).isNotNull();
        assertThat(signatureFinder.signatures(new FileSystemResource(IMAGES.resolve("photo_640x480.jpg"))))
                .isNotNull();
    }

    @Test
    void responseMetadataIsTyped() {
        ChatResponse response = chatModel.call(new Prompt(UserMessage.builder().text("What is this?")
                .media(List.of(new Media(MimeTypeUtils.IMAGE_JPEG,
                        new FileSystemResource(IMAGES.resolve("photo_640x480.jpg")))))
                .build()));
        QwenVlResponseMetadata meta = QwenVlResponseMetadata.of(response);
        assertThat(meta.architecture()).contains(ModelArchitecture.QWEN2_VL);
        assertThat(meta.images()).singleElement().satisfies(image -> {
            assertThat(image.originalWidth()).isEqualTo(640);
            assertThat(image.originalHeight()).isEqualTo(480);
            assertThat(image.tokens()).isPositive();
        });
        assertThat(meta.imageTokens()).isEqualTo(meta.images().get(0).tokens());
        assertThat(meta.timings()).hasValueSatisfying(t -> assertThat(t.totalMillis()).isPositive());
        assertThat(meta.usage()).hasValueSatisfying(u -> assertThat(u.imageTokens()).isEqualTo(meta.imageTokens()));
        assertThat(meta.grounding()).isNotNull();
        assertThat(ResponseDetails.summary(response)).startsWith("QWEN2_VL image 0: 640x480 resized to");
    }
}
