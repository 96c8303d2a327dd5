package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.InvalidRequestException;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.checkpoint.Float32WeightCache;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.GenerationDefaults;
import io.github.qwenvl.config.ImageProcessorConfig;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.engine.ModelBackend;
import io.github.qwenvl.engine.PreparedPrompt;
import io.github.qwenvl.generate.DecodeBatcher;
import io.github.qwenvl.generate.DecodingSession;
import io.github.qwenvl.image.ImageDecoder;
import io.github.qwenvl.image.ProcessedImage;
import io.github.qwenvl.image.Qwen2VlImageProcessor;
import io.github.qwenvl.prompt.ChatTemplateOptions;
import io.github.qwenvl.prompt.EncodedPrompt;
import io.github.qwenvl.prompt.PromptEncoder;
import io.github.qwenvl.tokenizer.Qwen2Tokenizer;
import io.github.qwenvl.tokenizer.QwenTokenizer;

import java.util.ArrayList;
import java.util.List;

/** Qwen2-VL and Qwen2.5-VL behind the architecture-neutral {@link ModelBackend}. */
public final class Qwen2VlBackend implements ModelBackend<Qwen2VlBackend.Pixels> {

    /**
     * Image input of one prompt: its images, resized and not yet made into float32 patch rows (the vision pass writes
     * them into its input tensor), and their grids.
     */
    public record Pixels(List<ProcessedImage> images, List<ImageGrid> grids) {
    }

    private final ModelConfig config;
    private final Qwen2VlConfig qwen2;
    private final SafetensorsCheckpoint checkpoint;
    private SafetensorsCheckpoint float32Cache; // opt-in float32 weight cache entry, or null
    private final NDManager manager;
    private final Qwen2VlNetwork network;
    private final Qwen2Tokenizer tokenizer;
    private final Qwen2VlImageProcessor imageProcessor;
    private final PromptEncoder promptEncoder;
    private final QwenVlOptions options;
    private final long parameterCount;
    private final long weightBytes;
    /** Batches the running sequences' Java decode steps; null without Java decode. */
    private DecodeBatcher<Qwen2JavaDecoder.State> batcher;

