package io.github.qwenvl.hub;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Proxy;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Turns a model name into a local directory holding {@code config.json}, tokenizer files and weights.
 * <ul>
 *   <li>An existing directory (absolute or relative) is used as is.</li>
 *   <li>A Hugging Face repo id {@code org/name} is looked up in, and downloaded into, the Hugging Face hub
 *   cache with huggingface_hub's own layout, so checkpoints downloaded from Python are reused; the result
 *   is the {@code snapshots/<commit>} folder.</li>
 * </ul>
 * Defaults follow huggingface_hub's environment variables ({@code HF_HUB_CACHE}, {@code HF_HOME},
 * {@code HF_ENDPOINT}, {@code HF_TOKEN}, {@code HF_HUB_OFFLINE}); the builder overrides each.
 * Instances are immutable and thread-safe; concurrent resolves of one model share the cache safely.
 */
public final class ModelResolver {

    private static final Logger LOG = LoggerFactory.getLogger(ModelResolver.class);
    private static final String USER_AGENT = "qwen-vl-java/0.1 (huggingface_hub-compatible cache)";

    private final Path cacheDir;
    private final URI endpoint;
    private final boolean offline;
    /** Where offline mode was switched on, for messages: the setting the user knows. */
    private final String offlineSetting;
    private final String revision;
    private final HubHttp http;
    private final DownloadProgressListener listener;

    private ModelResolver(Builder b) {
        HubEnvironment env = new HubEnvironment(b.environment);
        this.cacheDir = (b.cacheDir != null ? b.cacheDir : env.cacheDir()).toAbsolutePath().normalize();
        this.endpoint = parseEndpoint(b.endpoint != null ? b.endpoint : env.endpoint());
        this.offline = b.offline != null ? b.offline : env.offline();
        this.offlineSetting = b.offline == null ? "HF_HUB_OFFLINE"
                : b.offlineSetting != null ? b.offlineSetting : "the resolver's offline option";
        this.revision = Revisions.requireValidRevision(b.revision);
        this.listener = b.listener != null ? b.listener : new LoggingProgressListener();
        String token = b.token != null ? b.token : env.token();
        this.http = new HubHttp(endpoint, token == null || token.isBlank() ? null : token.trim(),
                b.connectTimeout, b.readTimeout, b.proxy, USER_AGENT);
    }

    /** A builder whose unset options come from the process environment. */
    public static Builder builder() {
        return new Builder();
    }

    /** The hub cache this resolver reads and writes. */
    public Path cacheDir() {
        return cacheDir;
    }

    /** Whether only the cache is consulted. */
    public boolean isOffline() {
        return offline;
    }

    /**
     * The local directory of {@code model}.
     *
     * @param model an existing directory, or a repo id {@code org/name}
     * @return the directory itself, or the cache snapshot folder of the resolver's revision
     * @throws InvalidModelIdException     neither an existing directory nor a valid repo id
     * @throws ModelNotFoundException      directory without config.json; repo, revision or weights not on the Hub
     * @throws ModelAccessDeniedException  private or gated repo without (a valid) token
     * @throws ModelOfflineException       offline, or Hub unreachable, and the cache lacks the model
     * @throws ModelDownloadException      network failure, unexpected HTTP status, size or sha256 mismatch
     */
    public Path resolve(String model) {
        return resolve(model, true);
    }

    /**
     * Like {@link #resolve(String)}, but a repo id brings only {@code config.json} and the small files that describe
     * the model (generation, preprocessor and tokenizer configs), not its weights: what a client of a remote server
     * that serves the model needs. A snapshot with weights serves as well.
     */
    public Path resolveWithoutWeights(String model) {
        return resolve(model, false);
    }

