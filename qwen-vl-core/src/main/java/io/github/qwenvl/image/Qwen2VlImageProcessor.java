package io.github.qwenvl.image;

import io.github.qwenvl.config.ImageProcessorConfig;

/**
 * transformers' {@code Qwen2VLImageProcessor} for one image (Qwen2-VL, Qwen2.5-VL and Qwen3-VL): RGB conversion,
 * smart_resize (factor patch × merge), bicubic resize, rescale and normalise, then the temporal duplication and
 * patch flattening (done by {@link ProcessedImage}, which writes the patch rows when the vision tower needs them;
 * the layout is described there).
 *
 * <p>Two implementations of resize and normalisation, as {@link ImageProcessorConfig#resize()} selects:
 * {@link ImageProcessorConfig.Resize#PILLOW} is transformers 4.50's slow (PIL) processor — {@link PillowResize},
 * rescale by 1/255 (float64, then float32), per-channel normalisation in float32;
 * {@link ImageProcessorConfig.Resize#TORCHVISION} is the torchvision-backed processor of transformers 5.x —
 * {@link TorchvisionResize} on the uint8 image, then {@code (v − 255 · mean) / (255 · std)} in float32 (the fast
 * processors fold the rescale into the normalisation).
 *
 * <p>Thread-safe; holds only configuration.
 */
public final class Qwen2VlImageProcessor {

    /** transformers' default {@code rescale_factor}; Python's {@code 1 / 255} is this same double. */
    private static final double RESCALE_FACTOR = 1.0 / 255.0;

    private final ImageProcessorConfig config;
    private final ImageDecoder decoder;
    private final float[][] normalization;

    public Qwen2VlImageProcessor(ImageProcessorConfig config) {
        this(config, new ImageDecoder());
    }

    /** With a custom decoder (limits, alpha handling). */
    public Qwen2VlImageProcessor(ImageProcessorConfig config, ImageDecoder decoder) {
        this.config = java.util.Objects.requireNonNull(config, "config");
        this.decoder = java.util.Objects.requireNonNull(decoder, "decoder");
        this.normalization = normalizationTable(config);
    }

    public ImageProcessorConfig config() {
        return config;
    }

    public ImageDecoder decoder() {
        return decoder;
    }

    /** Decodes and processes with the configured pixel bounds. */
    public ProcessedImage process(ImageSource source) {
        return process(decoder.decode(source));
    }

    /** Decodes and processes with per-call pixel bounds (the {@code min_pixels}/{@code max_pixels} overrides). */
    public ProcessedImage process(ImageSource source, long minPixels, long maxPixels) {
        return process(decoder.decode(source), minPixels, maxPixels);
    }

    /** Processes an already converted RGB image with the configured pixel bounds. */
    public ProcessedImage process(RgbImage image) {
        return process(image, config.minPixels(), config.maxPixels());
    }

    /** Processes an already converted RGB image with per-call pixel bounds. */
    public ProcessedImage process(RgbImage image, long minPixels, long maxPixels) {
        RgbImage resized = resize(image, minPixels, maxPixels);
        return new ProcessedImage(resized, normalization, config.patchSize(), config.temporalPatchSize(),
                config.mergeSize(), image.height(), image.width());
    }

    /** The smart_resize size for an image of this size. */
    public SmartResize.Size targetSize(int height, int width, long minPixels, long maxPixels) {
        return SmartResize.compute(height, width, config.factor(), minPixels, maxPixels);
    }

    /** Steps 2–3 only: the uint8 image the model sees (what the goldens store as resized/*.png). */
    public RgbImage resize(RgbImage image, long minPixels, long maxPixels) {
        SmartResize.Size size = targetSize(image.height(), image.width(), minPixels, maxPixels);
        return config.resize() == ImageProcessorConfig.Resize.TORCHVISION
                ? TorchvisionResize.bicubic(image, size.width(), size.height())
                : PillowResize.bicubic(image, size.width(), size.height());
    }

    /**
     * Rescale and normalise as a table: [channel][uint8 level] → the float32 the reference pipeline produces
     * (numpy: {@code (float32(v · (1/255)) − mean) / std}; torchvision: {@code (v − mean / (1/255)) / (std / (1/255))},
     * each in float32).
     */
    private static float[][] normalizationTable(ImageProcessorConfig config) {
        float[][] lut = new float[3][256];
        if (config.resize() == ImageProcessorConfig.Resize.TORCHVISION) {
            for (int c = 0; c < 3; c++) {
                float mean = (float) (config.imageMean()[c] * (1.0 / RESCALE_FACTOR));
                float std = (float) (config.imageStd()[c] * (1.0 / RESCALE_FACTOR));
                for (int v = 0; v < 256; v++) {
                    lut[c][v] = ((float) v - mean) / std;
                }
            }
            return lut;
        }
        for (int c = 0; c < 3; c++) {
            float mean = (float) config.imageMean()[c];
            float std = (float) config.imageStd()[c];
            for (int v = 0; v < 256; v++) {
                float rescaled = (float) (v * RESCALE_FACTOR);
                lut[c][v] = (rescaled - mean) / std;
            }
        }
        return lut;
    }
}
