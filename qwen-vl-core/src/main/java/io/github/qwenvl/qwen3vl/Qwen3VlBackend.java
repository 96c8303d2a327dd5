package io.github.qwenvl.qwen3vl;

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
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.engine.ModelBackend;
import io.github.qwenvl.engine.PreparedPrompt;
import io.github.qwenvl.generate.DecodeBatcher;
import io.github.qwenvl.generate.DecodingSession;
import io.github.qwenvl.qwen2vl.Qwen2JavaDecoder;
import io.github.qwenvl.image.ImageDecoder;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.image.ProcessedImage;
import io.github.qwenvl.image.Qwen2VlImageProcessor;
import io.github.qwenvl.prompt.ChatTemplateOptions;
import io.github.qwenvl.prompt.EncodedPrompt;
import io.github.qwenvl.prompt.PromptEncoder;
import io.github.qwenvl.prompt.Qwen3ChatTemplate;
import io.github.qwenvl.qwen2vl.ImageGrid;
import io.github.qwenvl.qwen2vl.Qwen2VlBackend;
import io.github.qwenvl.tokenizer.Qwen2Tokenizer;
import io.github.qwenvl.tokenizer.QwenTokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Qwen3-VL behind the architecture-neutral {@link ModelBackend}: images resized as its preprocessor_config.json asks
 * (factor 32), the Qwen3-VL chat template (no default system prompt), the vision tower with DeepStack, the Qwen3
 * decoder. The image input is the same as Qwen2-VL's: resized images and their grids.
 */
public final class Qwen3VlBackend implements ModelBackend<Qwen2VlBackend.Pixels> {

    private final ModelConfig config;
    private final Qwen3VlConfig qwen3;
    private final SafetensorsCheckpoint checkpoint;
    private SafetensorsCheckpoint float32Cache;
    private final NDManager manager;
    private final Qwen3VlNetwork network;
    private final Qwen2Tokenizer tokenizer;
    private final Qwen2VlImageProcessor imageProcessor;
    private final PromptEncoder promptEncoder;
    private final QwenVlOptions options;
    /** Batches the running sequences' Java decode steps; null without Java decode. */
    private final DecodeBatcher<Qwen2JavaDecoder.State> batcher;

    public Qwen3VlBackend(ModelConfig config, NDManager parent, QwenVlOptions options) {
        this.config = config;
        this.qwen3 = Qwen3VlConfig.of(config);
        this.options = options;
        this.checkpoint = SafetensorsCheckpoint.open(config.directory());
        this.manager = parent.newSubManager();
        Qwen3VlNetwork net = null;
        Qwen2Tokenizer tok = null;
        try {
            DataType matrixType = options.precision() == QwenVlOptions.Precision.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT32;
            if (options.weightCacheDir() != null && !manager.getDevice().isGpu() && matrixType == DataType.FLOAT32) {
                this.float32Cache = Float32WeightCache.open(checkpoint, options.weightCacheDir());
            }
            net = new Qwen3VlNetwork(config, checkpoint, float32Cache, manager, matrixType, options.decodeMode(),
                    options.threads(), options.weightMode(), options.tuning());
            tok = Qwen2Tokenizer.load(config.directory());
            ImageDecoder decoder = new ImageDecoder().withMaxDecodePixels(options.maxImagePixels());
            this.imageProcessor = new Qwen2VlImageProcessor(config.imageProcessor(), decoder);
            this.promptEncoder = new PromptEncoder(tok, new Qwen3ChatTemplate());
        } catch (RuntimeException e) {
            if (tok != null) {
                tok.close();
            }
            if (net != null) {
                net.close();
            }
            manager.close();
            checkpoint.close();
            if (float32Cache != null) {
                float32Cache.close();
            }
            throw e;
        }
        this.network = net;
        this.tokenizer = tok;
        this.batcher = Qwen2VlBackend.decodeBatcher(net.javaDecoder(), net.decodeMode(),
                options, config.architecture().architectureClass());
    }

