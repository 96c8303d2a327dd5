package io.github.qwenvl.hub;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Puts one file's bytes into {@code blobs/<etag>}: streams into {@code <etag>.incomplete}, resumes a
 * partial with {@code Range}, checks size and (for LFS files, whose etag is their sha256) the hash, and
 * only then moves the file into place, so a blob that exists is always complete.
 */
final class BlobDownloader {

    private static final Logger LOG = LoggerFactory.getLogger(BlobDownloader.class);
    private static final int BUFFER = 256 * 1024;
    /** Transfers cut mid-way are resumed this many times before giving up (the partial file is kept). */
    private static final int ATTEMPTS = 3;

    private final HubHttp http;
    private final DownloadProgressListener listener;

    BlobDownloader(HubHttp http, DownloadProgressListener listener) {
        this.http = http;
        this.listener = listener;
    }

    /** Ensures the blob exists; returns the bytes received over the network (0 if it was already there). */
    long ensureBlob(HubCache cache, RepoId repo, FileMetadata meta, String file) throws IOException {
        Path blob = cache.blob(meta.etag());
        if (Files.isRegularFile(blob)) {
            return 0;
        }
        try (BlobLock ignored = BlobLock.acquire(cache.lockFile(meta.etag()))) {
            if (Files.isRegularFile(blob)) {
                return 0; // another resolver finished it while we waited
            }
            Files.createDirectories(blob.getParent());
            Path partial = cache.incompleteBlob(meta.etag());
            long received = 0;
            for (int attempt = 1; ; attempt++) {
                try {
                    received += transfer(repo, meta, file, partial);
                    break;
                } catch (TransferInterrupted e) {
                    received += e.received;
                    if (attempt >= ATTEMPTS) {
                        throw new ModelDownloadException("Download of '" + file + "' from " + repo + " failed after "
                                + attempt + " attempts (" + e.getCause() + "); the partial file " + partial
                                + " is kept and the next resolve resumes it", e.getCause());
                    }
                    LOG.warn("Download of {} interrupted ({}); resuming", file, e.getCause().toString());
                }
            }
            verify(partial, meta, file);
            HubCache.moveReplacing(partial, blob);
            return received;
        }
    }

    /** One GET, appending to the partial file when the server honours the range. */
    private long transfer(RepoId repo, FileMetadata meta, String file, Path partial) throws IOException {
        long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
        if (meta.size() >= 0 && have > meta.size()) {
            Files.delete(partial); // longer than the file can be: not a prefix of it
            have = 0;
        }
        if (meta.size() >= 0 && have == meta.size() && have > 0) {
            return 0; // finished earlier but not moved: only the check is left
        }
        try (HubHttp.Response response = http.download(meta.location(), have)) {
            int status = response.status();
            if (status == 416) {
                // our partial does not fit the server's file: start over once
                Files.deleteIfExists(partial);
                response.close();
                return have == 0 ? failOn(response, repo, file) : transfer(repo, meta, file, partial);
            }
            if (status >= 300) {
                return failOn(response, repo, file);
            }
            boolean append = status == 206 && have > 0 && rangeStart(response.header("Content-Range")) == have;
            if (!append) {
                have = 0; // server ignored the range (200) or answered another one: take the whole file
            }
            if (have > 0) {
                LOG.info("Resuming {} at byte {}", file, have);
            }
            long total = meta.size() >= 0 ? meta.size()
                    : response.contentLength() >= 0 ? have + response.contentLength() : -1;
            return copy(response, partial, append, have, total, file);
        }
    }

    private long copy(HubHttp.Response response, Path partial, boolean append, long have, long total, String file)
            throws IOException {
        long received = 0;
        StandardOpenOption mode = append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING;
        try (OutputStream out = Files.newOutputStream(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                mode)) {
            InputStream in = response.body();
            byte[] buffer = new byte[BUFFER];
            listener.onProgress(file, have, total);
            int n;
            while (true) {
                try {
                    n = in.read(buffer);
                } catch (IOException e) {
                    response.abort();
                    throw new TransferInterrupted(e, received);
                }
                if (n < 0) {
                    if (total >= 0 && have + received < total) {
                        // the server closed early without an error: resume rather than discard the bytes
                        response.abort();
                        throw new TransferInterrupted(new EOFException("connection closed after "
                                + (have + received) + " of " + total + " bytes"), received);
                    }
                    break;
                }
                out.write(buffer, 0, n);
                received += n;
                listener.onProgress(file, have + received, total);
            }
        }
        return received;
    }

    private long failOn(HubHttp.Response response, RepoId repo, String file) {
        throw http.failure(response, repo, "(download)", file);
    }

    /** Size first (cheap, catches truncation), then sha256 for LFS files. A bad file is deleted, not kept. */
    private static void verify(Path partial, FileMetadata meta, String file) throws IOException {
        long size = Files.size(partial);
        if (meta.size() >= 0 && size != meta.size()) {
            Files.deleteIfExists(partial);
            throw new ModelIntegrityException("Downloaded '" + file + "' has " + size + " bytes, the Hub announced "
                    + meta.size() + "; deleted it, resolve again to retry");
        }
        if (Revisions.isSha256(meta.etag())) {
            String actual = sha256(partial);
            if (!actual.equals(meta.etag())) {
                Files.deleteIfExists(partial);
                throw new ModelIntegrityException("Downloaded '" + file + "' has sha256 " + actual
                        + " but the Hub announced " + meta.etag() + "; deleted it, resolve again to retry");
            }
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("Every JVM has SHA-256", e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** {@code bytes 100-199/200} → 100; -1 when absent or unreadable. */
    static long rangeStart(String contentRange) {
        if (contentRange == null || !contentRange.startsWith("bytes ")) {
            return -1;
        }
        int dash = contentRange.indexOf('-');
        try {
            return dash < 0 ? -1 : Long.parseLong(contentRange.substring(6, dash).trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** A read failed mid-body; the bytes already written stay in the partial file for the next attempt. */
    private static final class TransferInterrupted extends IOException {
        final long received;

        TransferInterrupted(IOException cause, long received) {
            super(cause);
            this.received = received;
        }
    }
}
