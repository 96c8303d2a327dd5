package io.github.qwenvl.grounding;

/**
 * A box relative to its image: {@code 0} is the left/top edge, {@code 1} the right/bottom edge.
 * Always ordered ({@code x1 <= x2}, {@code y1 <= y2}) and clamped to {@code [0, 1]}; a point has
 * {@code x1 == x2} and {@code y1 == y2}.
 */
public record NormalizedBox(double x1, double y1, double x2, double y2) {

    /** Orders the corners and clamps them into the image, whatever the model wrote. */
    public static NormalizedBox of(double xa, double ya, double xb, double yb) {
        return new NormalizedBox(clamp01(Math.min(xa, xb)), clamp01(Math.min(ya, yb)),
                clamp01(Math.max(xa, xb)), clamp01(Math.max(ya, yb)));
    }

    public double width() {
        return x2 - x1;
    }

    public double height() {
        return y2 - y1;
    }

    /** Scales to a {@code width × height} image (e.g. the original image, or a thumbnail being drawn on). */
    public PixelBox toPixels(int width, int height) {
        return new PixelBox(x1 * width, y1 * height, x2 * width, y2 * height);
    }

    static double clamp01(double v) {
        // NaN cannot come from the parser (it only accepts decimal literals), but never let it through
        return v > 0 ? Math.min(v, 1.0) : 0.0;
    }
}