    @Override
    public DecodeBatcher<?> decodeBatcher() {
        return batcher;
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
    public Set<Integer> keptSpecialTokens() {
        return Qwen2VlBackend.groundingTokens(tokenizer);
    }

    @Override
    public int contextLength() {
        return options.contextLength() != null ? options.contextLength() : qwen3.text().maxPositionEmbeddings();
    }

    /** {min, max} resized-area bounds: request options over preprocessor_config.json. */
    /** The request's bounds over the checkpoint's, capped by the image-token limit as for Qwen2-VL. */
    private long[] pixelBounds(GenerationOptions generationOptions) {
        return Qwen2VlBackend.pixelBounds(config.imageProcessor(), generationOptions,
                options.serving().imageTokensOn(manager.getDevice().isGpu()));
    }

    @Override
    public ImageInfo describeImage(ImageSource source, GenerationOptions generationOptions, int index) {
        long[] bounds = pixelBounds(generationOptions);
        var original = imageProcessor.decoder().dimensions(source); // the header only: nothing is decoded
        return io.github.qwenvl.qwen2vl.Qwen2VlSupport.dynamicResolution(config.imageProcessor(), index,
                original.width(), original.height(), bounds[0], bounds[1]);
    }

    @Override
    public PreparedPrompt<Qwen2VlBackend.Pixels> prepare(List<ChatMessage> messages, GenerationOptions generationOptions) {
        long[] bounds = pixelBounds(generationOptions);
        List<ProcessedImage> processed = new ArrayList<>();
        for (ChatMessage m : messages) {
            for (Content c : m.content()) {
                if (c instanceof Content.Image image) {
                    if (processed.size() >= options.maxImages()) {
                        throw new InvalidRequestException("Too many images: at most " + options.maxImages() + " per request");
                    }
                    processed.add(imageProcessor.process(image.source(), bounds[0], bounds[1]));
                }
            }
        }
        int[] counts = new int[processed.size()];
        List<ImageInfo> infos = new ArrayList<>();
        List<ImageGrid> grids = new ArrayList<>();
        int imageTokens = 0;
        for (int i = 0; i < processed.size(); i++) {
            ProcessedImage p = processed.get(i);
            counts[i] = p.numLlmTokens();
            imageTokens += counts[i];
            infos.add(new ImageInfo(i, p.originalWidth(), p.originalHeight(), p.resizedWidth(), p.resizedHeight(), counts[i]));
            grids.add(new ImageGrid(p.gridT(), p.gridH(), p.gridW()));
        }
        boolean visionId = generationOptions.addVisionId() != null && generationOptions.addVisionId();
        EncodedPrompt encoded = promptEncoder.encode(messages, counts, new ChatTemplateOptions(true, visionId));
        Qwen2VlBackend.Pixels pixels = processed.isEmpty() ? null
                : new Qwen2VlBackend.Pixels(List.copyOf(processed), List.copyOf(grids));
        return new PreparedPrompt<>(encoded.inputIds(), List.copyOf(infos), imageTokens, pixels);
    }

    @Override
    public DecodingSession open(PreparedPrompt<Qwen2VlBackend.Pixels> prompt, int capacity) {
        Qwen2VlBackend.Pixels pixels = prompt.pixels();
        if (pixels == null) {
            return new Qwen3VlDecodingSession(network, manager, prompt.inputIds(), List.of(), null, List.of(), capacity,
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
            Qwen3VisionTower.Output out = network.vision().forward(visionScope, pixels.grids(), values -> {
                for (ProcessedImage image : pixels.images()) {
                    image.writePixelValues(values);
                }
            });
            // the session adopts the embeddings and DeepStack features; the rest of the vision pass is freed here
            return new Qwen3VlDecodingSession(network, manager, prompt.inputIds(), pixels.grids(), out.embeddings(),
                    out.deepstack(), capacity, network.decodeMode(), batcher);
        }
    }

    public Qwen3VlNetwork network() {
        return network;
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
        if (batcher != null) {
            batcher.close();
        }
        tokenizer.close();
        network.close();
        manager.close();
        checkpoint.close();
        if (float32Cache != null) {
            float32Cache.close();
        }
    }
}
