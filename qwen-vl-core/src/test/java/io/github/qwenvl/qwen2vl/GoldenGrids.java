package io.github.qwenvl.qwen2vl;

import java.util.ArrayList;
import java.util.List;

/** Helpers to split a batch's image_grid_thw rows over its prompts. */
final class GoldenGrids {

    private GoldenGrids() {
    }

    static List<ImageGrid> parse(long[] rows) {
        List<ImageGrid> grids = new ArrayList<>();
        if (rows == null) {
            return grids;
        }
        for (int i = 0; i + 2 < rows.length; i += 3) {
            grids.add(new ImageGrid((int) rows[i], (int) rows[i + 1], (int) rows[i + 2]));
        }
        return grids;
    }

    /** Number of images in one row: runs of image pads (each image is one contiguous run). */
    static int imagesIn(int[] ids, int imageTokenId) {
        int count = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == imageTokenId && (i == 0 || ids[i - 1] != imageTokenId)) {
                count++;
            }
        }
        return count;
    }

    static int[] row(long[] flat, int row, int width) {
        int[] out = new int[width];
        for (int i = 0; i < width; i++) {
            out[i] = (int) flat[row * width + i];
        }
        return out;
    }
}
