package io.github.qwenvl.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.InvalidRequestException;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.checkpoint.Float32WeightCache;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.checkpoint.TensorStore;
import io.github.qwenvl.config.GenerationDefaults;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.engine.ModelBackend;
import io.github.qwenvl.engine.PreparedPrompt;
import io.github.qwenvl.generate.DecodingSession;
import io.github.qwenvl.image.ImageDecoder;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.image.RgbImage;
import io.github.qwenvl.nn.Trace;
import io.github.qwenvl.tokenizer.QwenTiktokenTokenizer;
import io.github.qwenvl.tokenizer.QwenTokenizer;
import io.github.qwenvl.tokenizer.SpecialTokens;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The original Qwen-VL / Qwen-VL-Chat ({@code QWenLMHeadModel}) behind {@link ModelBackend}: safetensors or
 * PyTorch {@code .bin} weights, {@code qwen.tiktoken}, chatml ({@code make_context}) or raw prompts, every image
 * squashed to image_size² and turned into 256 embeddings.
 *
 * <p>End of answer: Qwen-VL-Chat's {@code chat()} forces {@code <|endoftext|>} after {@code <|im_end|>} or
 * {@code <|im_start|>} (StopWordsLogitsProcessor); here both also end generation directly (same text, the forced
 * {@code <|endoftext|>} is just not generated).
 */
public final class QwenVlBackend implements ModelBackend<QwenVlBackend.Pixels> {

    /** The images of one prompt: (B, 3, S, S) values. */
    public record Pixels(float[] values, int count) {
    }

    private final ModelConfig config;
    private final QwenVlConfig qwenConfig;
    private final QwenVlOptions options;
    private final TensorStore store;
    private final NDManager manager;
    private final QwenVlNetwork network;
    private final QwenTiktokenTokenizer tokenizer;
    private final QwenVlChatFormat chatFormat;
    private SafetensorsCheckpoint float32Cache; // opt-in float32 weight cache entry, or null
    private final QwenVlImageProcessor imageProcessor;
    private final GenerationDefaults generationDefaults;

