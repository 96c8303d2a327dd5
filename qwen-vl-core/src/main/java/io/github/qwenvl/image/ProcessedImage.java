package io.github.qwenvl.image;

import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * One image ready for the Qwen2-VL vision tower: the resized RGB image, and the normalisation that turns it into the
 * tower's patch rows. The float32 pixel values are written only when asked for ({@link #writePixelValues}, straight
 * into the engine's input tensor, or {@link #pixelValues()}): a 1344×1008 image is 4 MB of RGB bytes here, against
 * 32.5 MB of float32 values that would wait in the Java heap until the vision pass.
 *
 * <p>Patch layout: the [3, H, W] image repeated T times along time is viewed as
 * [1, T, 3, H/(P·M), M, P, W/(P·M), M, P] and permuted to (0, 3, 6, 4, 7, 2, 1, 5, 8): rows run over merge blocks
 * (row-major), then the M×M patches inside a block (row-major); each row holds channel, then time, then the P×P
 * pixels. P = patch (14 for Qwen2-VL, 16 for Qwen3-VL), M = merge (2), T = temporal patch (2).
 */
public final class ProcessedImage {

    private final RgbImage resized;
    private final float[][] normalization; // [channel][uint8 level] → normalised float32
    private final int patchSize;
    private final int temporalPatchSize;
    private final int mergeSize;
    private final int originalHeight;
    private final int originalWidth;

    /**
     * @param resized           the image after smart_resize (both sides multiples of patch · merge)
     * @param normalization     [3][256]: the float32 value of each channel's uint8 level after rescale and normalise
     * @param patchSize         P (14 or 16)
     * @param temporalPatchSize T (2): an image is its own T frames
     * @param mergeSize         M (2): M² patches become one LLM token
     * @param originalHeight    decoded height
     * @param originalWidth     decoded width
     */
    public ProcessedImage(RgbImage resized, float[][] normalization, int patchSize, int temporalPatchSize,
            int mergeSize, int originalHeight, int originalWidth) {
        this.resized = Objects.requireNonNull(resized, "resized");
        this.normalization = Objects.requireNonNull(normalization, "normalization");
        if (normalization.length != 3 || normalization[0].length != 256 || normalization[1].length != 256
                || normalization[2].length != 256) {
            throw new IllegalArgumentException("normalization must be [3][256]");
        }
        int unit = patchSize * mergeSize;
        if (resized.height() % unit != 0 || resized.width() % unit != 0) {
            throw new IllegalArgumentException("resized size " + resized.width() + "x" + resized.height()
                    + " is not a multiple of patch x merge " + unit);
        }
        this.patchSize = patchSize;
        this.temporalPatchSize = temporalPatchSize;
        this.mergeSize = mergeSize;
        this.originalHeight = originalHeight;
        this.originalWidth = originalWidth;
    }

    /** [numPatches, patchDim] row-major, rows in merge-block order: a new array each call. */
    public float[] pixelValues() {
        float[] values = new float[Math.multiplyExact(numPatches(), patchDim())];
        writePixelValues(FloatBuffer.wrap(values));
        return values;
    }

    /** Writes the numPatches · patchDim pixel values ({@link #pixelValues()}) into {@code out} from its position on. */
    public void writePixelValues(FloatBuffer out) {
        int p = patchSize;
        int m = mergeSize;
        int width = resized.width();
        byte[] rgb = resized.rgb();
        for (int bh = 0; bh < gridH() / m; bh++) {
            for (int bw = 0; bw < gridW() / m; bw++) {
                for (int mh = 0; mh < m; mh++) {
                    for (int mw = 0; mw < m; mw++) {
                        int y0 = (bh * m + mh) * p;
                        int x0 = (bw * m + mw) * p;
                        for (int c = 0; c < 3; c++) {
                            float[] levels = normalization[c];
                            for (int ti = 0; ti < temporalPatchSize; ti++) {
                                // every time step is the same frame
                                for (int py = 0; py < p; py++) {
                                    int from = ((y0 + py) * width + x0) * 3 + c;
                                    for (int px = 0; px < p; px++) {
                                        out.put(levels[rgb[from + px * 3] & 0xFF]);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** The uint8 image the model sees. */
    public RgbImage resized() {
        return resized;
    }

    /** Temporal patches (1 for an image). */
    public int gridT() {
        return 1;
    }

    /** Patch rows (resizedHeight / patch). */
    public int gridH() {
        return resized.height() / patchSize;
    }

    /** Patch columns (resizedWidth / patch). */
    public int gridW() {
        return resized.width() / patchSize;
    }

    /** Spatial merge of the vision tower (2): merge² patches become one LLM token. */
    public int mergeSize() {
        return mergeSize;
    }

    public int resizedHeight() {
        return resized.height();
    }

    public int resizedWidth() {
        return resized.width();
    }

    public int originalHeight() {
        return originalHeight;
    }

    public int originalWidth() {
        return originalWidth;
    }

    /** gridT · gridH · gridW rows of {@link #pixelValues()}. */
    public int numPatches() {
        return gridT() * gridH() * gridW();
    }

    /** Values per patch row: 3 · temporalPatch · patch² (1176 for Qwen2-VL, 1536 for Qwen3-VL). */
    public int patchDim() {
        return 3 * temporalPatchSize * patchSize * patchSize;
    }

    /** Number of image-pad tokens the prompt needs: t · h · w / merge². */
    public int numLlmTokens() {
        return numPatches() / (mergeSize * mergeSize);
    }

    /** The image_grid_thw row: {t, h, w}. */
    public long[] gridThw() {
        return new long[] {gridT(), gridH(), gridW()};
    }

    /** resizedWidth / originalWidth: multiply an original x by it to get the resized x. */
    public double scaleX() {
        return (double) resizedWidth() / originalWidth;
    }

    /** resizedHeight / originalHeight: multiply an original y by it to get the resized y. */
    public double scaleY() {
        return (double) resizedHeight() / originalHeight;
    }
}
