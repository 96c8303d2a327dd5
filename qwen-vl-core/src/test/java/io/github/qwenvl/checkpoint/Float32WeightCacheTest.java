package io.github.qwenvl.checkpoint;

import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.bench.ModelSpec;
import io.github.qwenvl.bench.Qwen2VlSpec;
import io.github.qwenvl.bench.RandomCheckpoint;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.image.ImageSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The opt-in float32 weight cache: written once, mapped afterwards, same results as widening at load, and every
 * broken state (truncated entry, changed checkpoint, unusable folder) ends in a correct load.
 */
class Float32WeightCacheTest {

    @TempDir
    Path temp;

    @Test
    void firstLoadWritesTheEntryLaterLoadsMapItAndAnswersAreIdentical() throws IOException {
        for (ModelSpec spec : List.of(Qwen2VlSpec.TINY, Qwen2VlSpec.TINY_25, io.github.qwenvl.bench.QwenVlSpec.TINY)) {
            Path model = RandomCheckpoint.ensure(spec, temp.resolve("models"), RandomCheckpoint.fixtureRoot()).directory();
            Path cache = temp.resolve("cache-" + spec.name());
            String widened = answer(model, QwenVlOptions.defaults());

            String first = answer(model, QwenVlOptions.defaults().withWeightCacheDir(cache));
            Path entry = onlyEntry(cache);
            assertThat(entry.getFileName().toString()).startsWith(spec.name() + "-");
            FileTime written = Files.getLastModifiedTime(entry.resolve("model.safetensors"));
            try (SafetensorsCheckpoint source = SafetensorsCheckpoint.open(model);
                 SafetensorsCheckpoint cached = SafetensorsCheckpoint.open(entry)) {
                assertThat(cached.names()).isEqualTo(source.names()); // every tensor of these checkpoints is BF16
                for (String name : source.names()) {
                    assertThat(cached.info(name).dtype()).isEqualTo(TensorDType.F32);
                    // Arrays.equals: AssertJ's containsExactly is slow on arrays of a million elements
                    assertThat(java.util.Arrays.equals(cached.readFloats(name), source.readFloats(name))).as(name).isTrue();
                }
            }
            String second = answer(model, QwenVlOptions.defaults().withWeightCacheDir(cache));
            assertThat(Files.getLastModifiedTime(entry.resolve("model.safetensors"))).isEqualTo(written); // mapped, not rewritten
            assertThat(first).isEqualTo(widened);
            assertThat(second).isEqualTo(widened);
        }
    }

    @Test
    void truncatedEntryIsRewritten() throws IOException {
        Path model = RandomCheckpoint.ensure(Qwen2VlSpec.TINY, temp.resolve("models"), RandomCheckpoint.fixtureRoot()).directory();
        Path cache = temp.resolve("cache");
        String widened = answer(model, QwenVlOptions.defaults());
        answer(model, QwenVlOptions.defaults().withWeightCacheDir(cache));
        Path file = onlyEntry(cache).resolve("model.safetensors");
        long size = Files.size(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size / 2);
        }
        assertThat(answer(model, QwenVlOptions.defaults().withWeightCacheDir(cache))).isEqualTo(widened);
        assertThat(Files.size(file)).isEqualTo(size);
    }

    @Test
    void changedCheckpointGetsANewEntry() throws IOException {
        Path model = RandomCheckpoint.ensure(Qwen2VlSpec.TINY, temp.resolve("models"), RandomCheckpoint.fixtureRoot()).directory();
        Path cache = temp.resolve("cache");
        answer(model, QwenVlOptions.defaults().withWeightCacheDir(cache));
        Path weights = model.resolve("model.safetensors");
        Files.setLastModifiedTime(weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 5000));
        answer(model, QwenVlOptions.defaults().withWeightCacheDir(cache));
        try (Stream<Path> entries = Files.list(cache)) {
            assertThat(entries.filter(Files::isDirectory).count()).isEqualTo(2);
        }
    }

    @Test
    void unusableCacheFolderLoadsWithoutIt() throws IOException {
        Path model = RandomCheckpoint.ensure(Qwen2VlSpec.TINY, temp.resolve("models"), RandomCheckpoint.fixtureRoot()).directory();
        Path notAFolder = Files.writeString(temp.resolve("plain-file"), "x");
        String widened = answer(model, QwenVlOptions.defaults());
        assertThat(answer(model, QwenVlOptions.defaults().withWeightCacheDir(notAFolder.resolve("cache"))))
                .isEqualTo(widened);
    }

    @Test
    void float32CheckpointsNeedNoEntry() throws IOException {
        Path f32 = temp.resolve("f32");
        Files.createDirectories(f32);
        TestSafetensorsWriter.writeRaw(f32.resolve("model.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(f32)) {
            assertThat(Float32WeightCache.applies(ckpt)).isFalse();
            assertThat(Float32WeightCache.open(ckpt, temp.resolve("cache"))).isNull();
        }
        assertThat(temp.resolve("cache")).doesNotExist();
    }

    /** Greedy ids of an image request and of a text request, as one string. */
    private static String answer(Path model, QwenVlOptions options) {
        GenerationOptions greedy = GenerationOptions.builder().temperature(0.0).maxNewTokens(6).minNewTokens(6).build();
        BufferedImage image = new BufferedImage(56, 84, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.setRGB(x, y, (x * 4 << 16) | (y * 3 << 8) | ((x + y) & 0xFF));
            }
        }
        try (QwenVlModel m = QwenVlModel.load(model, options.withThreads(2))) {
            GenerationResult withImage = m.generate(new GenerationRequest(List.of(ChatMessage.user(
                    Content.image(ImageSource.of(image)), Content.text("What is this?"))), greedy));
            GenerationResult text = m.generate(GenerationRequest.of(ChatMessage.user("Hello there")).withOptions(greedy));
            return java.util.Arrays.toString(withImage.tokenIds()) + " " + java.util.Arrays.toString(text.tokenIds());
        }
    }

    private static Path onlyEntry(Path cache) throws IOException {
        try (Stream<Path> entries = Files.list(cache)) {
            List<Path> dirs = entries.filter(Files::isDirectory).toList();
            assertThat(dirs).hasSize(1);
            return dirs.get(0);
        }
    }
}