    public QwenVlBackend(ModelConfig config, NDManager parent, QwenVlOptions options) {
        this.config = config;
        this.options = options;
        Path dir = config.directory();
        this.qwenConfig = config.specific(QwenVlConfig.class);
        this.store = TensorStore.open(dir, options.tuning().mapLimitBytes());
        this.manager = parent.newSubManager();
        try {
            QwenVlWeights.refuseQuantized(store, config.raw());
            this.tokenizer = QwenTiktokenTokenizer.load(dir);
            checkSpecialIds(tokenizer, qwenConfig, dir);
            DataType matrixType = options.precision() == QwenVlOptions.Precision.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT32;
            if (options.weightCacheDir() != null && !manager.getDevice().isGpu() && matrixType == DataType.FLOAT32) {
                this.float32Cache = Float32WeightCache.open(store, options.weightCacheDir());
            }
            if (options.decodeMode().requiresJavaDecoder()) {
                org.slf4j.LoggerFactory.getLogger(QwenVlBackend.class).warn("decodeMode {} applies to Qwen2-VL and"
                        + " Qwen2.5-VL; Qwen-VL ({}) decodes on the engine", options.decodeMode(), dir.getFileName());
            }
            if (options.weightMode() == QwenVlOptions.WeightMode.WIDEN_PER_LAYER
                    || options.weightMode() == QwenVlOptions.WeightMode.BF16_MATMUL) {
                // its decode steps run on the engine: widening every layer at every step would be far slower
                org.slf4j.LoggerFactory.getLogger(QwenVlBackend.class).warn("weightMode {} applies to Qwen2-VL,"
                        + " Qwen2.5-VL and Qwen3-VL; Qwen-VL ({}) holds float32 copies", options.weightMode(),
                        dir.getFileName());
            }
            this.network = new QwenVlNetwork(qwenConfig, store, float32Cache, manager, matrixType, false,
                    options.threads() != null ? options.threads() : Runtime.getRuntime().availableProcessors(),
                    options.tuning());
            JsonObject generation = readJson(dir.resolve("generation_config.json"));
            String format = generation.has("chat_format") ? generation.get("chat_format").getAsString() : "chatml";
            int window = generation.has("max_window_size") ? generation.get("max_window_size").getAsInt() : 6144;
            if (!format.equals("chatml") && !format.equals("raw")) {
                throw new CheckpointException("Unknown chat_format '" + format + "' in generation_config.json of " + dir);
            }
            this.chatFormat = new QwenVlChatFormat(tokenizer, format.equals("chatml"), window)
                    .withSpecialTokensInText(options.serving().allowSpecialTokens());
            ImageDecoder decoder = new ImageDecoder().withMaxDecodePixels(options.maxImagePixels());
            this.imageProcessor = new QwenVlImageProcessor(decoder, qwenConfig.visual().imageSize());
            this.generationDefaults = defaults(config.generation(), tokenizer.specialTokens(), chatFormat.chatml());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The tokenizer's {@code <img>} must be config.json's {@code visual.image_start_id}. */
    static void checkSpecialIds(QwenTiktokenTokenizer tokenizer, QwenVlConfig config, Path dir) {
        int img = tokenizer.specialId(QwenTiktokenTokenizer.IMG_START);
        if (img != config.visual().imageStartId()) {
            throw new CheckpointException("config.json of " + dir + " says visual.image_start_id = "
                    + config.visual().imageStartId() + " but qwen.tiktoken puts <img> at " + img
                    + " (the vocabulary file does not belong to this checkpoint)");
        }
        if (tokenizer.vocabularySize() > config.vocabSize()) {
            throw new CheckpointException("qwen.tiktoken of " + dir + " has " + tokenizer.vocabularySize()
                    + " ids but the embedding only " + config.vocabSize() + " rows");
        }
    }

    private static GenerationDefaults defaults(GenerationDefaults d, SpecialTokens s, boolean chatml) {
        Set<Integer> eos = new LinkedHashSet<>();
        for (int id : d.eosTokenIds()) {
            eos.add(id);
        }
        eos.add(s.endOfText());
        if (chatml) {
            eos.add(s.imEnd());
            eos.add(s.imStart());
        }
        return new GenerationDefaults(d.doSample(), d.temperature(), d.topK(),
                d.topP(), d.repetitionPenalty(), d.maxNewTokens(), eos.stream().mapToInt(Integer::intValue).toArray(),
                d.padTokenId());
    }

    private static JsonObject readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return new JsonObject();
        }
        try {
            return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public QwenVlNetwork network() {
        return network;
    }

    public QwenVlChatFormat chatFormat() {
        return chatFormat;
    }

    public QwenVlImageProcessor imageProcessor() {
        return imageProcessor;
    }

    @Override
    public ModelArchitecture architecture() {
        return QwenVlSupport.QWEN_VL;
    }

    @Override
    public QwenTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public GenerationDefaults generationDefaults() {
        return generationDefaults;
    }

    @Override
    public Set<Integer> keptSpecialTokens() {
        SpecialTokens s = tokenizer.specialTokens();
        return Set.of(s.objectRefStart(), s.objectRefEnd(), s.boxStart(), s.boxEnd(), s.quadStart(), s.quadEnd());
    }

    @Override
    public int contextLength() {
        return options.contextLength() != null ? options.contextLength() : qwenConfig.maxPositionEmbeddings();
    }

    @Override
    public ImageInfo describeImage(ImageSource source, GenerationOptions generationOptions, int index) {
        var original = imageProcessor.decoder().dimensions(source); // the header only: nothing is decoded
        int s = imageProcessor.size();
        return new ImageInfo(index, original.width(), original.height(), s, s, qwenConfig.visual().nQueries());
    }

    @Override
    public PreparedPrompt<Pixels> prepare(List<ChatMessage> messages, GenerationOptions generationOptions) {
        long total = messages == null ? 0 : messages.stream().mapToLong(ChatMessage::imageCount).sum();
        if (total > options.maxImages()) {
            throw new InvalidRequestException("Too many images: at most " + options.maxImages() + " per request");
        }
        Integer maxImageTokens = options.serving().imageTokensOn(manager.getDevice().isGpu());
        if (total > 0 && maxImageTokens != null && maxImageTokens < qwenConfig.visual().nQueries()) {
            // every Qwen-VL image takes nQueries tokens: it cannot be made smaller
            throw new io.github.qwenvl.RequestTooLargeException("image tokens", maxImageTokens,
                    qwenConfig.visual().nQueries(), io.github.qwenvl.ServingLimits.MAX_IMAGE_TOKENS_PROPERTY);
        }
        QwenVlChatFormat.Encoded encoded;
        try {
            encoded = chatFormat.encode(messages);
        } catch (io.github.qwenvl.tokenizer.TokenizerException e) {
            throw new InvalidRequestException(e.getMessage());
        }
        return prepare(encoded);
    }

    /** Preprocesses the images of an encoded prompt. */
    public PreparedPrompt<Pixels> prepare(QwenVlChatFormat.Encoded encoded) {
        int s = imageProcessor.size();
        int per = 3 * s * s;
        List<ImageSource> images = encoded.images();
        float[] values = images.isEmpty() ? null : new float[images.size() * per];
        List<ImageInfo> infos = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            QwenVlImageProcessor.Processed p = imageProcessor.process(images.get(i));
            System.arraycopy(p.pixelValues(), 0, values, i * per, per);
            infos.add(new ImageInfo(i, p.originalWidth(), p.originalHeight(), s, s, qwenConfig.visual().nQueries()));
        }
        return new PreparedPrompt<>(encoded.inputIds(), List.copyOf(infos), images.size() * qwenConfig.visual().nQueries(),
                values == null ? null : new Pixels(values, images.size()));
    }

    @Override
    public DecodingSession open(PreparedPrompt<Pixels> prompt, int capacity) {
        Pixels pixels = prompt.pixels();
        if (pixels == null) {
            return new QwenVlDecodingSession(network, manager, prompt.inputIds(), null, capacity);
        }
        try (NDManager scope = manager.newSubManager()) {
            NDArray embeds = network.vision().forward(scope, pixels.values(), pixels.count(), Trace.NONE);
            return new QwenVlDecodingSession(network, manager, prompt.inputIds(), embeds, capacity);
        }
    }

    @Override
    public long parameterCount() {
        return network.parameterCount();
    }

    @Override
    public long weightBytes() {
        return network.weightBytes();
    }

    @Override
    public void close() {
        if (manager != null) {
            manager.close();
        }
        if (store != null) {
            store.close();
        }
        if (float32Cache != null) {
            float32Cache.close();
        }
    }
}
