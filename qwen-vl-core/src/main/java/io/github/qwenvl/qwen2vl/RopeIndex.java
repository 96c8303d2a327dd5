package io.github.qwenvl.qwen2vl;

import java.util.List;

/**
 * M-RoPE position ids of a prompt ({@code get_rope_index} of transformers 4.50 for Qwen2-VL / Qwen2.5-VL images, and
 * of transformers 5 for Qwen3-VL images, which differs only in the padding positions): text tokens advance
 * all three axes (temporal, height, width) together; an image's merged tokens take
 * (t, row, column) offsets from the position after the preceding text; text resumes at max + 1.
 *
 * @param positions (3, seq): positions per axis; padding positions (mask 0) hold 1 like the reference
 * @param ropeDelta max position + 1 − padded length; while decoding, position = cache index + delta
 */
public record RopeIndex(long[][] positions, long ropeDelta) {

    /**
     * @param inputIds      one row of the batch, padded length
     * @param attentionMask 1 = real token, 0 = padding (null = all real)
     * @param grids         grids of the images in this row, in order
     * @param imageTokenId  {@code <|image_pad|>}
     * @param mergeSize     spatial merge (2)
     */
    public static RopeIndex compute(int[] inputIds, int[] attentionMask, List<ImageGrid> grids,
                                    int imageTokenId, int mergeSize) {
        return compute(inputIds, attentionMask, grids, imageTokenId, mergeSize, 1);
    }

    /**
     * As {@link #compute(int[], int[], List, int, int)}, with padding positions holding {@code padPosition}
     * (Qwen2-VL and Qwen2.5-VL: 1; Qwen3-VL: 0).
     */
    public static RopeIndex compute(int[] inputIds, int[] attentionMask, List<ImageGrid> grids,
                                    int imageTokenId, int mergeSize, long padPosition) {
        int n = inputIds.length;
        long[][] positions = new long[3][n];
        for (long[] axis : positions) {
            java.util.Arrays.fill(axis, padPosition);
        }
        // the real tokens of the row, and where they sit
        int[] realIndex = new int[n];
        int real = 0;
        for (int i = 0; i < n; i++) {
            if (attentionMask == null || attentionMask[i] != 0) {
                realIndex[real++] = i;
            }
        }
        long[][] llm = new long[3][real];
        int st = 0;
        long next = 0; // max position so far + 1
        int image = 0;
        while (true) {
            int ed = -1;
            for (int i = st; i < real; i++) {
                if (inputIds[realIndex[i]] == imageTokenId) {
                    ed = i;
                    break;
                }
            }
            if (ed < 0 || image >= grids.size()) {
                break;
            }
            for (int i = st; i < ed; i++) {
                long p = next + (i - st);
                llm[0][i] = p;
                llm[1][i] = p;
                llm[2][i] = p;
            }
            long base = next + (ed - st);
            ImageGrid g = grids.get(image++);
            int gh = g.h() / mergeSize;
            int gw = g.w() / mergeSize;
            int at = ed;
            long max = base;
            for (int t = 0; t < g.t(); t++) {
                for (int r = 0; r < gh; r++) {
                    for (int c = 0; c < gw; c++) {
                        llm[0][at] = base + t;
                        llm[1][at] = base + r;
                        llm[2][at] = base + c;
                        max = Math.max(max, Math.max(base + t, Math.max(base + r, base + c)));
                        at++;
                    }
                }
            }
            next = max + 1;
            st = at;
        }
        for (int i = st; i < real; i++) {
            long p = next + (i - st);
            llm[0][i] = p;
            llm[1][i] = p;
            llm[2][i] = p;
        }
        long max = -1;
        for (int i = 0; i < real; i++) {
            for (int a = 0; a < 3; a++) {
                positions[a][realIndex[i]] = llm[a][i];
                max = Math.max(max, llm[a][i]);
            }
        }
        return new RopeIndex(positions, max + 1 - n);
    }
}
