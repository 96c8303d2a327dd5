package io.github.qwenvl.image;

import java.awt.image.BufferedImage;
import java.nio.file.Path;

/** Where an image comes from: encoded bytes (PNG, JPEG, ...), a file, or an already decoded image. */
public sealed interface ImageSource permits ImageSource.Bytes, ImageSource.File, ImageSource.Decoded {

    static ImageSource of(byte[] encoded) {
        return new Bytes(encoded);
    }

    static ImageSource of(Path path) {
        return new File(path);
    }

    static ImageSource of(BufferedImage image) {
        return new Decoded(image);
    }

    /** Encoded image bytes. */
    record Bytes(byte[] data) implements ImageSource {
        public Bytes {
            if (data == null) {
                throw new IllegalArgumentException("image bytes must not be null");
            }
        }
    }

    /** An image file on disk, chosen by the application (never by end-user input). */
    record File(Path path) implements ImageSource {
    }

    /** A decoded image. */
    record Decoded(BufferedImage image) implements ImageSource {
    }
}
