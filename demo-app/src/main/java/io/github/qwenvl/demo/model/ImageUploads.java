package io.github.qwenvl.demo.model;

import io.github.qwenvl.demo.DemoProperties;
import io.github.qwenvl.demo.api.ApiException;
import org.springframework.stereotype.Component;
import org.springframework.util.MimeType;
import org.springframework.util.MimeTypeUtils;
import org.springframework.web.multipart.MultipartFile;

import java.io.IOException;
import java.util.Base64;
import java.util.Locale;

/**
 * Turns client input into in-memory images: {@code data:image/...;base64,...} URLs or uploaded bytes,
 * nothing else. Any URL (http, file, ...) is refused here, before a {@code Media} is built, so no client
 * can make the server read a file or fetch a URL. The format is taken from the bytes, not from the client.
 */
@Component
public class ImageUploads {

    private final DemoProperties properties;

    public ImageUploads(DemoProperties properties) {
        this.properties = properties;
    }

    public UploadedImage fromDataUrl(String url) {
        if (url == null || url.isBlank()) {
            throw ApiException.badRequest("An image is empty");
        }
        String trimmed = url.strip();
        if (!trimmed.regionMatches(true, 0, "data:", 0, 5)) {
            throw ApiException.unsupported("Images must be sent as data: URLs (data:image/png;base64,...) or uploaded;"
                    + " other URLs (http:, file:, ...) are not accepted");
        }
        int comma = trimmed.indexOf(',');
        if (comma < 0) {
            throw ApiException.unsupported("Malformed data: URL (no comma)");
        }
        String header = trimmed.substring(5, comma).toLowerCase(Locale.ROOT);
        if (!header.startsWith("image/")) {
            throw ApiException.unsupported("data: URL of type '" + header + "' is not an image");
        }
        if (!header.endsWith(";base64")) {
            throw ApiException.unsupported("Only base64 data: URLs are supported for images");
        }
        long encodedLength = trimmed.length() - comma - 1L;
        long max = properties.getMaxImageSize().toBytes();
        if (encodedLength / 4 * 3 > max + 3) {
            throw tooLarge(encodedLength / 4 * 3);
        }
        byte[] bytes;
        try {
            bytes = Base64.getMimeDecoder().decode(trimmed.substring(comma + 1));
        } catch (IllegalArgumentException e) {
            throw ApiException.unsupported("Malformed base64 in a data: URL");
        }
        return check(bytes);
    }

    public UploadedImage fromUpload(MultipartFile file) {
        if (file.getSize() > properties.getMaxImageSize().toBytes()) {
            throw tooLarge(file.getSize());
        }
        try {
            return check(file.getBytes());
        } catch (IOException e) {
            throw ApiException.badRequest("Cannot read the uploaded image: " + e.getMessage());
        }
    }

    private UploadedImage check(byte[] bytes) {
        if (bytes.length == 0) {
            throw ApiException.badRequest("An image is empty");
        }
        if (bytes.length > properties.getMaxImageSize().toBytes()) {
            throw tooLarge(bytes.length);
        }
        MimeType type = sniff(bytes);
        if (type == null) {
            throw ApiException.unsupported("Unsupported image format: send PNG, JPEG, GIF or BMP");
        }
        return new UploadedImage(bytes, type);
    }

    private ApiException tooLarge(long size) {
        return ApiException.tooLarge("The image is too large (" + (size >> 10) + " KiB); the limit is "
                + (properties.getMaxImageSize().toBytes() >> 10) + " KiB (demo.max-image-size)");
    }

    /** PNG, JPEG, GIF or BMP by magic bytes; {@code null} for anything else. */
    static MimeType sniff(byte[] b) {
        if (b.length >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return MimeTypeUtils.IMAGE_PNG;
        }
        if (b.length >= 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF) {
            return MimeTypeUtils.IMAGE_JPEG;
        }
        if (b.length >= 6 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8') {
            return MimeTypeUtils.IMAGE_GIF;
        }
        if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') {
            return MimeType.valueOf("image/bmp");
        }
        return null;
    }
}
