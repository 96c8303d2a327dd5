package io.github.qwenvl.nn.cpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Plain-Java kernels: correct everywhere, used when the Vector API module is not enabled. */
final class ScalarKernels implements Kernels {

    static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void bf16Rows(ByteBuffer segment, int cols, int rowFrom, int rowTo, float[] x, float[] even, float[] odd,
                         float[] out, int outOffset) {
        for (int r = rowFrom; r < rowTo; r++) {
            int base = r * cols * 2;
            float s0 = 0f;
            float s1 = 0f;
            int j = 0;
            for (; j + 1 < cols; j += 2) {
                s0 += Float.intBitsToFloat(segment.getShort(base + 2 * j) << 16) * x[j];
                s1 += Float.intBitsToFloat(segment.getShort(base + 2 * j + 2) << 16) * x[j + 1];
            }
            for (; j < cols; j++) {
                s0 += Float.intBitsToFloat(segment.getShort(base + 2 * j) << 16) * x[j];
            }
            out[outOffset + r - rowFrom] = s0 + s1;
        }
    }

    @Override
    public void permuteForQ8(float[] x, int n, float[] out) {
        System.arraycopy(x, 0, out, 0, n);
    }

    @Override
    public void q8Rows(ByteBuffer quants, ByteBuffer scales, int cols, int rowFrom, int rowTo, float[] x,
                       float[] permuted, float[] out, int outOffset) {
        int blocks = WeightMatrix.blocksPerRow(cols);
        for (int r = rowFrom; r < rowTo; r++) {
            int base = r * cols;
            float s = 0f;
            for (int b = 0; b < blocks; b++) {
                int j0 = b * WeightMatrix.Q8_BLOCK;
                int j1 = Math.min(cols, j0 + WeightMatrix.Q8_BLOCK);
                float block = 0f;
                for (int j = j0; j < j1; j++) {
                    block += quants.get(base + j) * x[j];
                }
                s += block * scales.getFloat(4 * (r * blocks + b));
            }
            out[outOffset + r - rowFrom] = s;
        }
    }

    @Override
    public void widenBf16(ByteBuffer src, int srcOffset, ByteBuffer dst, int dstOffset, int count) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = dst.duplicate().order(ByteOrder.nativeOrder());
        for (int i = 0; i < count; i++) {
            out.putInt(dstOffset + 4 * i, in.getShort(srcOffset + 2 * i) << 16);
        }
    }

    @Override
    public void f32Rows(ByteBuffer segment, int cols, int rowFrom, int rowTo, float[] x, float[] out, int outOffset) {
        for (int r = rowFrom; r < rowTo; r++) {
            int base = r * cols * 4;
            float s = 0f;
            for (int j = 0; j < cols; j++) {
                s += segment.getFloat(base + 4 * j) * x[j];
            }
            out[outOffset + r - rowFrom] = s;
        }
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s += a[aOffset + i] * b[bOffset + i];
        }
        return s;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }

    @Override
    public void prepareForQ4(float[] x, int n, int groupSize, float[] out) {
        System.arraycopy(x, 0, out, 0, n);
        Kernels.q4GroupSums(x, n, groupSize, out);
    }

    @Override
    public void q4Rows(ByteBuffer codes, ByteBuffer scales, ByteBuffer offsets, int cols, int groupSize, int rowFrom,
                       int rowTo, float[] x, float[] prepared, float[] out, int outOffset) {
        int groups = cols / groupSize;
        for (int r = rowFrom; r < rowTo; r++) {
            int base = r * (cols / 2);
            float sum = 0f;
            for (int g = 0; g < groups; g++) {
                float block = 0f;
                for (int j = g * groupSize; j < (g + 1) * groupSize; j += 2) {
                    int b = codes.get(base + (j >> 1));
                    block += (b & 0xF) * x[j] + ((b >> 4) & 0xF) * x[j + 1];
                }
                int at = 4 * (r * groups + g);
                sum += block * scales.getFloat(at) + offsets.getFloat(at) * prepared[cols + g];
            }
            out[outOffset + r - rowFrom] = sum;
        }
    }
}
