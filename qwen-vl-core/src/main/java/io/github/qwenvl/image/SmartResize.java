package io.github.qwenvl.image;

import io.github.qwenvl.image.ImageInputException.Reason;

/**
 * Qwen2-VL's {@code smart_resize} (transformers 4.50, image_processing_qwen2_vl.py): the size the image is
 * resized to before patchifying — both sides multiples of {@code factor} (patch × merge = 28), the area
 * within [minPixels, maxPixels], the aspect ratio kept as closely as possible. Python's {@code round}
 * (half to even) and float division are reproduced exactly.
 */
public final class SmartResize {

    /** transformers refuses max(h, w) / min(h, w) above this. */
    public static final double MAX_ASPECT_RATIO = 200;

    private SmartResize() {
    }

    /** A resized size in pixels. */
    public record Size(int height, int width) {
    }

    /**
     * @throws ImageInputException EXTREME_ASPECT_RATIO when max/min side > 200, INVALID_SIZE when the
     *                             bounds yield a side of zero, ZERO_SIZE for a non-positive input size
     */
    public static Size compute(int height, int width, int factor, long minPixels, long maxPixels) {
        if (height <= 0 || width <= 0) {
            throw new ImageInputException(Reason.ZERO_SIZE, "image has no pixels: " + width + "x" + height);
        }
        double ratio = (double) Math.max(height, width) / Math.min(height, width);
        if (ratio > MAX_ASPECT_RATIO) {
            throw new ImageInputException(Reason.EXTREME_ASPECT_RATIO,
                    "absolute aspect ratio must be smaller than 200, got " + ratio + " (" + width + "x" + height + ")");
        }
        long hBar = (long) Math.rint((double) height / factor) * factor;
        long wBar = (long) Math.rint((double) width / factor) * factor;
        if (hBar * wBar > maxPixels) {
            double beta = Math.sqrt((double) height * width / maxPixels);
            hBar = (long) Math.floor(height / beta / factor) * factor;
            wBar = (long) Math.floor(width / beta / factor) * factor;
        } else if (hBar * wBar < minPixels) {
            double beta = Math.sqrt((double) minPixels / ((double) height * width));
            hBar = (long) Math.ceil(height * beta / factor) * factor;
            wBar = (long) Math.ceil(width * beta / factor) * factor;
        }
        if (hBar <= 0 || wBar <= 0 || hBar > Integer.MAX_VALUE || wBar > Integer.MAX_VALUE) {
            throw new ImageInputException(Reason.INVALID_SIZE, "no valid resized size for " + width + "x" + height
                    + " with factor " + factor + ", min_pixels " + minPixels + ", max_pixels " + maxPixels
                    + " (got " + wBar + "x" + hBar + ")");
        }
        return new Size((int) hBar, (int) wBar);
    }
}
