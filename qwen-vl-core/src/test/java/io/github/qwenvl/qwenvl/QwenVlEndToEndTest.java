package io.github.qwenvl.qwenvl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The chat cases of every Qwen-VL model set through the public entry point: {@code QwenVlModel.load(dir)} and
 * {@code generate(...)} from messages and image files (greedy, the case's token budget) must give chat()'s ids.
 * A JPEG is handed over as Pillow decoded it (stored golden), because ImageIO's decoder differs by a few levels.
 */
class QwenVlEndToEndTest {

    private static final Map<Path, QwenVlModel> MODELS = new ConcurrentHashMap<>();

    @AfterAll
    static void closeModels() {
        MODELS.values().forEach(QwenVlModel::close);
        MODELS.clear();
    }

    static QwenVlModel model(FixtureSet set) {
        return MODELS.computeIfAbsent(QwenVlSets.modelDir(set), QwenVlModel::load);
    }

    /** The Qwen-VL checkpoint sets with a case holding a {@code chat()} result. */
    static List<FixtureSet> goldenSets(List<FixtureSet> sets) {
        return QwenVlSets.modelSets(sets).stream().filter(s -> QwenVlSets.cases(s).asList().stream()
                .anyMatch(c -> c.getAsJsonObject().has("chat") && c.getAsJsonObject().get("chat").isJsonObject())).toList();
    }

    @TestFactory
    Stream<DynamicTest> chatCases() {
        List<DynamicTest> tests = new ArrayList<>();
        List<FixtureSet> sets = goldenSets(io.github.qwenvl.testing.FixtureRoot.sets());
        for (FixtureSet set : sets) {
            for (JsonElement e : QwenVlSets.cases(set)) {
                JsonObject c = e.getAsJsonObject();
                if (c.has("chat") && c.get("chat").isJsonObject()) {
                    tests.add(DynamicTest.dynamicTest(set.name() + "/" + c.get("name").getAsString(), () -> run(set, c)));
                }
            }
        }
        io.github.qwenvl.testing.GoldenCoverage.eachSetHasTests("QwenVlEndToEndTest", sets, tests);
        return tests.stream();
    }

    private static ImageSource source(FixtureSet set, Path relative) {
        String name = relative.getFileName().toString();
        Path pre = QwenVlSets.preprocessFile(set);
        String decoded = "decoded_rgb_u8." + name;
        if (Goldens.file(pre).contains(decoded)) {
            long[] shape = Goldens.shape(pre, decoded);
            float[] u8 = Goldens.floats(pre, decoded);
            BufferedImage img = new BufferedImage((int) shape[1], (int) shape[0], BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < shape[0]; y++) {
                for (int x = 0; x < shape[1]; x++) {
                    int i = (int) ((y * shape[1] + x) * 3);
                    img.setRGB(x, y, (Math.round(u8[i]) << 16) | (Math.round(u8[i + 1]) << 8) | Math.round(u8[i + 2]));
                }
            }
            return ImageSource.of(img);
        }
        return ImageSource.of(set.dir().resolve(relative));
    }

    private static void run(FixtureSet set, JsonObject c) {
        QwenVlModel model = model(set);
        assertThat(model.architecture()).isEqualTo(ModelArchitecture.QWEN_VL);
        List<ChatMessage> messages = new ArrayList<>();
        for (ChatMessage m : QwenVlSets.messages(c.getAsJsonObject("prompt"))) {
            List<Content> parts = new ArrayList<>();
            for (Content p : m.content()) {
                if (p instanceof Content.Image img && img.source() instanceof ImageSource.File f) {
                    parts.add(Content.image(source(set, f.path())));
                } else {
                    parts.add(p);
                }
            }
            messages.add(new ChatMessage(m.role(), parts));
        }
        int[] expected = QwenVlSets.ints(c.getAsJsonObject("chat").getAsJsonArray("generated_ids"));
        GenerationResult r = model.generate(new GenerationRequest(messages, GenerationOptions.builder()
                .maxNewTokens(expected.length).temperature(0.0).build()));
        assertThat(r.usage().promptTokens()).isEqualTo(c.getAsJsonArray("input_ids").size());
        var s = model.tokenizer().specialTokens();
        // the reference forces <|endoftext|> after <|im_end|>: here generation ends at <|im_end|> itself
        int[] comparable = expected;
        if (expected.length >= 2 && expected[expected.length - 1] == s.endOfText()
                && (expected[expected.length - 2] == s.imEnd() || expected[expected.length - 2] == s.imStart())) {
            comparable = java.util.Arrays.copyOf(expected, expected.length - 1);
        }
        assertThat(r.tokenIds()).containsExactly(comparable);
        var kept = java.util.Set.of(s.objectRefStart(), s.objectRefEnd(), s.boxStart(), s.boxEnd(), s.quadStart(), s.quadEnd());
        int[] visible = java.util.Arrays.stream(r.tokenIds()).filter(id -> !model.tokenizer().isSpecial(id) || kept.contains(id)).toArray();
        assertThat(r.text()).isEqualTo(model.tokenizer().decode(visible, false));
        assertThat(model.liveTensors()).isPositive();
    }
}
