package io.github.qwenvl;

import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.image.SmartResize;
import io.github.qwenvl.testing.FixtureRoot;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Admission by cost: an image over the image-token limit is resized as the reference resizes it for the matching
 * {@code max_pixels}; a prompt over the prompt-token limit is refused before any engine work; an image's cost is
 * known from its header.
 */
class ServingLimitsTest {

    private static final List<QwenVlModel> OPEN = new ArrayList<>();

    private static QwenVlModel load(String set, ServingLimits limits) {
        QwenVlModel m = QwenVlModel.load(FixtureRoot.bundled().resolve(set).resolve("model"),
                QwenVlOptions.defaults().withServing(limits));
        OPEN.add(m);
        return m;
    }

    @AfterAll
    static void close() {
        OPEN.forEach(QwenVlModel::close);
    }

    private static Path photo() {
        return FixtureRoot.bundled().resolve("qwen2-vl-common/images/photo_640x480.jpg");
    }

    private static GenerationRequest describe(ImageSource image, GenerationOptions options) {
        return new GenerationRequest(List.of(ChatMessage.user(Content.image(image), Content.text("What is it?"))),
                options);
    }

    private static GenerationOptions greedy() {
        return GenerationOptions.builder().temperature(0.0).maxNewTokens(3).build();
    }

    @Test
    void anImageOverTheTokenLimitIsResizedAsTheReferenceDoesForThatMaxPixels() {
        int limit = 100;
        QwenVlModel capped = load("qwen2-vl-tiny", ServingLimits.NONE.withMaxImageTokens(limit));
        QwenVlModel plain = load("qwen2-vl-tiny", ServingLimits.NONE);
        ImageSource image = ImageSource.of(photo());

        ImageInfo info = capped.describeImage(image, null, 0);
        SmartResize.Size expected = SmartResize.compute(480, 640, 28, 3136, limit * 28L * 28);
        assertThat(info.resizedWidth()).isEqualTo(expected.width());
        assertThat(info.resizedHeight()).isEqualTo(expected.height());
        assertThat(info.tokens()).isLessThanOrEqualTo(limit).isEqualTo(expected.width() * expected.height() / (28 * 28));
        assertThat(plain.describeImage(image, null, 0).tokens()).isGreaterThan(limit);

        // the capped model answers exactly as the reference path with max_pixels = limit × 28²
        GenerationResult viaLimit = capped.generate(describe(image, greedy()));
        GenerationResult viaMaxPixels = plain.generate(describe(image,
                greedy().toBuilder().maxPixels(limit * 28 * 28).build()));
        assertThat(viaLimit.usage().imageTokens()).isEqualTo(info.tokens());
        assertThat(viaLimit.images()).isEqualTo(viaMaxPixels.images());
        assertThat(viaLimit.tokenIds()).containsExactly(viaMaxPixels.tokenIds());

        // a smaller request bound still wins
        assertThat(capped.describeImage(image, GenerationOptions.builder().maxPixels(40 * 28 * 28).build(), 0)
                .tokens()).isLessThanOrEqualTo(40);
    }

    /** Qwen3-VL resizes within the same limit, on its own grid (16-px patches merged 2 × 2: 32 px per token side). */
    @Test
    void qwen3VlImagesAreResizedWithinTheTokenLimitToo() {
        int limit = 30;
        QwenVlModel capped = load("qwen3-vl-tiny", ServingLimits.NONE.withMaxImageTokens(limit));
        QwenVlModel plain = load("qwen3-vl-tiny", ServingLimits.NONE);
        ImageSource image = ImageSource.of(photo());
        ImageInfo info = capped.describeImage(image, null, 0);
        SmartResize.Size expected = SmartResize.compute(480, 640, 32, 8192, limit * 32L * 32);
        assertThat(info.resizedWidth()).isEqualTo(expected.width());
        assertThat(info.resizedHeight()).isEqualTo(expected.height());
        assertThat(info.tokens()).isLessThanOrEqualTo(limit).isEqualTo(expected.width() * expected.height() / (32 * 32));
        assertThat(plain.describeImage(image, null, 0).tokens()).isGreaterThan(limit);
        GenerationResult viaLimit = capped.generate(describe(image, greedy()));
        assertThat(viaLimit.usage().imageTokens()).isEqualTo(info.tokens());
        assertThat(viaLimit.images().get(0)).isEqualTo(info);
    }