    private Path resolve(String model, boolean weights) {
        if (model == null || model.isBlank()) {
            throw new InvalidModelIdException("No model given: name a local directory or a repo id 'org/name'");
        }
        Optional<Path> local = existingDirectory(model);
        if (local.isPresent()) {
            return validatedLocal(local.get());
        }
        if (!RepoId.isValid(model) && looksLikePath(model)) {
            throw new ModelNotFoundException("Local model directory " + absolute(model) + " does not exist"
                    + " (and '" + model + "' is not a Hugging Face repo id 'org/name')");
        }
        RepoId repo = RepoId.parse(model);
        HubCache cache = new HubCache(cacheDir, repo);
        try {
            if (offline) {
                return fromCache(cache, repo, "offline mode is on (" + offlineSetting + ")", null, weights);
            }
            if (Revisions.isCommitHash(revision)) {
                // a commit never changes: a complete snapshot needs no network at all
                Path snapshot = cache.snapshotDir(revision);
                if (Files.isDirectory(snapshot) && ModelFiles.missingIn(snapshot, weights).isEmpty()) {
                    return snapshot;
                }
            }
            try {
                return new Download(repo, cache, weights).run();
            } catch (IOException unreachable) {
                if (!isNetworkFailure(unreachable)) {
                    throw unreachable;
                }
                // like huggingface_hub: if the Hub cannot be reached, a cached snapshot still serves
                Path cached = fromCache(cache, repo, "the Hub at " + endpoint + " is unreachable (" + unreachable
                        + ")", unreachable, weights);
                LOG.warn("Hub at {} unreachable ({}); using cached {}", endpoint, unreachable.toString(), cached);
                return cached;
            }
        } catch (IOException e) {
            throw new ModelDownloadException("I/O error while resolving '" + repo + "' into " + cache.repoDir()
                    + ": " + e, e);
        }
    }

    /**
     * What keeps a checkpoint directory from being loadable: {@code config.json}, a weight entry point, or shards
     * its index lists (empty when complete). Reads no weights.
     */
    public static List<String> missingFiles(Path directory) {
        try {
            return ModelFiles.missingIn(directory);
        } catch (IOException e) {
            throw new ModelNotFoundException("Cannot read model directory " + directory + ": " + e, e);
        }
    }

    /** Failures to reach the Hub at all, after which a cached snapshot may still serve; not local disk errors. */
    private static boolean isNetworkFailure(IOException e) {
        return e instanceof java.net.SocketException || e instanceof java.net.UnknownHostException
                || e instanceof java.net.SocketTimeoutException || e instanceof javax.net.ssl.SSLException;
    }

    private Path fromCache(HubCache cache, RepoId repo, String why, IOException cause, boolean weights)
            throws IOException {
        Optional<String> commit = cache.commitFor(revision);
        if (commit.isEmpty()) {
            throw new ModelOfflineException("Model '" + repo + "' (revision '" + revision + "') is not in the cache at "
                    + cache.repoDir() + " and " + why + ". Run once online, or download it with"
                    + " `huggingface-cli download " + repo + "` into that cache", cause);
        }
        Path snapshot = cache.snapshotDir(commit.get());
        List<String> missing = Files.isDirectory(snapshot) ? ModelFiles.missingIn(snapshot, weights)
                : List.of("the whole snapshot folder");
        if (!missing.isEmpty()) {
            throw new ModelOfflineException("Model '" + repo + "' (revision '" + revision + "') is only partly in the"
                    + " cache at " + snapshot + " (missing: " + String.join(", ", missing) + ") and " + why, cause);
        }
        return snapshot;
    }

    /** One online resolve: which files, then each file into the cache. */
    private final class Download {
        private final RepoId repo;
        private final HubCache cache;
        private final BlobDownloader downloader = new BlobDownloader(http, listener);
        private final long startNanos = System.nanoTime();
        private String commit;
        private int filesDownloaded;
        private int filesCached;
        private long bytesDownloaded;
        private final boolean weights;

        Download(RepoId repo, HubCache cache, boolean weights) {
            this.repo = repo;
            this.cache = cache;
            this.weights = weights;
        }

