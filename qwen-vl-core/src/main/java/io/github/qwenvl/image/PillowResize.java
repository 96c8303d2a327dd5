package io.github.qwenvl.image;

/**
 * Port of Pillow 11's {@code Image.resize(size, filter)} for 8-bit RGB images without a box
 * (libImaging/Resample.c, {@code ImagingResample} with the 8 bpc passes): per output pixel the kernel
 * weights are computed in double, normalised to sum 1, converted to fixed point with 22 fractional bits,
 * accumulated in 32-bit integers starting from one half, and clipped to 0..255. The horizontal pass runs
 * first (only over the source rows the vertical pass will read), then the vertical pass; a pass whose
 * size does not change is skipped, and an unchanged size returns a copy, as in Pillow.
 */
public final class PillowResize {

    /** 32 bits − 8 for the result − 2 for overshoot of negative lobes. */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PillowResize() {
    }

    /** {@code image.resize((width, height), BICUBIC)}. */
    public static RgbImage bicubic(RgbImage image, int width, int height) {
        return resize(image, width, height, ResampleFilter.BICUBIC);
    }

    /** {@code image.resize((width, height), filter)} for an RGB image. */
    public static RgbImage resize(RgbImage image, int width, int height, ResampleFilter filter) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("target size must be positive: " + width + "x" + height);
        }
        int inW = image.width();
        int inH = image.height();
        if (inW == width && inH == height) {
            return new RgbImage(width, height, image.rgb().clone());
        }
        Coefficients vertical = Coefficients.of(inH, height, filter);
        byte[] pixels = image.rgb();
        int rows = inH;
        int firstRow = 0;
        if (inW != width) {
            Coefficients horizontal = Coefficients.of(inW, width, filter);
            // only the rows the vertical pass reads: [first bound, last bound + its length)
            firstRow = vertical.min[0];
            int lastRow = vertical.min[height - 1] + vertical.len[height - 1];
            rows = lastRow - firstRow;
            pixels = horizontalPass(pixels, inW, firstRow, rows, horizontal);
        }
        if (inH != height) {
            pixels = verticalPass(pixels, width, firstRow, vertical);
        }
        return new RgbImage(width, height, pixels);
    }

    /** in: [*, inW, 3] starting at row {@code firstRow}; out: [rows, outW, 3]. */
    private static byte[] horizontalPass(byte[] in, int inW, int firstRow, int rows, Coefficients c) {
        int outW = c.outSize;
        byte[] out = new byte[rows * outW * 3];
        int half = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < rows; y++) {
            int rowBase = (y + firstRow) * inW * 3;
            int o = y * outW * 3;
            for (int xx = 0; xx < outW; xx++) {
                int min = c.min[xx];
                int len = c.len[xx];
                int k = xx * c.ksize;
                int s0 = half;
                int s1 = half;
                int s2 = half;
                for (int x = 0; x < len; x++) {
                    int p = rowBase + (x + min) * 3;
                    int w = c.fixed[k + x];
                    s0 += (in[p] & 0xFF) * w;
                    s1 += (in[p + 1] & 0xFF) * w;
                    s2 += (in[p + 2] & 0xFF) * w;
                }
                out[o++] = clip8(s0);
                out[o++] = clip8(s1);
                out[o++] = clip8(s2);
            }
        }
        return out;
    }

    /**
     * in: [*, width, 3] whose row 0 is source row {@code firstRow} (bounds are shifted by it);
     * out: [outH, width, 3].
     */
    private static byte[] verticalPass(byte[] in, int width, int firstRow, Coefficients c) {
        int outH = c.outSize;
        int stride = width * 3;
        byte[] out = new byte[outH * stride];
        int half = 1 << (PRECISION_BITS - 1);
        for (int yy = 0; yy < outH; yy++) {
            int min = c.min[yy] - firstRow;
            int len = c.len[yy];
            int k = yy * c.ksize;
            int o = yy * stride;
            for (int i = 0; i < stride; i++) {
                int s = half;
                for (int y = 0; y < len; y++) {
                    s += (in[(y + min) * stride + i] & 0xFF) * c.fixed[k + y];
                }
                out[o + i] = clip8(s);
            }
        }
        return out;
    }

    /** Pillow's clip8: drop the fraction (arithmetic shift) and clamp to 0..255. */
    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Per output index: first source index, number of taps, fixed-point weights ({@code precompute_coeffs}). */
    private static final class Coefficients {
        final int outSize;
        final int ksize;
        final int[] min;
        final int[] len;
        final int[] fixed;

        private Coefficients(int outSize, int ksize) {
            this.outSize = outSize;
            this.ksize = ksize;
            this.min = new int[outSize];
            this.len = new int[outSize];
            this.fixed = new int[outSize * ksize];
        }

        static Coefficients of(int inSize, int outSize, ResampleFilter filter) {
            // box = (0, inSize): Pillow passes the box as float; in1 - in0 is exact for any image size
            double scale = (double) (float) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filter.support() * filterScale;
            int ksize = (int) Math.ceil(support) * 2 + 1;
            Coefficients c = new Coefficients(outSize, ksize);
            double[] k = new double[ksize];
            for (int xx = 0; xx < outSize; xx++) {
                double center = 0.0 + (xx + 0.5) * scale;
                double ww = 0.0;
                double ss = 1.0 / filterScale;
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                for (int x = 0; x < xmax; x++) {
                    double w = filter.weight((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                for (int x = 0; x < xmax; x++) {
                    if (ww != 0.0) {
                        k[x] /= ww;
                    }
                    c.fixed[xx * ksize + x] = toFixed(k[x]);
                }
                c.min[xx] = xmin;
                c.len[xx] = xmax;
            }
            return c;
        }

        /** normalize_coeffs_8bpc: round half away from zero, then truncate like a C cast. */
        private static int toFixed(double w) {
            return w < 0 ? (int) (-0.5 + w * (1 << PRECISION_BITS)) : (int) (0.5 + w * (1 << PRECISION_BITS));
        }
    }
}
