package io.github.qwenvl.image;

/**
 * An 8-bit RGB raster, interleaved row-major: {@code rgb[(y * width + x) * 3 + c]} for c = R, G, B
 * (values are unsigned; read them with {@code & 0xFF}).
 *
 * @param width  width in pixels (> 0)
 * @param height height in pixels (> 0)
 * @param rgb    width × height × 3 bytes
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new ImageInputException(ImageInputException.Reason.ZERO_SIZE,
                    "image size must be positive, got " + width + "x" + height);
        }
        if (rgb == null || rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("expected " + (long) width * height * 3 + " RGB bytes for "
                    + width + "x" + height + ", got " + (rgb == null ? "null" : rgb.length));
        }
    }

    /** Channel {@code c} (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
    public int sample(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }
}
