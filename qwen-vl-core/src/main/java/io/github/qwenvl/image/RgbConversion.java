package io.github.qwenvl.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * Reduces any {@link BufferedImage} to 8-bit RGB the way PIL does on the equivalent PIL image: an image
 * with alpha has its alpha dropped ({@link AlphaMode#DROP}, {@code convert("RGB")}) or is composited over
 * white ({@link AlphaMode#COMPOSITE_ON_WHITE}); an opaque image keeps its samples (compositing an opaque
 * pixel is the identity in Pillow's arithmetic).
 *
 * <p>Gray and sRGB component rasters are read sample by sample, never through
 * {@code BufferedImage.getRGB}: Java2D treats a gray image as linear gray and would gamma-convert it,
 * while PIL copies L to R = G = B. Samples wider than 8 bits keep their high byte (what Pillow does when
 * it opens 16-bit RGB(A) PNGs); narrower ones are scaled to 0..255 (PIL's L;1/L;2/L;4 unpacking).
 * Deliberate deviation: Pillow opens a 16-bit gray PNG as mode I;16 and its convert("RGB") clamps each value
 * to 255 (almost all white); the high byte is used here instead.
 */
final class RgbConversion {

    private RgbConversion() {
    }

    /**
     * @param ignoreAlpha treat the image as opaque even if its colour model has alpha (a PNG of colour type
     *                    RGB with a tRNS chunk: PIL opens it as mode RGB and convert_to_rgb leaves it alone)
     */
    static RgbImage toRgb(BufferedImage image, AlphaMode mode, boolean ignoreAlpha) {
        int w = image.getWidth();
        int h = image.getHeight();
        ColorModel cm = image.getColorModel();
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        boolean composite = mode == AlphaMode.COMPOSITE_ON_WHITE && cm.hasAlpha() && !ignoreAlpha;
        if (cm instanceof IndexColorModel icm) {
            fromIndexed(image.getRaster(), icm, composite, rgb);
        } else if (isPlainComponent(cm, ColorSpace.TYPE_GRAY, 1)) {
            fromComponents(image.getRaster(), cm, true, composite, rgb);
        } else if (isPlainComponent(cm, ColorSpace.TYPE_RGB, 3) && cm.getColorSpace().isCS_sRGB()) {
            fromComponents(image.getRaster(), cm, false, composite, rgb);
        } else {
            fromArgb(image, composite, rgb);
        }
        return new RgbImage(w, h, rgb);
    }

    private static boolean isPlainComponent(ColorModel cm, int colorSpaceType, int colorComponents) {
        return cm instanceof ComponentColorModel
                && cm.getColorSpace().getType() == colorSpaceType
                && cm.getNumColorComponents() == colorComponents
                && !cm.isAlphaPremultiplied()
                && cm.getTransferType() != java.awt.image.DataBuffer.TYPE_FLOAT
                && cm.getTransferType() != java.awt.image.DataBuffer.TYPE_DOUBLE;
    }

    /** Palette images (PNG P, GIF): look each index up; transparency comes from the palette's alpha. */
    private static void fromIndexed(Raster raster, IndexColorModel icm, boolean composite, byte[] out) {
        int w = raster.getWidth();
        int h = raster.getHeight();
        int[] row = new int[w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            raster.getSamples(0, y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                o = put(icm.getRGB(row[x]), composite, out, o);
            }
        }
    }

    /** Gray (+alpha) or sRGB (+alpha) component rasters, band order as the colour model defines it. */
    private static void fromComponents(Raster raster, ColorModel cm, boolean gray, boolean composite, byte[] out) {
        int w = raster.getWidth();
        int h = raster.getHeight();
        int bands = raster.getNumBands();
        boolean hasAlpha = cm.hasAlpha();
        int colorBands = gray ? 1 : 3;
        int[] bits = cm.getComponentSize();
        int[] row = new int[w * bands];
        int o = 0;
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int x = 0, i = 0; x < w; x++, i += bands) {
                int r = to8(row[i], bits[0]);
                int g = gray ? r : to8(row[i + 1], bits[1]);
                int b = gray ? r : to8(row[i + 2], bits[2]);
                int a = hasAlpha ? to8(row[i + colorBands], bits[colorBands]) : 255;
                o = put(r, g, b, a, composite, out, o);
            }
        }
    }

    /** Anything else (packed int ARGB, other colour spaces, CMYK TIFF, ...): Java2D's sRGB conversion. */
    private static void fromArgb(BufferedImage image, boolean composite, byte[] out) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] row = new int[w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                o = put(row[x], composite, out, o);
            }
        }
    }

    private static int to8(int sample, int bits) {
        if (bits == 8) {
            return sample;
        }
        if (bits > 8) {
            return sample >>> (bits - 8);
        }
        int max = (1 << bits) - 1;
        return (sample * 255 + max / 2) / max;
    }

    private static int put(int argb, boolean composite, byte[] out, int o) {
        return put((argb >> 16) & 0xFF, (argb >> 8) & 0xFF, argb & 0xFF, argb >>> 24, composite, out, o);
    }

    private static int put(int r, int g, int b, int a, boolean composite, byte[] out, int o) {
        if (composite) {
            r = PillowAlphaComposite.overWhite(r, a);
            g = PillowAlphaComposite.overWhite(g, a);
            b = PillowAlphaComposite.overWhite(b, a);
        }
        out[o] = (byte) r;
        out[o + 1] = (byte) g;
        out[o + 2] = (byte) b;
        return o + 3;
    }
}