    public Qwen2VlBackend(ModelConfig config, NDManager parent, QwenVlOptions options) {
        this.config = config;
        this.qwen2 = Qwen2VlConfig.of(config);
        this.options = options;
        this.checkpoint = SafetensorsCheckpoint.open(config.directory(), options.tuning().mapLimitBytes());
        this.manager = parent.newSubManager();
        try {
            DataType matrixType = options.precision() == QwenVlOptions.Precision.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT32;
            if (options.weightCacheDir() != null && !manager.getDevice().isGpu() && matrixType == DataType.FLOAT32) {
                this.float32Cache = Float32WeightCache.open(checkpoint, options.weightCacheDir());
            }
            this.network = new Qwen2VlNetwork(config, checkpoint, float32Cache, manager, matrixType,
                    options.decodeMode(), options.threads(), options.weightMode(), options.tuning());
            this.batcher = decodeBatcher(network.javaDecoder(), network.decodeMode(), options,
                    config.architecture().architectureClass());
            this.parameterCount = network.parameterCount();
            this.weightBytes = network.weightBytes();
            this.tokenizer = Qwen2Tokenizer.load(config.directory());
            ImageDecoder decoder = new ImageDecoder().withMaxDecodePixels(options.maxImagePixels());
            this.imageProcessor = new Qwen2VlImageProcessor(config.imageProcessor(), decoder);
            this.promptEncoder = new PromptEncoder(tokenizer, new io.github.qwenvl.prompt.Qwen2ChatTemplate(),
                    options.serving().allowSpecialTokens());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public ModelArchitecture architecture() {
        return config.architecture();
    }

    @Override
    public QwenTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public GenerationDefaults generationDefaults() {
        return config.generation();
    }

    @Override
    public java.util.Set<Integer> keptSpecialTokens() {
        return groundingTokens(tokenizer);
    }

    /**
     * The grounding markup tokens a Qwen2-style tokenizer has (object ref, box and quad start/end): kept in answers so
     * boxes can be parsed.
     */
    public static java.util.Set<Integer> groundingTokens(QwenTokenizer tokenizer) {
        var s = tokenizer.specialTokens();
        java.util.Set<Integer> kept = new java.util.HashSet<>();
        for (int id : new int[] {s.objectRefStart(), s.objectRefEnd(), s.boxStart(), s.boxEnd(), s.quadStart(), s.quadEnd()}) {
            if (id >= 0) {
                kept.add(id);
            }
        }
        return java.util.Set.copyOf(kept);
    }

    @Override
    public int contextLength() {
        return options.contextLength() != null ? options.contextLength() : qwen2.text().maxPositionEmbeddings();
    }

    /**
     * {min, max} resized-area bounds: request options over preprocessor_config.json, the maximum then lowered to the
     * image-token limit ({@link io.github.qwenvl.ServingLimits#maxImageTokens}) as {@code max_pixels}, so that an
     * image over it is resized by the same smart_resize the reference runs with that {@code max_pixels}.
     */
    private long[] pixelBounds(GenerationOptions generationOptions) {
        return pixelBounds(config.imageProcessor(), generationOptions,
                options.serving().imageTokensOn(manager.getDevice().isGpu()));
    }

    /**
     * {min, max} resized-area bounds of a dynamic-resolution architecture: the request's over preprocessor_config.json,
     * the max lowered to {@code maxImageTokens} tokens' worth of patches when there is such a limit.
     */
    public static long[] pixelBounds(ImageProcessorConfig pc, GenerationOptions generationOptions,
                                     Integer maxImageTokens) {
        long minPixels = generationOptions.minPixels() != null ? generationOptions.minPixels() : pc.minPixels();
        long maxPixels = generationOptions.maxPixels() != null ? generationOptions.maxPixels() : pc.maxPixels();
        if (minPixels < 1 || maxPixels < minPixels) {
            throw new InvalidRequestException("Invalid pixel bounds: minPixels " + minPixels + ", maxPixels " + maxPixels);
        }
        if (maxImageTokens != null) {
            long unit = (long) pc.patchSize() * pc.mergeSize();
            maxPixels = Math.min(maxPixels, maxImageTokens * unit * unit);
            minPixels = Math.min(minPixels, maxPixels);
        }
        return new long[] {minPixels, maxPixels};
    }

    @Override
    public ImageInfo describeImage(io.github.qwenvl.image.ImageSource source, GenerationOptions generationOptions, int index) {
        long[] bounds = pixelBounds(generationOptions);
        var original = imageProcessor.decoder().dimensions(source); // the header only: nothing is decoded
        return Qwen2VlSupport.dynamicResolution(config.imageProcessor(), index, original.width(), original.height(),
                bounds[0], bounds[1]);
    }

    @Override
    public PreparedPrompt<Pixels> prepare(List<ChatMessage> messages, GenerationOptions generationOptions) {
        long[] bounds = pixelBounds(generationOptions);
        long minPixels = bounds[0];
        long maxPixels = bounds[1];
        List<ProcessedImage> processed = new ArrayList<>();
        for (ChatMessage m : messages) {
            for (Content c : m.content()) {
                if (c instanceof Content.Image image) {
                    if (processed.size() >= options.maxImages()) {
                        throw new InvalidRequestException("Too many images: at most " + options.maxImages() + " per request");
                    }
                    processed.add(imageProcessor.process(image.source(), minPixels, maxPixels));
                }
            }
        }
        int[] counts = new int[processed.size()];
        List<ImageInfo> infos = new ArrayList<>();
        List<ImageGrid> grids = new ArrayList<>();
        for (int i = 0; i < processed.size(); i++) {
            ProcessedImage p = processed.get(i);
            counts[i] = p.numLlmTokens();
            infos.add(new ImageInfo(i, p.originalWidth(), p.originalHeight(), p.resizedWidth(), p.resizedHeight(), counts[i]));
            grids.add(new ImageGrid(p.gridT(), p.gridH(), p.gridW()));
        }
        boolean visionId = generationOptions.addVisionId() != null && generationOptions.addVisionId();
        EncodedPrompt encoded = promptEncoder.encode(messages, counts, new ChatTemplateOptions(true, visionId));
        Pixels pixels = null;
        if (!processed.isEmpty()) {
            pixels = new Pixels(List.copyOf(processed), List.copyOf(grids));
        }
        int imageTokens = 0;
        for (int c : counts) {
            imageTokens += c;
        }
        return new PreparedPrompt<>(encoded.inputIds(), List.copyOf(infos), imageTokens, pixels);
    }

    @Override
    public DecodingSession open(PreparedPrompt<Pixels> prompt, int capacity) {
        Pixels pixels = prompt.pixels();
        if (pixels == null) {
            return new Qwen2VlDecodingSession(network, manager, prompt.inputIds(), List.of(), null, capacity,
                    network.decodeMode(), batcher);
        }
        int patchDim = network.vision().config().patchDim();
        for (ProcessedImage image : pixels.images()) {
            if (image.patchDim() != patchDim) {
                throw new IllegalStateException("preprocessor_config.json makes patches of " + image.patchDim()
                        + " values, the vision tower embeds patches of " + patchDim);
            }
        }
        try (NDManager visionScope = manager.newSubManager()) {
            NDArray embeds = network.vision().forward(visionScope, pixels.grids(), values -> {
                for (ProcessedImage image : pixels.images()) {
                    image.writePixelValues(values);
                }
            });
            // the session adopts the embeddings; everything else of the vision pass is freed here
            return new Qwen2VlDecodingSession(network, manager, prompt.inputIds(), pixels.grids(), embeds, capacity,
                    network.decodeMode(), batcher);
        }
    }

    public Qwen2VlNetwork network() {
        return network;
    }

    @Override
    public DecodeBatcher<?> decodeBatcher() {
        return batcher;
    }

    /**
     * The batcher of a Java decoder's steps (batches of up to {@link io.github.qwenvl.ServingLimits#maxBatchSize()}
     * through its batched step, the grace of {@link io.github.qwenvl.EngineTuning#batchGraceNanos()}), or null
     * when decode steps do not run in Java ({@code decoder} null, or the ENGINE mode).
     */
    public static DecodeBatcher<Qwen2JavaDecoder.State> decodeBatcher(Qwen2JavaDecoder decoder,
                                                                     QwenVlOptions.DecodeMode decodeMode,
                                                                     QwenVlOptions options, String name) {
        if (decoder == null || decodeMode == QwenVlOptions.DecodeMode.ENGINE) {
            return null;
        }
        return new DecodeBatcher<>(name, options.serving().maxBatchSize(), options.tuning().batchGraceNanos(),
                (states, tokens, positions) ->
                decoder.step(states.toArray(new Qwen2JavaDecoder.State[0]), tokens, positions));
    }

    @Override
    public long parameterCount() {
        return parameterCount;
    }

    @Override
    public long weightBytes() {
        return weightBytes;
    }

    @Override
    public void close() {
        if (batcher != null) {
            batcher.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (network != null) {
            network.close();
        }
        manager.close();
        checkpoint.close();
        if (float32Cache != null) {
            float32Cache.close();
        }
    }
}
