package io.github.qwenvl.hub;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The few Hub HTTP calls the resolver needs. Redirects are followed by hand because the token must
 * only ever go to the configured endpoint: the Hub redirects LFS files to a signed CDN URL on another
 * host, which must not see it (and must not be asked over plain HTTP after HTTPS).
 */
final class HubHttp {

    private static final int MAX_REDIRECTS = 10;
    private static final int MAX_ERROR_BODY = 64 * 1024;
    private static final int MAX_API_BODY = 16 * 1024 * 1024;

    private final URI endpoint;
    private final String token;
    private final int connectTimeoutMs;
    private final int readTimeoutMs;
    private final Proxy proxy;
    private final String userAgent;

    HubHttp(URI endpoint, String token, Duration connectTimeout, Duration readTimeout, Proxy proxy, String userAgent) {
        this.endpoint = endpoint;
        this.token = token;
        this.connectTimeoutMs = (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis());
        this.readTimeoutMs = (int) Math.min(Integer.MAX_VALUE, readTimeout.toMillis());
        this.proxy = proxy;
        this.userAgent = userAgent;
    }

    boolean hasToken() {
        return token != null;
    }

    /**
     * {@code GET {endpoint}/api/models/{repo}/revision/{rev}}. Empty when the endpoint has no such API
     * (a plain mirror): the caller then probes files one by one.
     */
    Optional<RepoListing> listing(RepoId repo, String revision) throws IOException {
        URI uri = endpoint.resolve(endpointPath() + "/api/models/" + repo + "/revision/" + encode(revision));
        try (Response response = send("GET", uri, 0, true)) {
            int status = response.status();
            if (status == 200) {
                return Optional.of(parseListing(repo, response.readBody(MAX_API_BODY)));
            }
            String errorCode = response.header("X-Error-Code");
            if (status == 401 || status == 403 || "RepoNotFound".equals(errorCode)
                    || "RevisionNotFound".equals(errorCode)) {
                throw failure(response, repo, revision, null);
            }
            return Optional.empty();
        }
    }

    /**
     * {@code HEAD} on the resolve URL, following only same-origin redirects (renamed repos) so the metadata
     * comes from the Hub, not the CDN. Empty when the file does not exist in an existing repo/revision.
     */
    Optional<FileMetadata> head(RepoId repo, String revision, String file, MissingFileCallback onMissing)
            throws IOException {
        URI uri = resolveUrl(repo, revision, file);
        try (Response response = send("HEAD", uri, 0, false)) {
            int status = response.status();
            if (status == 404 && isMissingEntry(response.header("X-Error-Code"))) {
                onMissing.missing(response.header("X-Repo-Commit"));
                return Optional.empty();
            }
            if (status >= 400) {
                throw failure(response, repo, revision, file);
            }
            String commit = Revisions.requireCommitHash(response.header("X-Repo-Commit"), "HEAD " + uri);
            String linkedEtag = response.header("X-Linked-Etag");
            String etag = Revisions.requireSafeEtag(
                    normalizeEtag(linkedEtag != null ? linkedEtag : response.header("ETag")), "HEAD " + uri);
            String linkedSize = response.header("X-Linked-Size");
            long size = parseSize(linkedSize != null ? linkedSize : response.header("Content-Length"));
            String location = status >= 300 ? response.header("Location") : null;
            URI downloadFrom = location != null ? response.uri().resolve(location) : response.uri();
            return Optional.of(new FileMetadata(commit, etag, size, downloadFrom));
        }
    }

    /** Opens a GET on a download location, from {@code fromByte} on when resuming. The caller closes it. */
    Response download(URI location, long fromByte) throws IOException {
        return send("GET", location, fromByte, true);
    }

    URI resolveUrl(RepoId repo, String revision, String file) {
        StringBuilder path = new StringBuilder(endpointPath()).append('/').append(repo)
                .append("/resolve/").append(encode(revision));
        for (String segment : file.split("/")) {
            path.append('/').append(encode(segment));
        }
        return endpoint.resolve(path.toString());
    }

    /** Called by {@link #head} with the commit from the 404's {@code X-Repo-Commit} (may be null). */
    interface MissingFileCallback {
        void missing(String commit);
    }

    /** Turns an error response into the typed exception that tells the user what to do. */
    ModelResolutionException failure(Response response, RepoId repo, String revision, String file) {
        int status = response.status();
        String errorCode = response.header("X-Error-Code");
        String serverMessage = Optional.ofNullable(response.header("X-Error-Message")).map(m -> " (" + m + ")")
                .orElse("");
        String what = file == null ? "model '" + repo + "' at revision '" + revision + "'"
                : "'" + file + "' of model '" + repo + "' at revision '" + revision + "'";
        if (status == 401 || status == 403) {
            String hint = "GatedRepo".equals(errorCode)
                    ? "the model is gated: accept its license on the model page, then set HF_TOKEN to a token of that account"
                    : hasToken() ? "the token was rejected or has no access to it (check HF_TOKEN)"
                    : "it is private or gated, or does not exist: set HF_TOKEN (or the resolver's token) to access it";
            return new ModelAccessDeniedException("HTTP " + status + " from " + endpoint + " for " + what + ": "
                    + hint + serverMessage);
        }
        if (status == 404) {
            String reason = "RepoNotFound".equals(errorCode) ? "repository '" + repo + "' not found"
                    : "RevisionNotFound".equals(errorCode) ? "revision '" + revision + "' not found in '" + repo + "'"
                    : "not found";
            return new ModelNotFoundException("HTTP 404 from " + endpoint + " for " + what + ": " + reason
                    + serverMessage);
        }
        return new ModelDownloadException("HTTP " + status + " from " + response.uri() + " for " + what
                + serverMessage);
    }