        Path run() throws IOException {
            Optional<RepoListing> listing = http.listing(repo, revision);
            if (listing.isPresent()) {
                commit = listing.get().commit();
                fetchListed(listing.get());
            } else {
                fetchProbing();
            }
            Path snapshot = cache.snapshotDir(commit);
            List<String> missing = ModelFiles.missingIn(snapshot, weights);
            if (!missing.isEmpty()) {
                throw new ModelDownloadException("Snapshot " + snapshot + " is incomplete after download: "
                        + String.join(", ", missing));
            }
            cache.writeRef(revision, commit);
            listener.onFinished(new DownloadSummary(repo.toString(), commit, filesDownloaded, filesCached,
                    bytesDownloaded, Duration.ofNanos(System.nanoTime() - startNanos)));
            return snapshot;
        }

        /** The API listed the files: fetch exactly those of ours that exist. */
        private void fetchListed(RepoListing listing) throws IOException {
            if (!listing.files().contains(ModelFiles.CONFIG)) {
                throw new ModelNotFoundException("Model '" + repo + "' at revision '" + revision + "' has no "
                        + ModelFiles.CONFIG + ": not a transformers checkpoint");
            }
            fetch(ModelFiles.CONFIG, true);
            for (String file : ModelFiles.OPTIONAL) {
                if (listing.files().contains(file)) {
                    fetch(file, false);
                }
            }
            if (!weights) {
                return;
            }
            String entry = ModelFiles.WEIGHTS.stream().filter(listing.files()::contains).findFirst()
                    .orElseThrow(this::noWeights);
            fetchWeights(entry);
        }

        /** No API (a plain mirror): ask for each file and skip the 404s. */
        private void fetchProbing() throws IOException {
            fetch(ModelFiles.CONFIG, true);
            for (String file : ModelFiles.OPTIONAL) {
                fetch(file, false);
            }
            if (!weights) {
                return;
            }
            for (String entry : ModelFiles.WEIGHTS) {
                if (fetch(entry, false)) {
                    fetchWeights(entry);
                    return;
                }
            }
            throw noWeights();
        }

        private void fetchWeights(String entry) throws IOException {
            fetch(entry, true);
            if (ModelFiles.isIndex(entry)) {
                for (String shard : ModelFiles.shardsOf(cache.snapshotFile(commit, entry))) {
                    fetch(shard, true);
                }
            }
        }

        /** Fetches one file into the snapshot; false when the repo does not have it (optional files only). */
        private boolean fetch(String file, boolean required) throws IOException {
            Revisions.requireSafeRepoFile(file);
            if (commit != null) {
                if (cache.cachedFile(commit, file).isPresent()) {
                    filesCached++;
                    return true;
                }
                if (!required && cache.isKnownMissing(commit, file)) {
                    return false;
                }
            }
            String at = commit != null ? commit : revision;
            Optional<FileMetadata> found = http.head(repo, at, file, missingAt -> {
                String known = commit != null ? commit : missingAt;
                if (Revisions.isCommitHash(known)) {
                    cache.markMissing(known, file);
                }
            });
            if (found.isEmpty()) {
                if (required) {
                    throw new ModelNotFoundException("'" + file + "' not found in model '" + repo + "' at revision '"
                            + revision + "' (" + http.resolveUrl(repo, at, file) + ")");
                }
                return false;
            }
            FileMetadata meta = found.get();
            if (commit == null) {
                commit = meta.commit();
            } else if (!commit.equals(meta.commit())) {
                LOG.warn("Hub answered commit {} for {} while resolving commit {}", meta.commit(), file, commit);
            }
            long received = downloader.ensureBlob(cache, repo, meta, file);
            if (received > 0) {
                filesDownloaded++;
                bytesDownloaded += received;
            } else {
                filesCached++;
            }
            cache.linkIntoSnapshot(meta.etag(), commit, file);
            return true;
        }

        private ModelNotFoundException noWeights() {
            return new ModelNotFoundException("Model '" + repo + "' at revision '" + revision + "' has no weights: "
                    + "expected one of " + String.join(", ", ModelFiles.WEIGHTS));
        }
    }

