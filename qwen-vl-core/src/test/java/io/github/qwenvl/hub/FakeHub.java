package io.github.qwenvl.hub;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A Hugging Face Hub on 127.0.0.1 for tests: the model API, {@code /resolve/} with HEAD and GET and the Hub's
 * headers, LFS files ({@code .safetensors}, {@code .bin}) redirected to a "CDN" server on another port, Range
 * requests. Serves one repo from a folder; records every request; refuses to serve more than a bounded number.
 */
public final class FakeHub implements AutoCloseable {

    static final String COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    private static final int MAX_REQUESTS = 2000;

    /** One request as a server saw it. */
    record Request(String server, String method, String path, String range, String authorization) {
    }

    private final String repo;
    private final Map<String, byte[]> files = new TreeMap<>();
    private final Map<String, byte[]> servedInstead = new TreeMap<>();
    private final List<Request> requests = new ArrayList<>();
    private final AtomicInteger served = new AtomicInteger();
    private final HttpServer hub;
    private final HttpServer cdn;
    private final ExecutorService executor = Executors.newFixedThreadPool(4);
    private volatile boolean apiEnabled = true;
    private volatile String requiredToken;
    private volatile String commit = COMMIT;
    private volatile boolean gated;
    private final Map<String, Integer> cutAt = new java.util.concurrent.ConcurrentHashMap<>();

