package io.github.qwenvl.hub;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.UUID;

/**
 * One model's folder in the Hugging Face hub cache, laid out exactly as huggingface_hub does so
 * that checkpoints downloaded from Python are reused and the other way round:
 * <pre>
 * &lt;cache&gt;/models--org--name/
 *     refs/&lt;revision&gt;                 text file holding the commit hash
 *     blobs/&lt;etag&gt;                     file contents, named by git sha1 or LFS sha256
 *     snapshots/&lt;commit&gt;/&lt;file&gt;       relative symlinks to ../../blobs/&lt;etag&gt; (or plain files)
 *     .no_exist/&lt;commit&gt;/&lt;file&gt;       empty markers for files the Hub said do not exist
 * &lt;cache&gt;/.locks/models--org--name/&lt;etag&gt;.lock
 * </pre>
 */
final class HubCache {

    private static final Logger LOG = LoggerFactory.getLogger(HubCache.class);

    private final Path cacheRoot;
    private final Path repoDir;
    private final Path lockDir;
    /** Decided on the first link of this instance: symlinks may be unavailable (Windows, some mounts). */
    private volatile Boolean symlinksWork;

    HubCache(Path cacheRoot, RepoId repo) {
        this.cacheRoot = cacheRoot.toAbsolutePath().normalize();
        this.repoDir = this.cacheRoot.resolve(repo.cacheFolderName());
        this.lockDir = this.cacheRoot.resolve(".locks").resolve(repo.cacheFolderName());
    }

    Path cacheRoot() {
        return cacheRoot;
    }

    Path repoDir() {
        return repoDir;
    }

    Path snapshotDir(String commit) {
        return inside(repoDir.resolve("snapshots").resolve(commit));
    }

    Path snapshotFile(String commit, String file) {
        return inside(snapshotDir(commit).resolve(file));
    }

    Path blob(String etag) {
        return inside(repoDir.resolve("blobs").resolve(etag));
    }

    Path incompleteBlob(String etag) {
        return inside(repoDir.resolve("blobs").resolve(etag + ".incomplete"));
    }

    Path lockFile(String etag) {
        Path lock = lockDir.resolve(etag + ".lock").normalize();
        if (!lock.startsWith(lockDir)) {
            throw new ModelDownloadException("Lock path escapes the cache: " + lock);
        }
        return lock;
    }

    /** The commit a revision points to: itself for a commit hash, else the content of {@code refs/<revision>}. */
    Optional<String> commitFor(String revision) {
        if (Revisions.isCommitHash(revision)) {
            return Optional.of(revision);
        }
        Path ref = inside(repoDir.resolve("refs").resolve(revision));
        if (!Files.isRegularFile(ref)) {
            return Optional.empty();
        }
        try {
            String commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
            return Revisions.isCommitHash(commit) ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Records that {@code revision} now points to {@code commit} (atomic, so readers never see half a hash). */
    void writeRef(String revision, String commit) throws IOException {
        if (revision.equals(commit)) {
            return;
        }
        Path ref = inside(repoDir.resolve("refs").resolve(revision));
        if (commitFor(revision).filter(commit::equals).isPresent()) {
            return;
        }
        Files.createDirectories(ref.getParent());
        Path tmp = ref.resolveSibling(ref.getFileName() + "." + UUID.randomUUID() + ".tmp");
        Files.writeString(tmp, commit, StandardCharsets.UTF_8);
        moveReplacing(tmp, ref);
    }

    /** The snapshot file if present; a dangling symlink (blob deleted) counts as absent. */
    Optional<Path> cachedFile(String commit, String file) {
        Path path = snapshotFile(commit, file);
        return Files.isRegularFile(path) ? Optional.of(path) : Optional.empty();
    }

    boolean isKnownMissing(String commit, String file) {
        return Files.exists(inside(repoDir.resolve(".no_exist").resolve(commit).resolve(file)));
    }

    /** Remembers a 404 so later resolves, including offline ones and Python's, skip the file. */
    void markMissing(String commit, String file) {
        Path marker = inside(repoDir.resolve(".no_exist").resolve(commit).resolve(file));
        try {
            Files.createDirectories(marker.getParent());
            Files.createFile(marker);
        } catch (FileAlreadyExistsException ignored) {
            // another resolver recorded it first
        } catch (IOException e) {
            LOG.debug("Could not write {}: {}", marker, e.toString());
        }
    }

    /**
     * Makes {@code snapshots/<commit>/<file>} point at the blob: a relative symlink like huggingface_hub,
     * else a hard link, else a copy. Built under a temporary name and moved into place so a concurrent
     * reader sees either nothing or the finished entry.
     */
    void linkIntoSnapshot(String etag, String commit, String file) throws IOException {
        Path blob = blob(etag);
        Path pointer = snapshotFile(commit, file);
        Files.createDirectories(pointer.getParent());
        Path tmp = pointer.resolveSibling(pointer.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            if (!Boolean.FALSE.equals(symlinksWork)) {
                try {
                    Files.createSymbolicLink(tmp, pointer.getParent().relativize(blob));
                    symlinksWork = true;
                    moveReplacing(tmp, pointer);
                    return;
                } catch (UnsupportedOperationException | IOException e) {
                    LOG.warn("Symlinks are not supported in {} ({}); storing copies of files instead",
                            cacheRoot, e.toString());
                    symlinksWork = false;
                    Files.deleteIfExists(tmp);
                }
            }
            try {
                Files.createLink(tmp, blob);
            } catch (UnsupportedOperationException | IOException e) {
                Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            moveReplacing(tmp, pointer);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static void moveReplacing(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Defence in depth: every name was validated already, but no path may ever leave the repo folder. */
    private Path inside(Path path) {
        Path normalized = path.normalize();
        if (!normalized.startsWith(repoDir)) {
            throw new ModelDownloadException("Path escapes the model cache folder: " + path);
        }
        return normalized;
    }
}
