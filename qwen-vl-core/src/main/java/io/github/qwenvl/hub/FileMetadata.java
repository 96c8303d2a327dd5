package io.github.qwenvl.hub;

import java.net.URI;

/**
 * What a {@code HEAD} on {@code /resolve/} says about one file, as huggingface_hub reads it.
 *
 * @param commit   the commit the revision resolved to ({@code X-Repo-Commit})
 * @param etag     git sha1 of a regular file or sha256 of an LFS file ({@code X-Linked-Etag}, else {@code ETag})
 * @param size     bytes of the real content ({@code X-Linked-Size}, else {@code Content-Length}); -1 if unknown
 * @param location where to GET the bytes: the resolve URL itself or the CDN it redirects to
 */
record FileMetadata(String commit, String etag, long size, URI location) {
}
