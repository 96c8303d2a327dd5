package io.github.qwenvl.qwen2vl;

/**
 * One image's patch grid, as the processor's {@code image_grid_thw} row.
 *
 * @param t temporal patches (1 for an image)
 * @param h patch rows (resized height / 14)
 * @param w patch columns (resized width / 14)
 */
public record ImageGrid(int t, int h, int w) {

    public int patches() {
        return t * h * w;
    }

    /** LLM tokens after the 2×2 merge. */
    public int tokens(int mergeSize) {
        return patches() / (mergeSize * mergeSize);
    }
}
