package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.config.Qwen2VisionConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * Qwen2.5-VL window attention layout ({@code get_window_index}): merged tokens are regrouped into
 * windows of (windowSize / merge / patch)² merged tokens (4×4 = 112 px), row-major over windows;
 * partial windows at the right/bottom edge keep only their real tokens.
 *
 * @param windowIndex     (P/4): merged-token permutation into window order
 * @param cuWindowSeqlens window boundaries in patches, with empty windows collapsed (unique_consecutive)
 */
record WindowPartition(int[] windowIndex, int[] cuWindowSeqlens) {

    static WindowPartition of(List<ImageGrid> grids, Qwen2VisionConfig config) {
        int merge = config.spatialMergeSize();
        int unit = merge * merge;
        int windowTokens = config.windowSize() / merge / config.patchSize(); // merged tokens per window side
        List<Integer> index = new ArrayList<>();
        List<Integer> cu = new ArrayList<>();
        cu.add(0);
        int offset = 0;
        for (ImageGrid g : grids) {
            int gh = g.h() / merge;
            int gw = g.w() / merge;
            // the reference pads by a full window even when the grid divides evenly
            int padH = windowTokens - gh % windowTokens;
            int padW = windowTokens - gw % windowTokens;
            int windowsH = (gh + padH) / windowTokens;
            int windowsW = (gw + padW) / windowTokens;
            for (int t = 0; t < g.t(); t++) {
                for (int wh = 0; wh < windowsH; wh++) {
                    for (int ww = 0; ww < windowsW; ww++) {
                        int count = 0;
                        for (int r = wh * windowTokens; r < (wh + 1) * windowTokens; r++) {
                            for (int c = ww * windowTokens; c < (ww + 1) * windowTokens; c++) {
                                if (r < gh && c < gw) {
                                    index.add(offset + t * gh * gw + r * gw + c);
                                    count++;
                                }
                            }
                        }
                        int boundary = cu.get(cu.size() - 1) + count * unit;
                        if (boundary != cu.get(cu.size() - 1)) {
                            cu.add(boundary);
                        }
                    }
                }
            }
            offset += g.t() * gh * gw;
        }
        return new WindowPartition(index.stream().mapToInt(Integer::intValue).toArray(),
                cu.stream().mapToInt(Integer::intValue).toArray());
    }
}