    public FakeHub(String repo, Path sourceDir) throws IOException {
        this.repo = repo;
        try (Stream<Path> walk = Files.walk(sourceDir)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                files.put(sourceDir.relativize(file).toString().replace('\\', '/'), Files.readAllBytes(file));
            }
        }
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        hub = HttpServer.create(new InetSocketAddress(loopback, 0), 16);
        cdn = HttpServer.create(new InetSocketAddress(loopback, 0), 16);
        hub.createContext("/", exchange -> handle("hub", exchange));
        cdn.createContext("/", exchange -> handle("cdn", exchange));
        hub.setExecutor(executor);
        cdn.setExecutor(executor);
        hub.start();
        cdn.start();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + hub.getAddress().getPort();
    }

    String cdnHost() {
        return "127.0.0.1:" + cdn.getAddress().getPort();
    }

    /** Without the API the resolver must probe files one by one, like against a plain mirror. */
    FakeHub apiEnabled(boolean enabled) {
        this.apiEnabled = enabled;
        return this;
    }

    /** Makes the repo private: every hub request needs {@code Authorization: Bearer <token>}. */
    FakeHub requireToken(String token) {
        this.requiredToken = token;
        return this;
    }

    /** Announces the real size and hash of {@code file} but serves other bytes of the same length. */
    FakeHub corrupt(String file) {
        byte[] bad = files.get(file).clone();
        bad[bad.length / 2] ^= 0x55;
        servedInstead.put(file, bad);
        return this;
    }

    /** Answers 403 GatedRepo to every hub request, like a gated model whose license was not accepted. */
    FakeHub gated() {
        this.gated = true;
        return this;
    }

    /** The next transfer of {@code file} announces the full length but the connection drops after {@code bytes}. */
    FakeHub cutNextTransfer(String file, int bytes) {
        cutAt.put(file, bytes);
        return this;
    }

    byte[] content(String file) {
        return files.get(file);
    }

    synchronized List<Request> requests() {
        return List.copyOf(requests);
    }

    synchronized void clearRequests() {
        requests.clear();
    }

    /** Requests that fetch or inspect file contents (everything but the model API). */
    List<Request> fileRequests() {
        return requests().stream().filter(r -> !r.path().startsWith("/api/")).toList();
    }

    static String sha256(byte[] data) {
        return HexFormat.of().formatHex(digest("SHA-256", data));
    }

    /** The etag git gives a regular (non-LFS) file: sha1 of {@code "blob <size>\0" + content}. */
    static String gitSha1(byte[] data) {
        byte[] header = ("blob " + data.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[header.length + data.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(data, 0, all, header.length, data.length);
        return HexFormat.of().formatHex(digest("SHA-1", all));
    }

    static boolean isLfs(String file) {
        return file.endsWith(".safetensors") || file.endsWith(".bin");
    }

    private void handle(String server, HttpExchange exchange) throws IOException {
        try (exchange) {
            String rawPath = exchange.getRequestURI().getRawPath();
            synchronized (this) {
                requests.add(new Request(server, exchange.getRequestMethod(), rawPath,
                        exchange.getRequestHeaders().getFirst("Range"),
                        exchange.getRequestHeaders().getFirst("Authorization")));
            }
            if (served.incrementAndGet() > MAX_REQUESTS) {
                send(exchange, 503, new byte[0]);
                return;
            }
            if (server.equals("cdn")) {
                serveCdn(exchange, rawPath);
            } else if (rawPath.startsWith("/api/models/")) {
                serveApi(exchange, rawPath.substring("/api/models/".length()));
            } else {
                serveResolve(exchange, rawPath.substring(1));
            }
        } catch (RuntimeException e) {
            e.printStackTrace();
            throw e;
        }
    }

    private void serveApi(HttpExchange exchange, String rest) throws IOException {
        if (!apiEnabled) {
            send(exchange, 404, new byte[0]);
            return;
        }
        String prefix = repo + "/revision/";
        if (!authorized(exchange)) {
            return;
        }
        if (!rest.startsWith(prefix)) {
            error(exchange, 404, "RepoNotFound");
            return;
        }
        if (!knownRevision(decode(rest.substring(prefix.length())))) {
            error(exchange, 404, "RevisionNotFound");
            return;
        }
        JsonObject body = new JsonObject();
        body.addProperty("id", repo);
        body.addProperty("sha", commit);
        JsonArray siblings = new JsonArray();
        for (String file : files.keySet()) {
            JsonObject sibling = new JsonObject();
            sibling.addProperty("rfilename", file);
            siblings.add(sibling);
        }
        body.add("siblings", siblings);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        send(exchange, 200, body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private void serveResolve(HttpExchange exchange, String rest) throws IOException {
        if (!authorized(exchange)) {
            return;
        }
        if (!rest.startsWith(repo + "/resolve/")) {
            error(exchange, 404, "RepoNotFound");
            return;
        }
        String afterResolve = rest.substring((repo + "/resolve/").length());
        int slash = afterResolve.indexOf('/');
        String revision = decode(afterResolve.substring(0, slash));
        String file = decode(afterResolve.substring(slash + 1));
        if (!knownRevision(revision)) {
            error(exchange, 404, "RevisionNotFound");
            return;
        }
        exchange.getResponseHeaders().set("X-Repo-Commit", commit);
        byte[] data = files.get(file);
        if (data == null) {
            error(exchange, 404, "EntryNotFound");
            return;
        }
        if (isLfs(file)) {
            String sha = sha256(data);
            exchange.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
            exchange.getResponseHeaders().set("X-Linked-Size", Long.toString(data.length));
            exchange.getResponseHeaders().set("ETag", "\"" + gitSha1(("pointer " + sha).getBytes()) + "\"");
            exchange.getResponseHeaders().set("Location", "http://" + cdnHost() + "/cdn/" + sha
                    + "?file=" + java.net.URLEncoder.encode(file, StandardCharsets.UTF_8));
            send(exchange, 302, new byte[0]);
            return;
        }
        exchange.getResponseHeaders().set("ETag", "\"" + gitSha1(data) + "\"");
        serveBytes(exchange, data);
    }

    private void serveCdn(HttpExchange exchange, String rawPath) throws IOException {
        String query = exchange.getRequestURI().getRawQuery();
        String file = query == null ? null : decode(query.substring("file=".length()));
        byte[] data = file == null ? null : files.get(file);
        if (data == null || !rawPath.equals("/cdn/" + sha256(data))) {
            send(exchange, 404, new byte[0]);
            return;
        }
        Integer cut = cutAt.remove(file);
        if (cut != null) {
            exchange.getResponseHeaders().set("Content-Length", Integer.toString(data.length));
            exchange.sendResponseHeaders(200, data.length);
            OutputStream out = exchange.getResponseBody();
            out.write(data, 0, cut);
            out.flush();
            // closing with bytes missing makes the server drop the connection mid-body
            return;
        }
        serveBytes(exchange, servedInstead.getOrDefault(file, data));
    }

    private static void serveBytes(HttpExchange exchange, byte[] data) throws IOException {
        String range = exchange.getRequestHeaders().getFirst("Range");
        int from = 0;
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            from = Integer.parseInt(range.substring(6, range.length() - 1));
            if (from >= data.length) {
                exchange.getResponseHeaders().set("Content-Range", "bytes */" + data.length);
                send(exchange, 416, new byte[0]);
                return;
            }
            exchange.getResponseHeaders().set("Content-Range",
                    "bytes " + from + "-" + (data.length - 1) + "/" + data.length);
        }
        byte[] body = from == 0 ? data : java.util.Arrays.copyOfRange(data, from, data.length);
        exchange.getResponseHeaders().set("Accept-Ranges", "bytes");
        send(exchange, from == 0 ? 200 : 206, body);
    }

    private boolean authorized(HttpExchange exchange) throws IOException {
        if (gated) {
            exchange.getResponseHeaders().set("X-Error-Code", "GatedRepo");
            send(exchange, 403, new byte[0]);
            return false;
        }
        String token = requiredToken;
        if (token == null || ("Bearer " + token).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
            return true;
        }
        exchange.getResponseHeaders().set("X-Error-Message", "Invalid credentials in Authorization header");
        send(exchange, 401, new byte[0]);
        return false;
    }

    private boolean knownRevision(String revision) {
        return revision.equals("main") || revision.equals("refs/pr/1") || revision.equals(commit);
    }

    private static void error(HttpExchange exchange, int status, String code) throws IOException {
        exchange.getResponseHeaders().set("X-Error-Code", code);
        send(exchange, status, new byte[0]);
    }

    private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        if (exchange.getRequestMethod().equals("HEAD")) {
            if (status < 300 && !exchange.getResponseHeaders().containsKey("Content-Length")) {
                exchange.getResponseHeaders().set("Content-Length", Long.toString(body.length));
            }
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
        executor.shutdownNow();
    }

    /** The first folder of the repository's own fixtures holding a Qwen2-family {@code model/config.json}. */
    public static Path fixtureModel() {
        Path root = io.github.qwenvl.testing.FixtureRoot.bundled();
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.sorted().map(d -> d.resolve("model"))
                    .filter(m -> Files.isRegularFile(m.resolve("config.json")))
                    // the tests expect the Hugging Face tokenizer layout (tokenizer.json; no qwen.tiktoken)
                    .filter(m -> Files.isRegularFile(m.resolve("tokenizer.json")) && !Files.exists(m.resolve("qwen.tiktoken")))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("No <set>/model/config.json under " + root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
