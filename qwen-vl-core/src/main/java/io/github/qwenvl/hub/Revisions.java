package io.github.qwenvl.hub;

import java.util.regex.Pattern;

/** Checks on git revisions, commit hashes, etags and repo file names: all of them become cache paths. */
final class Revisions {

    private static final Pattern COMMIT_HASH = Pattern.compile("^[0-9a-f]{40}$");
    private static final Pattern REVISION = Pattern.compile("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$");
    private static final Pattern ETAG = Pattern.compile("^[A-Za-z0-9._-]{1,128}$");
    private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");

    private Revisions() {
    }

    static boolean isCommitHash(String revision) {
        return revision != null && COMMIT_HASH.matcher(revision).matches();
    }

    /** Branches, tags and {@code refs/pr/N}: slash-separated safe segments, none of them {@code .} or {@code ..}. */
    static String requireValidRevision(String revision) {
        if (revision == null || !REVISION.matcher(revision).matches() || hasDotSegment(revision)) {
            throw new InvalidModelIdException("Invalid revision '" + revision
                    + "': expected a branch, tag or commit hash (letters, digits, '.', '_', '-', '/')");
        }
        return revision;
    }

    /** A commit hash the server sent; it names a snapshot folder, so nothing else is accepted. */
    static String requireCommitHash(String commit, String source) {
        if (!isCommitHash(commit)) {
            throw new ModelDownloadException(source + " returned an invalid commit hash '" + commit + "'");
        }
        return commit;
    }

    /** An etag the server sent; it names a blob file, so it must be one plain safe file name. */
    static String requireSafeEtag(String etag, String source) {
        if (etag == null || !ETAG.matcher(etag).matches() || etag.startsWith(".")) {
            throw new ModelDownloadException(source + " returned an unusable ETag '" + etag + "'");
        }
        return etag;
    }

    /** LFS files carry their sha256 as etag; those are the ones whose content can be verified. */
    static boolean isSha256(String etag) {
        return etag != null && SHA256.matcher(etag).matches();
    }

    /**
     * A file name inside a repo, possibly from a remote index (shard names): relative, forward slashes,
     * no {@code .}/{@code ..} segments, so it stays inside the snapshot folder.
     */
    static String requireSafeRepoFile(String file) {
        if (file == null || file.isEmpty() || file.startsWith("/") || file.contains("\\") || file.contains("//")
                || file.indexOf(':') >= 0 || file.indexOf('\0') >= 0 || hasDotSegment(file)) {
            throw new ModelDownloadException("Refusing unsafe repository file name '" + file + "'");
        }
        return file;
    }

    private static boolean hasDotSegment(String path) {
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return false;
    }
}
