package io.github.qwenvl.demo.model;

import org.springframework.util.MimeType;

/** An image received from a client, held in memory only. */
public record UploadedImage(byte[] bytes, MimeType mimeType) {
}
