package io.github.qwenvl.qwenvl;

/**
 * {@code F.interpolate(x, size, mode="bicubic", align_corners=False)} of PyTorch (CPU, float32) on a square grid of
 * C-channel rows: cubic convolution with A = -0.75, source index {@code scale · (dst + 0.5) - 0.5} (unclamped),
 * border-clamped taps, interpolated along x then y, in float. This is visual.py's {@code get_abs_pos}.
 */
final class PosEmbedInterpolation {

    private static final float A = -0.75f;

    private PosEmbedInterpolation() {
    }

    /**
     * @param src     (srcSize², C) rows, row n = y · srcSize + x
     * @param dstSize target grid side
     * @return (dstSize², C)
     */
    static float[] resize(float[] src, int channels, int dstSize) {
        int srcSize = (int) Math.round(Math.sqrt(src.length / (double) channels));
        if (srcSize * srcSize * channels != src.length) {
            throw new IllegalArgumentException("not a square grid: " + src.length / channels + " rows");
        }
        if (srcSize == dstSize) {
            return src.clone();
        }
        float scale = (float) srcSize / dstSize;
        int[][] index = new int[dstSize][4];
        float[][] weight = new float[dstSize][4];
        for (int o = 0; o < dstSize; o++) {
            float real = scale * (o + 0.5f) - 0.5f;
            int in = (int) Math.floor(real);
            float t = real - in;
            weight[o] = coefficients(t);
            for (int k = 0; k < 4; k++) {
                index[o][k] = Math.min(Math.max(in - 1 + k, 0), srcSize - 1);
            }
        }
        float[] out = new float[dstSize * dstSize * channels];
        for (int oy = 0; oy < dstSize; oy++) {
            for (int ox = 0; ox < dstSize; ox++) {
                int base = (oy * dstSize + ox) * channels;
                for (int c = 0; c < channels; c++) {
                    float result = 0f;
                    for (int ky = 0; ky < 4; ky++) {
                        int row = index[oy][ky] * srcSize;
                        float t = 0f;
                        for (int kx = 0; kx < 4; kx++) {
                            float v = src[(row + index[ox][kx]) * channels + c] * weight[ox][kx];
                            t = kx == 0 ? v : t + v;
                        }
                        float v = t * weight[oy][ky];
                        result = ky == 0 ? v : result + v;
                    }
                    out[base + c] = result;
                }
            }
        }
        return out;
    }

    static float[] coefficients(float t) {
        float x1 = t;
        float x2 = 1.0f - t;
        return new float[] {
                cubic2(x1 + 1.0f), cubic1(x1), cubic1(x2), cubic2(x2 + 1.0f)};
    }

    private static float cubic1(float x) {
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    }

    private static float cubic2(float x) {
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }
}
