package io.github.qwenvl.image;

/**
 * torchvision's {@code resize(uint8 tensor, BICUBIC, antialias=True)} on CPU for 8-bit RGB images: PyTorch's
 * separable anti-aliased interpolation over uint8 ({@code _upsample_bicubic2d_aa}), the resize of the
 * torchvision-backed image processors of transformers 5.x ({@code Qwen2VLImageProcessor}, selected by
 * {@code "image_processor_type": "Qwen2VLImageProcessorFast"}).
 *
 * <p>The kernel, its support and the source window of each output pixel are Pillow's (Keys' cubic with a = −0.5,
 * widened by the scale when downscaling, see {@link PillowResize}); the fixed-point arithmetic is PyTorch's: the
 * normalised double weights of one pass are scaled by 2<sup>p</sup> and rounded to 16-bit integers, where p is the
 * largest precision (below 22) for which the pass's largest weight stays below 2<sup>15</sup>; each output value
 * accumulates in 32-bit integers from 2<sup>p−1</sup>, is shifted right by p and clamped to 0..255. The horizontal
 * pass runs first and its uint8 result feeds the vertical pass; a pass whose size does not change is skipped, an
 * unchanged size returns a copy. Pillow's fixed 22-bit weights round differently, so the two resizes differ by
 * up to 2 levels on a fraction of a percent of the values.
 */
public final class TorchvisionResize {

    private static final int MAX_PRECISION = 22;

    private TorchvisionResize() {
    }

    /** {@code resize(image, [height, width], BICUBIC, antialias=True)} on a uint8 CHW tensor of this image. */
    public static RgbImage bicubic(RgbImage image, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("target size must be positive: " + width + "x" + height);
        }
        int inW = image.width();
        int inH = image.height();
        if (inW == width && inH == height) {
            return new RgbImage(width, height, image.rgb().clone());
        }
        byte[] pixels = image.rgb();
        if (inW != width) {
            pixels = horizontalPass(pixels, inW, inH, Weights.of(inW, width, ResampleFilter.BICUBIC));
        }
        if (inH != height) {
            pixels = verticalPass(pixels, width, Weights.of(inH, height, ResampleFilter.BICUBIC));
        }
        return new RgbImage(width, height, pixels);
    }

    /** in: [rows, inW, 3]; out: [rows, outW, 3]. */
    private static byte[] horizontalPass(byte[] in, int inW, int rows, Weights w) {
        int outW = w.outSize;
        byte[] out = new byte[rows * outW * 3];
        int half = 1 << (w.precision - 1);
        for (int y = 0; y < rows; y++) {
            int rowBase = y * inW * 3;
            int o = y * outW * 3;
            for (int xx = 0; xx < outW; xx++) {
                int min = w.min[xx];
                int len = w.len[xx];
                int k = xx * w.ksize;
                int s0 = half;
                int s1 = half;
                int s2 = half;
                for (int x = 0; x < len; x++) {
                    int p = rowBase + (x + min) * 3;
                    int c = w.fixed[k + x];
                    s0 += (in[p] & 0xFF) * c;
                    s1 += (in[p + 1] & 0xFF) * c;
                    s2 += (in[p + 2] & 0xFF) * c;
                }
                out[o++] = clip8(s0, w.precision);
                out[o++] = clip8(s1, w.precision);
                out[o++] = clip8(s2, w.precision);
            }
        }
        return out;
    }

    /** in: [inH, width, 3]; out: [outH, width, 3]. */
    private static byte[] verticalPass(byte[] in, int width, Weights w) {
        int outH = w.outSize;
        int stride = width * 3;
        byte[] out = new byte[outH * stride];
        int half = 1 << (w.precision - 1);
        for (int yy = 0; yy < outH; yy++) {
            int min = w.min[yy];
            int len = w.len[yy];
            int k = yy * w.ksize;
            int o = yy * stride;
            for (int i = 0; i < stride; i++) {
                int s = half;
                for (int y = 0; y < len; y++) {
                    s += (in[(y + min) * stride + i] & 0xFF) * w.fixed[k + y];
                }
                out[o + i] = clip8(s, w.precision);
            }
        }
        return out;
    }

    private static byte clip8(int acc, int precision) {
        int v = acc >> precision;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** One pass: per output index the first source index, the number of taps and the 16-bit weights. */
    private static final class Weights {
        final int outSize;
        final int ksize;
        final int precision;
        final int[] min;
        final int[] len;
        final int[] fixed;

        private Weights(int outSize, int ksize, int precision, int[] min, int[] len, int[] fixed) {
            this.outSize = outSize;
            this.ksize = ksize;
            this.precision = precision;
            this.min = min;
            this.len = len;
            this.fixed = fixed;
        }

        static Weights of(int inSize, int outSize, ResampleFilter filter) {
            double scale = (double) inSize / outSize;
            double support = scale >= 1.0 ? filter.support() * scale : filter.support();
            int ksize = (int) Math.ceil(support) * 2 + 1;
            double invScale = scale >= 1.0 ? 1.0 / scale : 1.0;
            int[] min = new int[outSize];
            int[] len = new int[outSize];
            double[] weights = new double[outSize * ksize];
            double maxWeight = 0.0;
            for (int i = 0; i < outSize; i++) {
                double center = scale * (i + 0.5);
                int xmin = Math.max((int) (long) (center - support + 0.5), 0);
                int xsize = Math.min((int) (long) (center + support + 0.5), inSize) - xmin;
                xsize = Math.max(0, Math.min(xsize, ksize));
                double total = 0.0;
                for (int j = 0; j < xsize; j++) {
                    double w = filter.weight((j + xmin - center + 0.5) * invScale);
                    weights[i * ksize + j] = w;
                    total += w;
                }
                if (total != 0.0) {
                    for (int j = 0; j < xsize; j++) {
                        weights[i * ksize + j] /= total;
                        maxWeight = Math.max(maxWeight, weights[i * ksize + j]);
                    }
                }
                min[i] = xmin;
                len[i] = xsize;
            }
            int precision;
            for (precision = 0; precision < MAX_PRECISION; precision++) {
                int next = (int) (0.5 + maxWeight * (1 << (precision + 1)));
                if (next >= (1 << 15)) {
                    break;
                }
            }
            int[] fixed = new int[weights.length];
            for (int i = 0; i < weights.length; i++) {
                double v = weights[i] * (1 << precision);
                fixed[i] = (short) (v < 0 ? (int) (-0.5 + v) : (int) (0.5 + v));
            }
            return new Weights(outSize, ksize, precision, min, len, fixed);
        }
    }
}
