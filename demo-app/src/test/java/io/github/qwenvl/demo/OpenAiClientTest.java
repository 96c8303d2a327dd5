package io.github.qwenvl.demo;

import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.io.FileSystemResource;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.util.MimeTypeUtils;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real OpenAI client — Spring AI's {@link OpenAiChatModel}, built on the official OpenAI Java SDK — pointed at the
 * running demo over loopback: a call and a stream, each with an image (sent by the client as a data: URL).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "spring.ai.qwen-vl.chat.options.max-tokens=5")
@ActiveProfiles("tiny")
class OpenAiClientTest {

    @LocalServerPort
    int port;

    private OpenAiChatModel client() {
        return OpenAiChatModel.builder()
                .options(OpenAiChatOptions.builder()
                        .baseUrl("http://127.0.0.1:" + port + "/v1")
                        .apiKey("not-needed")
                        .model("qwen2-vl-tiny-random")
                        .maxRetries(0)
                        .streamUsage(true)
                        .build())
                .build();
    }

    private static Prompt prompt() {
        Media image = Media.builder().mimeType(MimeTypeUtils.IMAGE_PNG)
                .data(new FileSystemResource(Fixtures.image("square_56x56.png"))).build();
        return new Prompt(List.of(new SystemMessage("You are a helpful assistant."),
                UserMessage.builder().text("What is in this image?").media(image).build()));
    }

    @Test
    void callThroughTheOpenAiClient() {
        ChatResponse response = client().call(prompt());
        assertThat(response.getResult().getOutput().getText()).isNotEmpty();
        assertThat(response.getMetadata().getModel()).isEqualTo("qwen2-vl-tiny-random");
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isEqualTo(5);
        assertThat(response.getMetadata().getUsage().getPromptTokens()).isGreaterThan(4);
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualToIgnoringCase("length");
    }

    @Test
    void streamThroughTheOpenAiClient() {
        List<ChatResponse> chunks = client().stream(prompt()).collectList().block();
        assertThat(chunks).isNotEmpty();
        String text = chunks.stream().filter(c -> c.getResult() != null && c.getResult().getOutput().getText() != null)
                .map(c -> c.getResult().getOutput().getText()).reduce("", String::concat);
        assertThat(text).isNotEmpty();
        assertThat(chunks.stream().filter(c -> c.getMetadata().getUsage() != null
                && c.getMetadata().getUsage().getCompletionTokens() != null
                && c.getMetadata().getUsage().getCompletionTokens() == 5)).isNotEmpty();
    }
}
