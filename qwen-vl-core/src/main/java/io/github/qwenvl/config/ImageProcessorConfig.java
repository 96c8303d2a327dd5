package io.github.qwenvl.config;

import com.google.gson.JsonObject;

/**
 * {@code preprocessor_config.json} of the Qwen2-VL family (Qwen2VLImageProcessor).
 *
 * @param minPixels         lower bound of resized height × width
 * @param maxPixels         upper bound of resized height × width
 * @param patchSize         14
 * @param temporalPatchSize 2
 * @param mergeSize         2
 * @param imageMean         per-channel mean (CLIP values)
 * @param imageStd          per-channel std
 */
public record ImageProcessorConfig(
        int minPixels,
        int maxPixels,
        int patchSize,
        int temporalPatchSize,
        int mergeSize,
        double[] imageMean,
        double[] imageStd) {

    public static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    public static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    /** Resize factor: patch × merge (28). */
    public int factor() {
        return patchSize * mergeSize;
    }

    public ImageProcessorConfig withPixelBounds(int min, int max) {
        return new ImageProcessorConfig(min, max, patchSize, temporalPatchSize, mergeSize, imageMean, imageStd);
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
                Json.getDoubleArray(p, "image_std", CLIP_STD));
    }
}