    private static boolean isMissingEntry(String errorCode) {
        // A plain mirror sends no error code: a 404 on one file then means that file is missing.
        return errorCode == null || "EntryNotFound".equals(errorCode);
    }

    private Response send(String method, URI uri, long fromByte, boolean followOtherOrigins) throws IOException {
        URI current = uri;
        for (int hop = 0; ; hop++) {
            HttpURLConnection connection = open(method, current, fromByte);
            Response response = new Response(connection, current);
            int status = response.status();
            String location = response.header("Location");
            if (!isRedirect(status) || location == null) {
                return response;
            }
            URI next = current.resolve(location);
            if (!followOtherOrigins && !sameOrigin(next, current)) {
                return response;
            }
            response.close();
            if (hop >= MAX_REDIRECTS) {
                throw new ModelDownloadException("Too many redirects starting at " + uri);
            }
            if ("https".equalsIgnoreCase(current.getScheme()) && !"https".equalsIgnoreCase(next.getScheme())) {
                throw new ModelDownloadException("Refusing redirect from HTTPS to " + next.getScheme() + ": " + next);
            }
            current = next;
        }
    }

    private HttpURLConnection open(String method, URI uri, long fromByte) throws IOException {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new ModelDownloadException("Unsupported URL scheme: " + uri);
        }
        HttpURLConnection c = (HttpURLConnection) (proxy == null ? uri.toURL().openConnection()
                : uri.toURL().openConnection(proxy));
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(connectTimeoutMs);
        c.setReadTimeout(readTimeoutMs);
        c.setRequestMethod(method);
        c.setUseCaches(false);
        c.setRequestProperty("User-Agent", userAgent);
        // Sizes and sha256 are checked on the raw bytes, so no transparent compression.
        c.setRequestProperty("Accept-Encoding", "identity");
        if (token != null && sameOrigin(uri, endpoint)) {
            c.setRequestProperty("Authorization", "Bearer " + token);
        }
        if (fromByte > 0) {
            c.setRequestProperty("Range", "bytes=" + fromByte + "-");
        }
        return c;
    }

    private String endpointPath() {
        String path = endpoint.getRawPath();
        return path == null ? "" : path.replaceAll("/+$", "");
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost())
                && effectivePort(a) == effectivePort(b);
    }

    private static int effectivePort(URI uri) {
        if (uri.getPort() != -1) {
            return uri.getPort();
        }
        return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    /** huggingface_hub drops the weak-validator prefix and the quotes: {@code W/"abc"} becomes {@code abc}. */
    static String normalizeEtag(String etag) {
        if (etag == null) {
            return null;
        }
        String e = etag.trim();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        return e.replace("\"", "");
    }

    private static long parseSize(String value) {
        if (value == null) {
            return -1;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Percent-encodes one path segment (like Python's {@code quote(s, safe="")}). */
    static String encode(String segment) {
        StringBuilder out = new StringBuilder();
        for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    private static RepoListing parseListing(RepoId repo, String body) {
        try {
            JsonObject json = JsonParser.parseString(body).getAsJsonObject();
            String commit = Revisions.requireCommitHash(
                    json.has("sha") ? json.get("sha").getAsString() : null, "The model API for " + repo);
            Set<String> files = new LinkedHashSet<>();
            if (json.has("siblings") && json.get("siblings").isJsonArray()) {
                for (JsonElement sibling : json.getAsJsonArray("siblings")) {
                    JsonElement name = sibling.getAsJsonObject().get("rfilename");
                    if (name != null && name.isJsonPrimitive()) {
                        files.add(name.getAsString());
                    }
                }
            }
            return new RepoListing(commit, Set.copyOf(files));
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
            throw new ModelDownloadException("Unreadable model API answer for " + repo + ": " + e.getMessage(), e);
        }
    }

    /** One HTTP exchange; closing it releases the connection for keep-alive reuse. */
    static final class Response implements Closeable {
        private final HttpURLConnection connection;
        private final URI uri;
        private final int status;
        private InputStream body;

        Response(HttpURLConnection connection, URI uri) throws IOException {
            this.connection = connection;
            this.uri = uri;
            this.status = connection.getResponseCode();
        }

        int status() {
            return status;
        }

        URI uri() {
            return uri;
        }

        String header(String name) {
            return connection.getHeaderField(name);
        }

        /** Content-Length of this response, -1 if absent. */
        long contentLength() {
            return connection.getContentLengthLong();
        }

        InputStream body() throws IOException {
            if (body == null) {
                body = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
                if (body == null) {
                    body = InputStream.nullInputStream();
                }
            }
            return body;
        }

        String readBody(int limit) throws IOException {
            InputStream in = body();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            int n;
            while ((n = in.read(buffer)) > 0) {
                if (out.size() + n > limit) {
                    throw new ModelDownloadException("Response from " + uri + " is larger than " + limit + " bytes");
                }
                out.write(buffer, 0, n);
            }
            return out.toString(StandardCharsets.UTF_8);
        }

        /** Drops the connection instead of draining it: used when a large body was read only in part. */
        void abort() {
            connection.disconnect();
        }

        @Override
        public void close() {
            try {
                if (body == null) {
                    // drain small unread bodies (errors, redirects) so the connection can be reused
                    body().readNBytes(MAX_ERROR_BODY);
                }
                body.close();
            } catch (IOException e) {
                connection.disconnect();
            }
        }
    }
}
