package io.github.qwenvl.config;

import com.google.gson.JsonObject;

/**
 * {@code preprocessor_config.json} of the Qwen2-VL family ({@code Qwen2VLImageProcessor}, also used by Qwen3-VL).
 *
 * @param minPixels         lower bound of resized height × width
 * @param maxPixels         upper bound of resized height × width
 * @param patchSize         14
 * @param temporalPatchSize 2
 * @param mergeSize         2
 * @param imageMean         per-channel mean (CLIP values)
 * @param imageStd          per-channel std
 * @param resize            which implementation of the bicubic resize and normalisation the reference processor
 *                          runs, from {@code image_processor_type}
 */
public record ImageProcessorConfig(
        int minPixels,
        int maxPixels,
        int patchSize,
        int temporalPatchSize,
        int mergeSize,
        double[] imageMean,
        double[] imageStd,
        Resize resize) {

    /**
     * The reference processor's resize: transformers selects the torchvision-backed processor for an
     * {@code image_processor_type} ending in {@code Fast} (Qwen3-VL's published {@code Qwen2VLImageProcessorFast})
     * and the Pillow-backed one otherwise (Qwen2-VL's {@code Qwen2VLImageProcessor}, as transformers 4.50 ran it).
     */
    public enum Resize {
        /** Pillow's bicubic on the RGB image; rescale then normalise ({@code (float32(v / 255) − mean) / std}). */
        PILLOW,
        /**
         * torchvision's anti-aliased bicubic on the uint8 tensor; rescale fused into the normalisation
         * ({@code (v − mean · 255) / (std · 255)} in float32).
         */
        TORCHVISION;

        static Resize forProcessorType(String imageProcessorType) {
            return imageProcessorType != null && imageProcessorType.endsWith("Fast") ? TORCHVISION : PILLOW;
        }
    }

    public ImageProcessorConfig {
        java.util.Objects.requireNonNull(resize, "resize");
    }

    /** A Pillow-backed configuration. */
    public ImageProcessorConfig(int minPixels, int maxPixels, int patchSize, int temporalPatchSize, int mergeSize,
                                double[] imageMean, double[] imageStd) {
        this(minPixels, maxPixels, patchSize, temporalPatchSize, mergeSize, imageMean, imageStd, Resize.PILLOW);
    }

    public static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    public static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    /** Resize factor: patch × merge (28). */
    public int factor() {
        return patchSize * mergeSize;
    }

    public ImageProcessorConfig withPixelBounds(int min, int max) {
        return new ImageProcessorConfig(min, max, patchSize, temporalPatchSize, mergeSize, imageMean, imageStd,
                resize);
    }

    /** The same configuration with another resize implementation. */
    public ImageProcessorConfig withResize(Resize other) {
        return new ImageProcessorConfig(minPixels, maxPixels, patchSize, temporalPatchSize, mergeSize, imageMean,
                imageStd, other);
    }

    public static ImageProcessorConfig defaults() {
        return new ImageProcessorConfig(56 * 56, 28 * 28 * 1280, 14, 2, 2, CLIP_MEAN, CLIP_STD);
    }

    static ImageProcessorConfig from(JsonObject p) {
        ImageProcessorConfig d = defaults();
        JsonObject size = Json.has(p, "size") && p.get("size").isJsonObject() ? p.getAsJsonObject("size") : null;
        int min = Json.getInt(p, "min_pixels", Json.getInt(size, "shortest_edge", d.minPixels()));
        int max = Json.getInt(p, "max_pixels", Json.getInt(size, "longest_edge", d.maxPixels()));
        return new ImageProcessorConfig(min, max,
                Json.getInt(p, "patch_size", d.patchSize()),
                Json.getInt(p, "temporal_patch_size", d.temporalPatchSize()),
                Json.getInt(p, "merge_size", d.mergeSize()),
                Json.getDoubleArray(p, "image_mean", CLIP_MEAN),
                Json.getDoubleArray(p, "image_std", CLIP_STD),
                Resize.forProcessorType(Json.getString(p, "image_processor_type", null)));
    }

    /** Reads a {@code preprocessor_config.json} file (an absent file gives the defaults). */
    public static ImageProcessorConfig read(java.nio.file.Path file) {
        return from(Json.readOrEmpty(file));
    }
}
