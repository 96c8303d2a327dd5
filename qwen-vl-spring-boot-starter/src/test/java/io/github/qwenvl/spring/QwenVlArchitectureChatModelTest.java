package io.github.qwenvl.spring;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.grounding.GroundingResult;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.core.io.FileSystemResource;
import org.springframework.util.MimeTypeUtils;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every architecture the fixture root has a tiny checkpoint of is served by the same ChatModel: one and two
 * images, call and stream, image metadata and grounding. The original Qwen-VL runs here wherever the fixture
 * root holds its tiny checkpoint (model_type "qwen").
 */
class QwenVlArchitectureChatModelTest {

    @TestFactory
    Stream<DynamicTest> everyArchitectureThroughTheChatModel() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String type : List.of("qwen2_vl", "qwen2_5_vl", "qwen")) {
            TinyModels.find(type).ifPresent(dir -> tests.add(DynamicTest.dynamicTest(type, () -> check(dir))));
        }
        assertThat(tests).isNotEmpty();
        return tests.stream();
    }

    /** The builder copies the caller's default options: filling in the model id never writes into the caller's object. */
    @org.junit.jupiter.api.Test
    void theCallersDefaultOptionsAreLeftAsTheyWere() {
        QwenVlChatOptions mine = QwenVlChatOptions.builder().maxTokens(4).build();
        try (QwenVlModel engine = QwenVlModel.load(TinyModels.qwen2vl())) {
            QwenVlChatModel model = QwenVlChatModel.builder().model(engine).defaultOptions(mine).build();
            assertThat(mine.getModel()).isNull();
            assertThat(model.getDefaultOptions().getModel()).isNotNull();
            assertThat(((QwenVlChatOptions) model.getDefaultOptions()).getMaxTokens()).isEqualTo(4);
            mine.setMaxTokens(8);
            assertThat(((QwenVlChatOptions) model.getDefaultOptions()).getMaxTokens()).isEqualTo(4);
        }
    }

    private static Media image(int i) {
        Path p = TinyModels.images().get(i % TinyModels.images().size());
        return Media.builder().mimeType(p.toString().endsWith(".jpg") ? MimeTypeUtils.IMAGE_JPEG : MimeTypeUtils.IMAGE_PNG)
                .data(new FileSystemResource(p)).build();
    }

    private void check(Path dir) {
        try (QwenVlModel engine = QwenVlModel.load(dir)) {
            QwenVlChatModel model = QwenVlChatModel.builder().model(engine)
                    .defaultOptions(QwenVlChatOptions.builder().temperature(0.0).maxTokens(6).build()).build();
            Prompt two = new Prompt(UserMessage.builder().text("What are the differences?")
                    .media(List.of(image(0), image(1))).build());
            ChatResponse called = model.call(two);
            List<ImageInfo> images = called.getMetadata().get(QwenVlMetadata.IMAGES);
            assertThat(images).hasSize(2);
            assertThat(called.getMetadata().getUsage().getPromptTokens()).isGreaterThan(images.get(0).tokens() + images.get(1).tokens());
            StringBuilder streamed = new StringBuilder();
            model.stream(two).toStream().forEach(c -> streamed.append(c.getResult().getOutput().getText()));
            assertThat(streamed.toString()).isEqualTo(called.getResult().getOutput().getText());

            // grounding in the architecture's own markup maps onto the second image's original pixels
            ModelArchitecture arch = engine.architecture();
            ImageInfo second = images.get(1);
            String region = QwenVlGrounding.region(arch, second, 0, 0, second.originalWidth() / 2.0, second.originalHeight() / 2.0, "part");
            GroundingResult parsed = QwenVlGrounding.parse("Here: " + region, arch, images);
            assertThat(parsed.boxes()).hasSize(1);
            assertThat(parsed.boxes().get(0).imageIndex()).isEqualTo(1);
            assertThat(parsed.boxes().get(0).pixels().x2()).isCloseTo(second.originalWidth() / 2.0,
                    org.assertj.core.data.Offset.offset(second.originalWidth() / 100.0 + 1));
        }
    }
}