    @Test
    void theImageTokenLimitDefaultsPerDevice() {
        assertThat(ServingLimits.SERVING_DEFAULTS.imageTokensOn(false)).isEqualTo(ServingLimits.CPU_MAX_IMAGE_TOKENS);
        assertThat(ServingLimits.SERVING_DEFAULTS.imageTokensOn(true)).isNull();
        assertThat(ServingLimits.NONE.imageTokensOn(false)).isNull();
        QwenVlModel model = load("qwen2_5-vl-tiny", ServingLimits.SERVING_DEFAULTS);
        assertThat(model.maxImageTokens()).isEqualTo(ServingLimits.CPU_MAX_IMAGE_TOKENS);
        assertThat(QwenVlOptions.defaults().serving()).isEqualTo(ServingLimits.NONE);
    }

    @Test
    void aPromptOverThePromptTokenLimitIsRefusedBeforeAnyEngineWork() {
        QwenVlModel model = load("qwen2-vl-tiny", ServingLimits.NONE.withMaxPromptTokens(40));
        int tensors = model.liveTensors();
        List<String> seen = new ArrayList<>();
        CancellationToken token = CancellationToken.create().observe((c, i) -> seen.add(c.name()));
        assertThatThrownBy(() -> model.stream(describe(ImageSource.of(photo()), greedy()), d -> {
        }, token)).isInstanceOfSatisfying(RequestTooLargeException.class, e -> {
            assertThat(e).isInstanceOf(InvalidRequestException.class);
            assertThat(e.limit()).isEqualTo(40);
            assertThat(e.actual()).isGreaterThan(40);
            assertThat(e.property()).isEqualTo("spring.ai.qwen-vl.serving.max-prompt-tokens");
            assertThat(e.getMessage()).contains("40", String.valueOf(e.actual()), e.property());
        });
        assertThat(seen).as("no vision block, no prefill").isEmpty();
        assertThat(model.liveTensors()).isEqualTo(tensors);
        assertThat(model.generate(new GenerationRequest(List.of(ChatMessage.user("Hi")), greedy()))
                .usage().promptTokens()).isLessThanOrEqualTo(40);
    }

    @Test
    void qwenVlImagesCostTheirFixedTokensAndAreRefusedUnderALowerLimit() {
        QwenVlModel model = load("qwen-vl-tiny", ServingLimits.NONE.withMaxImageTokens(100));
        assertThatThrownBy(() -> model.generate(describe(ImageSource.of(photo()), greedy())))
                .isInstanceOfSatisfying(RequestTooLargeException.class, e -> {
                    assertThat(e.limit()).isEqualTo(100);
                    assertThat(e.actual()).isEqualTo(256);
                    assertThat(e.property()).isEqualTo("spring.ai.qwen-vl.serving.max-image-tokens");
                });
        assertThat(model.generate(new GenerationRequest(List.of(ChatMessage.user("Hi")), greedy())).text()).isNotNull();
    }

    /** A PNG whose header says 4000×4000 and whose pixel data is garbage: describable, not decodable. */
    @Test
    void anImagesCostIsReadFromItsHeaderWithoutDecodingIt() throws Exception {
        byte[] png = pngHeaderOnly(4000, 4000);
        QwenVlModel model = load("qwen2-vl-tiny", ServingLimits.NONE.withMaxImageTokens(ServingLimits.CPU_MAX_IMAGE_TOKENS));
        ImageInfo info = model.describeImage(ImageSource.of(png), null, 0);
        assertThat(info.originalWidth()).isEqualTo(4000);
        assertThat(info.originalHeight()).isEqualTo(4000);
        assertThat(info.tokens()).isLessThanOrEqualTo(ServingLimits.CPU_MAX_IMAGE_TOKENS).isGreaterThan(300);
        assertThatThrownBy(() -> model.generate(describe(ImageSource.of(png), greedy())))
                .isInstanceOf(QwenVlException.class);
    }

    private static byte[] pngHeaderOnly(int width, int height) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 0)
                .put((byte) 0).put((byte) 0).put((byte) 0).array());
        chunk(out, "IDAT", new byte[] {1, 2, 3, 4});
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws Exception {
        out.write(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
