package io.github.qwenvl.image;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;

/** Builds small encoded test images in memory, including deliberately broken ones. */
final class TestImages {

    private TestImages() {
    }

    /** A w×h RGB image of seeded noise, encoded as {@code format}. */
    static byte[] noise(int w, int h, String format) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(42);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, r.nextInt(1 << 24));
            }
        }
        return encode(img, format);
    }

    /** A w×h decoded RGB image of seeded noise. */
    static RgbImage rgbNoise(int w, int h, long seed) {
        byte[] rgb = new byte[w * h * 3];
        new Random(seed).nextBytes(rgb);
        return new RgbImage(w, h, rgb);
    }

    static byte[] encode(BufferedImage img, String format) {
        try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            if (!ImageIO.write(img, format, out)) {
                throw new IllegalStateException("no writer for " + format);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A copy of {@code png} whose IHDR claims width × height (the chunk's CRC recomputed, so decoders accept
     * the header): the image data still describes the original small image.
     */
    static byte[] withPngSize(byte[] png, int width, int height) {
        byte[] out = Arrays.copyOf(png, png.length);
        // signature (8) + length (4) + "IHDR" (4); the IHDR data follows
        int data = 16;
        if (!new String(out, 12, 4, java.nio.charset.StandardCharsets.US_ASCII).equals("IHDR")) {
            throw new IllegalArgumentException("first chunk is not IHDR");
        }
        ByteBuffer.wrap(out, data, 8).putInt(width).putInt(height);
        CRC32 crc = new CRC32();
        crc.update(out, 12, 4 + 13);
        ByteBuffer.wrap(out, data + 13, 4).putInt((int) crc.getValue());
        return out;
    }
}
