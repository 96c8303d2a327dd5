package io.github.qwenvl.grounding;

/**
 * A box in pixels of the ORIGINAL (decoded, un-resized) image, as doubles: the model's coordinate grid
 * (0–1000 or resized pixels) rarely maps to whole original pixels, so rounding is left to the caller.
 * Ordered ({@code x1 <= x2}, {@code y1 <= y2}) and inside the image.
 */
public record PixelBox(double x1, double y1, double x2, double y2) {

    public double width() {
        return x2 - x1;
    }

    public double height() {
        return y2 - y1;
    }

    /** Whole-pixel corners by truncation, as Qwen-VL's {@code draw_bbox_on_latest_picture} does ({@code int(x / 1000 * w)}). */
    public int[] truncated() {
        return new int[] {(int) x1, (int) y1, (int) x2, (int) y2};
    }
}
