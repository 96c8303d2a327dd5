package io.github.qwenvl.spring.remote;

import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.InvalidRequestException;
import io.github.qwenvl.config.ImageProcessorConfig;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.image.ImageDecoder;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.image.PillowResize;
import io.github.qwenvl.image.RgbImage;
import io.github.qwenvl.engine.ArchitectureSupport;
import io.github.qwenvl.engine.Architectures;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Base64;

/**
 * The images of a request as the served model will see them, computed from the checkpoint's own configuration files
 * (no weights): each image is decoded and checked as the local engine does, its resized size and token count follow
 * the architecture's resize rule with the served pixel bounds, and it leaves as a {@code data:} URL — the original
 * bytes, or (with client-side downscaling) a PNG already at the size the server would resize it to.
 */
final class ServedImages {

    private final ModelConfig config;
    private final ImageDecoder decoder;
    private final Integer servedMinPixels;
    private final Integer servedMaxPixels;
    private final boolean downscale;
    /** The architecture's sizing rule (smart_resize, or Qwen-VL's fixed square), from the registry. */
    private final ArchitectureSupport architecture;

    ServedImages(ModelConfig config, long maxImagePixels, Integer servedMinPixels, Integer servedMaxPixels,
                 boolean downscale) {
        this.config = config;
        this.decoder = new ImageDecoder().withMaxDecodePixels(maxImagePixels);
        this.servedMinPixels = servedMinPixels;
        this.servedMaxPixels = servedMaxPixels;
        this.downscale = downscale;
        this.architecture = Architectures.supportOf(config.architecture());
    }

    /** One image ready to send. */
    record Prepared(ImageInfo info, String dataUrl) {
    }

    /** {min, max} resized-area bounds: request options over the served bounds over preprocessor_config.json. */
    long[] pixelBounds(GenerationOptions options) {
        ImageProcessorConfig pc = config.imageProcessor();
        long min = options.minPixels() != null ? options.minPixels()
                : servedMinPixels != null ? servedMinPixels : pc.minPixels();
        long max = options.maxPixels() != null ? options.maxPixels()
                : servedMaxPixels != null ? servedMaxPixels : pc.maxPixels();
        if (min < 1 || max < min) {
            throw new InvalidRequestException("Invalid pixel bounds: minPixels " + min + ", maxPixels " + max);
        }
        return new long[] {min, max};
    }

    ImageInfo describe(ImageSource source, GenerationOptions options, int index) {
        RgbImage rgb = decoder.decode(source);
        return info(rgb, options, index);
    }

    private ImageInfo info(RgbImage rgb, GenerationOptions options, int index) {
        long[] bounds = pixelBounds(options);
        return architecture.imageInfo(config, index, rgb.width(), rgb.height(), bounds[0], bounds[1]);
    }

    Prepared prepare(ImageSource source, GenerationOptions options, int index) {
        RgbImage rgb = decoder.decode(source);
        ImageInfo info = info(rgb, options, index);
        long originalArea = (long) info.originalWidth() * info.originalHeight();
        long resizedArea = (long) info.resizedWidth() * info.resizedHeight();
        if (downscale && resizedArea < originalArea) {
            RgbImage resized = PillowResize.bicubic(rgb, info.resizedWidth(), info.resizedHeight());
            return new Prepared(info, "data:image/png;base64," + Base64.getEncoder().encodeToString(png(resized)));
        }
        byte[] encoded;
        if (source instanceof ImageSource.Bytes b) {
            encoded = b.data();
        } else if (source instanceof ImageSource.File f) {
            encoded = read(f);
        } else {
            encoded = png(rgb);
        }
        return new Prepared(info, "data:" + mimeType(encoded) + ";base64," + Base64.getEncoder().encodeToString(encoded));
    }

    private static byte[] read(ImageSource.File f) {
        try {
            return Files.readAllBytes(f.path());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + f.path(), e);
        }
    }

    /** The decoder has accepted the bytes, so they are PNG, JPEG, GIF or BMP. */
    static String mimeType(byte[] b) {
        if (b.length > 3 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return "image/png";
        }
        if (b.length > 2 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8) {
            return "image/jpeg";
        }
        if (b.length > 3 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F') {
            return "image/gif";
        }
        if (b.length > 1 && b[0] == 'B' && b[1] == 'M') {
            return "image/bmp";
        }
        return "application/octet-stream";
    }

    static byte[] png(RgbImage image) {
        BufferedImage out = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
        byte[] rgb = image.rgb();
        int[] row = new int[image.width()];
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                int i = 3 * (y * image.width() + x);
                row[x] = (rgb[i] & 0xFF) << 16 | (rgb[i + 1] & 0xFF) << 8 | (rgb[i + 2] & 0xFF);
            }
            out.setRGB(0, y, image.width(), 1, row, 0, image.width());
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(out, "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }
}
