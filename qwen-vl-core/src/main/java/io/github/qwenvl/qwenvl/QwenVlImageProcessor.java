package io.github.qwenvl.qwenvl;

import io.github.qwenvl.image.ImageDecoder;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.image.PillowResize;
import io.github.qwenvl.image.RgbImage;

/**
 * visual.py's image transform: {@code convert('RGB')} (alpha dropped, not composited), Pillow bicubic resize to
 * S×S (no aspect preservation), {@code ToTensor} and CLIP {@code Normalize}, in float32.
 */
public final class QwenVlImageProcessor {

    public static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** An image ready for the visual encoder. */
    public record Processed(float[] pixelValues, int originalWidth, int originalHeight) {
    }

    private final ImageDecoder decoder;
    private final int size;

    public QwenVlImageProcessor(ImageDecoder decoder, int size) {
        this.decoder = decoder;
        this.size = size;
    }

    public ImageDecoder decoder() {
        return decoder;
    }

    public int size() {
        return size;
    }

    public RgbImage resize(RgbImage rgb) {
        return PillowResize.bicubic(rgb, size, size);
    }

    /** (3, S, S) normalised values of a resized image. */
    public static float[] normalize(RgbImage resized) {
        int w = resized.width();
        int h = resized.height();
        float[] out = new float[3 * w * h];
        byte[] rgb = resized.rgb();
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < w * h; i++) {
                float v = (rgb[i * 3 + c] & 0xFF) / 255f;
                out[c * w * h + i] = (v - MEAN[c]) / STD[c];
            }
        }
        return out;
    }

    public Processed process(ImageSource source) {
        RgbImage rgb = decoder.decode(source);
        return new Processed(normalize(resize(rgb)), rgb.width(), rgb.height());
    }
}
