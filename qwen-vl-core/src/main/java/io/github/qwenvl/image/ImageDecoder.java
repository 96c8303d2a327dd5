package io.github.qwenvl.image;

import io.github.qwenvl.image.ImageInputException.Reason;
import org.w3c.dom.Node;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * Decodes an {@link ImageSource} to an 8-bit {@link RgbImage} with ImageIO, refusing bad input with a typed
 * {@link ImageInputException}:
 * <ul>
 *   <li>the pixel count is read from the header and checked against {@link #maxDecodePixels()} before any
 *       raster is allocated, so a small file claiming a huge size (decompression bomb) costs nothing;</li>
 *   <li>only the formats in {@link #formats()} are decoded (ImageIO's WBMP reader, for one, has no magic
 *       number and would "recognise" arbitrary bytes);</li>
 *   <li>the RGB conversion follows PIL ({@link AlphaMode}: {@code convert("RGB")} by default, which is what
 *       transformers 4.50's {@code convert_to_rgb} does for Qwen2-VL, or compositing over white).</li>
 * </ul>
 * Instances are immutable and thread-safe.
 */
public final class ImageDecoder {

    /** Default decode limit: 64 megapixels (≈ 200 MB as RGB). PIL warns at 89.5 MP and refuses at 179 MP. */
    public static final long DEFAULT_MAX_DECODE_PIXELS = 64L * 1024 * 1024;

    /**
     * Formats decoded by default (ImageIO format names, lower case). TIFF and WBMP are left out on purpose:
     * TIFF's tile/strip structure offers more room for hostile files, WBMP has no magic number. Pass your
     * own set (e.g. adding "tiff") to the constructor to change this.
     */
    public static final Set<String> DEFAULT_FORMATS = Set.of("png", "jpeg", "gif", "bmp");

    private final long maxDecodePixels;
    private final AlphaMode alphaMode;
    private final Set<String> formats;

    /**
     * @param maxDecodePixels largest width × height accepted, checked from the image header
     * @param alphaMode       how transparency is reduced to RGB
     * @param formats         ImageIO format names to accept (lower case), e.g. {@link #DEFAULT_FORMATS}
     */
    public ImageDecoder(long maxDecodePixels, AlphaMode alphaMode, Set<String> formats) {
        if (maxDecodePixels <= 0) {
            throw new IllegalArgumentException("maxDecodePixels must be positive: " + maxDecodePixels);
        }
        this.maxDecodePixels = maxDecodePixels;
        this.alphaMode = java.util.Objects.requireNonNull(alphaMode, "alphaMode");
        this.formats = Set.copyOf(formats);
    }

    /** Qwen2-VL's conversion ({@link AlphaMode#DROP}, as transformers 4.50), default limit and formats. */
    public ImageDecoder() {
        this(DEFAULT_MAX_DECODE_PIXELS, AlphaMode.DROP, DEFAULT_FORMATS);
    }

    public ImageDecoder withMaxDecodePixels(long max) {
        return new ImageDecoder(max, alphaMode, formats);
    }

    public ImageDecoder withAlphaMode(AlphaMode mode) {
        return new ImageDecoder(maxDecodePixels, mode, formats);
    }

    public long maxDecodePixels() {
        return maxDecodePixels;
    }

    public AlphaMode alphaMode() {
        return alphaMode;
    }

    public Set<String> formats() {
        return formats;
    }

    /** An image's size as its header gives it. */
    public record Dimensions(int width, int height) {
    }

    /**
     * The image's width and height from its header, without decoding its pixels (the same checks of format and
     * size as {@link #decode}): what an image will cost can be known before it is decoded.
     */
    public Dimensions dimensions(ImageSource source) {
        java.util.Objects.requireNonNull(source, "source");
        if (source instanceof ImageSource.Decoded decoded) {
            if (decoded.image() == null) {
                throw new ImageInputException(Reason.EMPTY, "decoded image is null");
            }
            checkSize(decoded.image().getWidth(), decoded.image().getHeight());
            return new Dimensions(decoded.image().getWidth(), decoded.image().getHeight());
        }
        if (source instanceof ImageSource.Bytes bytes) {
            if (bytes.data().length == 0) {
                throw new ImageInputException(Reason.EMPTY, "image data is empty (0 bytes)");
            }
            return readStream(new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes.data())), "image bytes",
                    true).dimensions;
        }
        Path path = ((ImageSource.File) source).path();
        try {
            if (Files.size(path) == 0) {
                throw new ImageInputException(Reason.EMPTY, "image file is empty: " + path);
            }
            return readStream(new FileImageInputStream(path.toFile()), path.toString(), true).dimensions;
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new ImageInputException(Reason.UNREADABLE, "image file not found: " + path, e);
        } catch (IOException e) {
            throw new ImageInputException(Reason.UNREADABLE, "cannot read image file " + path + ": " + e.getMessage(), e);
        }
    }

    /** Decodes and converts to RGB. */
    public RgbImage decode(ImageSource source) {
        java.util.Objects.requireNonNull(source, "source");
        if (source instanceof ImageSource.Decoded decoded) {
            BufferedImage image = decoded.image();
            if (image == null) {
                throw new ImageInputException(Reason.EMPTY, "decoded image is null");
            }
            checkSize(image.getWidth(), image.getHeight());
            return RgbConversion.toRgb(image, alphaMode, false);
        }
        if (source instanceof ImageSource.Bytes bytes) {
            if (bytes.data().length == 0) {
                throw new ImageInputException(Reason.EMPTY, "image data is empty (0 bytes)");
            }
            return decodeStream(new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes.data())), "image bytes");
        }
        Path path = ((ImageSource.File) source).path();
        try {
            if (Files.size(path) == 0) {
                throw new ImageInputException(Reason.EMPTY, "image file is empty: " + path);
            }
            return decodeStream(new FileImageInputStream(path.toFile()), path.toString());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new ImageInputException(Reason.UNREADABLE, "image file not found: " + path, e);
        } catch (IOException e) {
            throw new ImageInputException(Reason.UNREADABLE, "cannot read image file " + path + ": " + e.getMessage(), e);
        }
    }

    private RgbImage decodeStream(ImageInputStream stream, String what) {
        return readStream(stream, what, false).image;
    }

    /** What {@link #readStream} read: the header's size, and the pixels unless only the header was asked for. */
    private record Read(Dimensions dimensions, RgbImage image) {
    }

    private Read readStream(ImageInputStream stream, String what, boolean headerOnly) {
        try (stream) {
            ImageReader reader = findReader(stream, what);
            try {
                reader.setInput(stream, true, true);
                String format = reader.getFormatName().toLowerCase(Locale.ROOT);
                int width = reader.getWidth(0);
                int height = reader.getHeight(0);
                checkSize(width, height);
                if (headerOnly) {
                    return new Read(new Dimensions(width, height), null);
                }
                BufferedImage image = reader.read(0);
                boolean rgbPngWithTrns = format.equals("png") && image.getColorModel().hasAlpha()
                        && pngColorTypeIs(reader, "RGB");
                return new Read(new Dimensions(width, height), RgbConversion.toRgb(image, alphaMode, rgbPngWithTrns));
            } finally {
                reader.dispose();
            }
        } catch (ImageInputException e) {
            throw e;
        } catch (IIOException e) {
            throw classify(e, what);
        } catch (IOException | RuntimeException e) {
            // ImageIO readers signal corrupt data with all sorts of runtime exceptions
            throw new ImageInputException(Reason.UNREADABLE, "cannot decode " + what + ": " + e, e);
        } catch (OutOfMemoryError e) {
            throw new ImageInputException(Reason.TOO_MANY_PIXELS, "not enough memory to decode " + what, e);
        }
    }

    private ImageReader findReader(ImageInputStream stream, String what) {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(stream);
        String seen = null;
        while (readers.hasNext()) {
            ImageReader reader = readers.next();
            try {
                String format = reader.getFormatName().toLowerCase(Locale.ROOT);
                if (formats.contains(format)) {
                    return reader;
                }
                seen = format;
            } catch (IOException e) {
                seen = "?";
            }
            reader.dispose();
        }
        throw new ImageInputException(Reason.UNSUPPORTED_FORMAT, seen == null
                ? what + " is not in a recognised image format (accepted: " + formats + ")"
                : what + " is in format '" + seen + "', which is not accepted (accepted: " + formats + ")");
    }

    private void checkSize(long width, long height) {
        if (width <= 0 || height <= 0) {
            throw new ImageInputException(Reason.ZERO_SIZE, "image has no pixels: " + width + "x" + height);
        }
        if (width * height > maxDecodePixels) {
            throw new ImageInputException(Reason.TOO_MANY_PIXELS, "image is " + width + "x" + height + " = "
                    + width * height + " pixels, more than the decode limit of " + maxDecodePixels);
        }
    }

    private static ImageInputException classify(IIOException e, String what) {
        // ImageIO wraps the specific problem ("Image width <= 0!") in generic ones ("I/O error reading PNG header!")
        StringBuilder chain = new StringBuilder();
        for (Throwable t = e; t != null && chain.length() < 2000; t = t.getCause()) {
            chain.append(chain.length() == 0 ? "" : ": ").append(t.getMessage());
        }
        String msg = chain.toString();
        if (msg.contains("Unsupported Image Type") || msg.contains("Unsupported")) {
            // e.g. CMYK / YCCK JPEG, which ImageIO's JPEG reader cannot convert
            return new ImageInputException(Reason.UNSUPPORTED_FORMAT, what + ": " + msg, e);
        }
        if (msg.contains("width <= 0") || msg.contains("height <= 0")) {
            return new ImageInputException(Reason.ZERO_SIZE, what + " has no pixels: " + msg, e);
        }
        return new ImageInputException(Reason.UNREADABLE, "cannot decode " + what + ": " + msg, e);
    }

    /** Reads the colour type from the PNG IHDR metadata ("RGB", "Gray", "Palette", "RGBAlpha", "GrayAlpha"). */
    private static boolean pngColorTypeIs(ImageReader reader, String colorType) throws IOException {
        IIOMetadata metadata = reader.getImageMetadata(0);
        if (metadata == null || !java.util.Arrays.asList(metadata.getMetadataFormatNames())
                .contains("javax_imageio_png_1.0")) {
            return false;
        }
        Node root = metadata.getAsTree("javax_imageio_png_1.0");
        for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n.getNodeName().equals("IHDR")) {
                Node type = n.getAttributes().getNamedItem("colorType");
                return type != null && colorType.equals(type.getNodeValue());
            }
        }
        return false;
    }
}
