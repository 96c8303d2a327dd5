package io.github.qwenvl.image;

import io.github.qwenvl.config.ImageProcessorConfig;

/**
 * transformers 4.50's slow {@code Qwen2VLImageProcessor} for one image: RGB conversion, smart_resize,
 * Pillow bicubic resize, rescale by 1/255 (float64, then float32), per-channel normalisation in float32,
 * then the temporal duplication and patch flattening.
 *
 * <p>Patch layout: the [3, H, W] image repeated T times along time is viewed as
 * [1, T, 3, H/(P·M), M, P, W/(P·M), M, P] and permuted to (0, 3, 6, 4, 7, 2, 1, 5, 8): rows run over
 * merge blocks (row-major), then the M×M patches inside a block (row-major); each row holds channel,
 * then time, then the P×P pixels. P = patch (14), M = merge (2), T = temporal patch (2).
 *
 * <p>Thread-safe; holds only configuration.
 */
public final class Qwen2VlImageProcessor {

    /** transformers' default {@code rescale_factor}; Python's {@code 1 / 255} is this same double. */
    private static final double RESCALE_FACTOR = 1.0 / 255.0;

    private final ImageProcessorConfig config;
    private final ImageDecoder decoder;

    public Qwen2VlImageProcessor(ImageProcessorConfig config) {
        this(config, new ImageDecoder());
    }

    /** With a custom decoder (limits, alpha handling). */
    public Qwen2VlImageProcessor(ImageProcessorConfig config, ImageDecoder decoder) {
        this.config = java.util.Objects.requireNonNull(config, "config");
        this.decoder = java.util.Objects.requireNonNull(decoder, "decoder");
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
        float[] normalized = normalize(resized);
        return patchify(normalized, resized.height(), resized.width(), image.height(), image.width());
    }

    /** The smart_resize size for an image of this size. */
    public SmartResize.Size targetSize(int height, int width, long minPixels, long maxPixels) {
        return SmartResize.compute(height, width, config.factor(), minPixels, maxPixels);
    }

    /** Steps 2–3 only: the uint8 image the model sees (what the goldens store as resized/*.png). */
    public RgbImage resize(RgbImage image, long minPixels, long maxPixels) {
        SmartResize.Size size = targetSize(image.height(), image.width(), minPixels, maxPixels);
        return PillowResize.bicubic(image, size.width(), size.height());
    }

    /** Rescale and normalise into planar float32 [3, H, W]. */
    private float[] normalize(RgbImage image) {
        int plane = image.width() * image.height();
        float[] mean = new float[3];
        float[] std = new float[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = (float) config.imageMean()[c];
            std[c] = (float) config.imageStd()[c];
        }
        // one value per uint8 level and channel: the same float the numpy pipeline produces
        float[][] lut = new float[3][256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                float rescaled = (float) (v * RESCALE_FACTOR);
                lut[c][v] = (rescaled - mean[c]) / std[c];
            }
        }
        byte[] rgb = image.rgb();
        float[] out = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                out[c * plane + i] = lut[c][rgb[i * 3 + c] & 0xFF];
            }
        }
        return out;
    }

    private ProcessedImage patchify(float[] planar, int height, int width, int originalHeight, int originalWidth) {
        int p = config.patchSize();
        int m = config.mergeSize();
        int t = config.temporalPatchSize();
        int gridH = height / p;
        int gridW = width / p;
        int patchDim = 3 * t * p * p;
        int plane = height * width;
        float[] out = new float[gridH * gridW * patchDim];
        int o = 0;
        for (int bh = 0; bh < gridH / m; bh++) {
            for (int bw = 0; bw < gridW / m; bw++) {
                for (int mh = 0; mh < m; mh++) {
                    for (int mw = 0; mw < m; mw++) {
                        int y0 = (bh * m + mh) * p;
                        int x0 = (bw * m + mw) * p;
                        for (int c = 0; c < 3; c++) {
                            for (int ti = 0; ti < t; ti++) {
                                // every time step is the same frame (an image is its own T copies)
                                for (int py = 0; py < p; py++) {
                                    System.arraycopy(planar, c * plane + (y0 + py) * width + x0, out, o, p);
                                    o += p;
                                }
                            }
                        }
                    }
                }
            }
        }
        return new ProcessedImage(out, 1, gridH, gridW, m, height, width, originalHeight, originalWidth);
    }
}