    private static Optional<Path> existingDirectory(String model) {
        try {
            Path path = HubEnvironment.expandHome(model);
            return Files.isDirectory(path) ? Optional.of(path.toAbsolutePath().normalize()) : Optional.empty();
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
    }

    private static Path validatedLocal(Path dir) {
        if (!Files.isRegularFile(dir.resolve(ModelFiles.CONFIG))) {
            throw new ModelNotFoundException("Local model directory " + dir + " has no " + ModelFiles.CONFIG
                    + ": it must hold a Hugging Face checkpoint (config.json, tokenizer files, weights)");
        }
        return dir;
    }

    /** A name meant as a file system path rather than a repo id: absolute, ./ ../ ~ or backslashes. */
    private static boolean looksLikePath(String model) {
        return model.startsWith("/") || model.startsWith(".") || model.startsWith("~") || model.contains("\\")
                || (model.length() > 1 && model.charAt(1) == ':');
    }

    private static String absolute(String model) {
        try {
            return HubEnvironment.expandHome(model).toAbsolutePath().normalize().toString();
        } catch (InvalidPathException e) {
            return model;
        }
    }

    private static URI parseEndpoint(String endpoint) {
        try {
            URI uri = new URI(endpoint.replaceAll("/+$", ""));
            if (uri.getHost() == null || !("http".equalsIgnoreCase(uri.getScheme())
                    || "https".equalsIgnoreCase(uri.getScheme()))) {
                throw new IllegalArgumentException("Hub endpoint must be an http(s) URL: " + endpoint);
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("Invalid Hub endpoint: " + endpoint, e);
        }
    }

    /** Options of a {@link ModelResolver}; anything left unset comes from the environment. */
    public static final class Builder {
        private Map<String, String> environment = System.getenv();
        private Path cacheDir;
        private String endpoint;
        private String token;
        private Boolean offline;
        private String offlineSetting;
        private String revision = "main";
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration readTimeout = Duration.ofSeconds(60);
        private Proxy proxy;
        private DownloadProgressListener listener;

        private Builder() {
        }

        /** The hub cache folder (default {@code HF_HUB_CACHE}, {@code $HF_HOME/hub}, {@code ~/.cache/huggingface/hub}). */
        public Builder cacheDir(Path cacheDir) {
            this.cacheDir = cacheDir;
            return this;
        }

        /** The Hub base URL (default {@code HF_ENDPOINT}, else https://huggingface.co). */
        public Builder endpoint(String endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        /** The access token sent as {@code Authorization: Bearer} to the endpoint only (default {@code HF_TOKEN}). */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** Use only the cache (default {@code HF_HUB_OFFLINE}). */
        public Builder offline(boolean offline) {
            this.offline = offline;
            return this;
        }

        /**
         * Use only the cache, as {@code setting} says; messages about offline mode name that setting (for example
         * a configuration property) instead of {@code HF_HUB_OFFLINE}.
         */
        public Builder offline(boolean offline, String setting) {
            this.offline = offline;
            this.offlineSetting = setting;
            return this;
        }

        /** Branch, tag or commit hash to resolve (default {@code main}). */
        public Builder revision(String revision) {
            this.revision = Objects.requireNonNull(revision, "revision");
            return this;
        }

        /** How long to wait for a connection (default 10 s). */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        /** How long one read may block before the transfer counts as stalled (default 60 s). */
        public Builder readTimeout(Duration timeout) {
            this.readTimeout = positive(timeout, "readTimeout");
            return this;
        }

        /** An HTTP proxy (default: the JVM's proxy settings). */
        public Builder proxy(Proxy proxy) {
            this.proxy = proxy;
            return this;
        }

        /** Hears download progress (default {@link LoggingProgressListener}). */
        public Builder progressListener(DownloadProgressListener listener) {
            this.listener = listener;
            return this;
        }

        /** Where the {@code HF_*} defaults are read from (default {@link System#getenv()}). */
        public Builder environment(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
            return this;
        }

        public ModelResolver build() {
            return new ModelResolver(this);
        }

        private static Duration positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive");
            }
            return d;
        }
    }
}
