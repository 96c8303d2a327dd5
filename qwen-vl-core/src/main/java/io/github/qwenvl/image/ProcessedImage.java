package io.github.qwenvl.image;

/**
 * One image ready for the Qwen2-VL vision tower.
 *
 * @param pixelValues    [numPatches, patchDim] row-major, patchDim = 3 · temporalPatch · patch² (1176);
 *                       rows in 2×2-merge-block order (see {@link Qwen2VlImageProcessor})
 * @param gridT          temporal patches (1 for an image)
 * @param gridH          patch rows (resizedHeight / patch)
 * @param gridW          patch columns (resizedWidth / patch)
 * @param mergeSize      spatial merge of the vision tower (2): merge² patches become one LLM token
 * @param resizedHeight  height after smart_resize
 * @param resizedWidth   width after smart_resize
 * @param originalHeight decoded height
 * @param originalWidth  decoded width
 */
public record ProcessedImage(
        float[] pixelValues,
        int gridT,
        int gridH,
        int gridW,
        int mergeSize,
        int resizedHeight,
        int resizedWidth,
        int originalHeight,
        int originalWidth) {

    /** gridT · gridH · gridW rows of {@link #pixelValues()}. */
    public int numPatches() {
        return gridT * gridH * gridW;
    }

    /** Values per patch row (1176 for Qwen2-VL). */
    public int patchDim() {
        return pixelValues.length / numPatches();
    }

    /** Number of image-pad tokens the prompt needs: t · h · w / merge². */
    public int numLlmTokens() {
        return numPatches() / (mergeSize * mergeSize);
    }

    /** The image_grid_thw row: {t, h, w}. */
    public long[] gridThw() {
        return new long[] {gridT, gridH, gridW};
    }

    /** resizedWidth / originalWidth: multiply an original x by it to get the resized x. */
    public double scaleX() {
        return (double) resizedWidth / originalWidth;
    }

    /** resizedHeight / originalHeight: multiply an original y by it to get the resized y. */
    public double scaleY() {
        return (double) resizedHeight / originalHeight;
    }
}
