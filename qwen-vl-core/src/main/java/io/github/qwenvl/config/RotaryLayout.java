package io.github.qwenvl.config;

import java.util.Arrays;

/**
 * Which position axis (0 temporal, 1 height, 2 width) rotates each dimension of a query/key head. Text tokens hold
 * the same position on all three axes, so every layout is plain 1-D RoPE for them.
 */
public enum RotaryLayout {
    /** 1-D RoPE: every dimension rotates with axis 0. */
    ROPE_1D,
    /**
     * Qwen2-VL / Qwen2.5-VL M-RoPE: the head_dim/2 frequencies in consecutive chunks of {@code mrope_section}
     * (t, h, w), repeated for both halves.
     */
    MROPE_CHUNKED,
    /**
     * Qwen3-VL interleaved M-RoPE ({@code apply_interleaved_mrope}): frequency j takes axis 1 when
     * {@code j % 3 == 1 && j < 3·section[1]}, axis 2 when {@code j % 3 == 2 && j < 3·section[2]}, else axis 0;
     * repeated for both halves.
     */
    MROPE_INTERLEAVED;

    /** The axis of each of the {@code headDim} dimensions. */
    public int[] axes(int[] section, int headDim) {
        int half = headDim / 2;
        int[] axes = new int[headDim];
        switch (this) {
            case ROPE_1D -> {
                return axes;
            }
            case MROPE_CHUNKED -> {
                int d = 0;
                for (int repeat = 0; repeat < 2; repeat++) {
                    for (int a = 0; a < section.length; a++) {
                        for (int k = 0; k < section[a] && d < headDim; k++) {
                            axes[d++] = a % 3;
                        }
                    }
                }
                if (d != headDim) {
                    throw new IllegalArgumentException("mrope_section " + Arrays.toString(section)
                            + " does not cover head_dim " + headDim);
                }
                return axes;
            }
            case MROPE_INTERLEAVED -> {
                if (section.length != 3 || section[0] + section[1] + section[2] != half) {
                    throw new IllegalArgumentException("mrope_section " + Arrays.toString(section)
                            + " does not cover head_dim/2 = " + half);
                }
                for (int j = 0; j < half; j++) {
                    int axis = 0;
                    if (j % 3 == 1 && j < 3 * section[1]) {
                        axis = 1;
                    } else if (j % 3 == 2 && j < 3 * section[2]) {
                        axis = 2;
                    }
                    axes[j] = axis;
                    axes[j + half] = axis;
                }
                return axes;
            }
            default -> throw new IllegalStateException(name());
        }
    }
}
