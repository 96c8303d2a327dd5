package io.github.qwenvl.spring;

import io.github.qwenvl.image.ImageSource;
import org.springframework.ai.content.Media;
import org.springframework.util.MimeType;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * Turns Spring AI {@link Media} into engine images: bytes and resources as they are, {@code data:}
 * URLs decoded, {@code file:} URLs read only when allowed (off by default: an application passing a
 * user's URL into {@code Media} would otherwise let the user read any file the server can), and http(s)
 * URLs fetched only from hosts the application allows (never arbitrary URLs: that would let a prompt make
 * the server fetch anything), without following redirects, with a size cap and one deadline
 * ({@code download-timeout}) for the connection, the response headers and the whole body together.
 */
public final class MediaResolver {

    private final boolean allowFileUrls;
    private final Set<String> allowedHosts;
    private final long maxDownloadBytes;
    private final Duration timeout;
    private final HttpClient http;

    public MediaResolver(boolean allowFileUrls, Set<String> allowedHosts, long maxDownloadBytes, Duration timeout) {
        this.allowFileUrls = allowFileUrls;
        this.allowedHosts = allowedHosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
        this.maxDownloadBytes = maxDownloadBytes;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).connectTimeout(timeout).build();
    }

    /** Defaults: no file URLs, no http(s) hosts, 20 MiB, 30 s. */
    public static MediaResolver defaults() {
        return new MediaResolver(false, Set.of(), 20L << 20, Duration.ofSeconds(30));
    }

    public ImageSource resolve(Media media) {
        MimeType type = media.getMimeType();
        if (type != null && !"image".equals(type.getType()) && !"*".equals(type.getType())) {
            throw new UnsupportedContentException("Unsupported media type " + type + ": this model takes images"
                    + " (image/png, image/jpeg, image/gif, image/bmp); audio and video are not supported");
        }
        Object data = media.getData();
        if (data instanceof byte[] bytes) {
            return ImageSource.of(bytes);
        }
        if (data instanceof URL url) {
            return fromUri(URI.create(url.toString()));
        }
        if (data instanceof String text) {
            String trimmed = text.trim();
            if (trimmed.regionMatches(true, 0, "data:", 0, 5)) {
                return ImageSource.of(decodeDataUrl(trimmed));
            }
            if (trimmed.contains("://") || trimmed.regionMatches(true, 0, "file:", 0, 5)) {
                return fromUri(URI.create(trimmed));
            }
            try {
                return ImageSource.of(Base64.getMimeDecoder().decode(trimmed));
            } catch (IllegalArgumentException e) {
                throw new UnsupportedContentException("Image media data is neither a URL nor base64");
            }
        }
        throw new UnsupportedContentException("Unsupported media data of type "
                + (data == null ? "null" : data.getClass().getName()));
    }

    static byte[] decodeDataUrl(String url) {
        int comma = url.indexOf(',');
        if (comma < 0) {
            throw new UnsupportedContentException("Malformed data: URL (no comma)");
        }
        String header = url.substring(5, comma).toLowerCase(Locale.ROOT);
        if (!header.isEmpty() && !header.startsWith("image/")) {
            throw new UnsupportedContentException("data: URL of type " + header + " is not an image");
        }
        if (!header.endsWith(";base64")) {
            throw new UnsupportedContentException("Only base64 data: URLs are supported for images");
        }
        try {
            return Base64.getMimeDecoder().decode(url.substring(comma + 1));
        } catch (IllegalArgumentException e) {
            throw new UnsupportedContentException("Malformed base64 in data: URL");
        }
    }

    private ImageSource fromUri(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "file" -> {
                if (!allowFileUrls) {
                    throw new UnsupportedContentException("file: image URLs are disabled (spring.ai.qwen-vl.media.allow-file-urls)");
                }
                return ImageSource.of(Path.of(uri));
            }
            case "http", "https" -> {
                String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
                if (!allowedHosts.contains(host)) {
                    throw new UnsupportedContentException("Fetching images from " + host + " is not allowed; add the host to"
                            + " spring.ai.qwen-vl.media.allowed-hosts or send the image bytes / a data: URL");
                }
                return ImageSource.of(download(uri));
            }
            default -> throw new UnsupportedContentException("Unsupported image URL scheme '" + scheme + "'");
        }
    }

    /**
     * Fetches {@code uri} within one deadline. The client's own timeouts cover only connecting and the
     * response headers, so a server trickling the body byte by byte would keep the caller reading for as
     * long as it likes: the body stream is closed at the deadline, which ends the blocked read.
     */
    private byte[] download(URI uri) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        CompletableFuture<HttpResponse<InputStream>> pending =
                http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream());
        HttpResponse<InputStream> response;
        try {
            response = pending.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw timedOut(uri);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (cause instanceof java.net.http.HttpTimeoutException) {
                throw timedOut(uri);
            }
            throw new UnsupportedContentException("Cannot fetch " + uri + ": " + cause.getMessage());
        } catch (InterruptedException e) {
            pending.cancel(true);
            Thread.currentThread().interrupt();
            throw new UnsupportedContentException("Interrupted while fetching " + uri);
        }
        InputStream in = response.body();
        AtomicBoolean expired = new AtomicBoolean();
        CompletableFuture<Void> watchdog = CompletableFuture.runAsync(() -> {
            expired.set(true);
            closeQuietly(in);
        }, CompletableFuture.delayedExecutor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
        try (in) {
            if (response.statusCode() != 200) {
                throw new UnsupportedContentException("Fetching " + uri + " answered HTTP " + response.statusCode());
            }
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxDownloadBytes + 1));
            if (expired.get()) {
                throw timedOut(uri);
            }
            if (bytes.length > maxDownloadBytes) {
                throw new UnsupportedContentException("Image at " + uri + " is larger than " + maxDownloadBytes
                        + " bytes (spring.ai.qwen-vl.media.max-download-bytes)");
            }
            return bytes;
        } catch (IOException e) {
            if (expired.get()) {
                throw timedOut(uri);
            }
            throw new UnsupportedContentException("Cannot fetch " + uri + ": " + e.getMessage());
        } finally {
            watchdog.cancel(false);
        }
    }

    private UnsupportedContentException timedOut(URI uri) {
        return new UnsupportedContentException("Fetching " + uri + " took longer than " + timeout
                + " (spring.ai.qwen-vl.media.download-timeout)");
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // the reader sees the stream closed
        }
    }

    /** Visible for tests: reads a file the way a file: URL would be read. */
    static boolean exists(Path p) {
        return Files.isRegularFile(p);
    }
}
