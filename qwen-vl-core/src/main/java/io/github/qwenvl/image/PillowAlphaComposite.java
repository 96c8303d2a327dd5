package io.github.qwenvl.image;

/**
 * Pillow's {@code Image.alpha_composite(dst, src)} for one 8-bit RGBA pixel, in its exact integer
 * arithmetic (libImaging/AlphaComposite.c, scalar path: 7 extra bits of precision, rounded division by
 * 255 via shifts). The compositing {@code convert_to_rgb} (Idefics2-style) puts the image (src) over opaque
 * white (dst); see {@link AlphaMode#COMPOSITE_ON_WHITE}.
 */
final class PillowAlphaComposite {

    private static final int PRECISION_BITS = 7;

    private PillowAlphaComposite() {
    }

    /** One colour channel of {@code src} (value {@code srcC}, alpha {@code srcA}) composited over opaque white. */
    static int overWhite(int srcC, int srcA) {
        return channel(srcC, srcA, 255, 255);
    }

    /** One colour channel of src over dst, as Pillow computes it (all values 0..255). */
    static int channel(int srcC, int srcA, int dstC, int dstA) {
        if (srcA == 0) {
            return dstC;
        }
        // unsigned 32-bit in C; long here so nothing can wrap
        long blend = (long) dstA * (255 - srcA);
        long outA255 = (long) srcA * 255 + blend;
        long coef1 = (long) srcA * 255 * 255 * (1 << PRECISION_BITS) / outA255;
        long coef2 = 255L * (1 << PRECISION_BITS) - coef1;
        long tmp = srcC * coef1 + dstC * coef2;
        return (int) (shiftForDiv255(tmp + (0x80L << PRECISION_BITS)) >> PRECISION_BITS);
    }

    /** Pillow's SHIFTFORDIV255: x / 255 rounded, for the ranges used here. */
    private static long shiftForDiv255(long x) {
        return ((x >> 8) + x) >> 8;
    }
}
