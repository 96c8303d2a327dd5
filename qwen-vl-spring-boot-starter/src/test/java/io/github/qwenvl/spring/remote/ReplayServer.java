package io.github.qwenvl.spring.remote;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback HTTP server that answers with recorded bodies, the way an OpenAI-compatible server would: a queue of
 * answers per path (the last one repeats), the request bodies it received, and streamed answers written as
 * server-sent events one event at a time.
 */
final class ReplayServer implements AutoCloseable {

    /** One answer: a status, a content type and a body; or events streamed with {@code text/event-stream}. */
    record Answer(int status, String contentType, String body, List<String> events, long delayMillis) {

        static Answer json(int status, String body) {
            return new Answer(status, "application/json", body, null, 0);
        }

        static Answer events(String... data) {
            return new Answer(200, "text/event-stream", null, List.of(data), 0);
        }

        Answer delayed(long millis) {
            return new Answer(status, contentType, body, events, millis);
        }
    }

    private final HttpServer server;
    private final Map<String, Deque<Answer>> answers = new ConcurrentHashMap<>();
    final List<String> requests = new CopyOnWriteArrayList<>();
    /** The Authorization header of every request ("" when absent). */
    final List<String> authorizations = new CopyOnWriteArrayList<>();

    ReplayServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    ReplayServer on(String path, Answer... queue) {
        answers.put(path, new ArrayDeque<>(List.of(queue)));
        return this;
    }

    /** {@code GET /v1/models} listing one model, as vLLM and Ollama do. */
    ReplayServer serving(String model) {
        return on("/v1/models", Answer.json(200, "{\"object\":\"list\",\"data\":[{\"id\":\"" + model
                + "\",\"object\":\"model\",\"created\":1733000000,\"owned_by\":\"vllm\"}]}"));
    }

    private void handle(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String path = exchange.getRequestURI().getPath();
        if (!body.isEmpty()) {
            requests.add(body);
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            authorizations.add(auth == null ? "" : auth);
        }
        Deque<Answer> queue = answers.get(path);
        Answer answer;
        synchronized (this) {
            answer = queue == null ? null : queue.size() > 1 ? queue.poll() : queue.peek();
        }
        if (answer == null) {
            send(exchange, Answer.json(404, "{\"detail\":\"Not Found\"}"));
            return;
        }
        send(exchange, answer);
    }

    private static void send(HttpExchange exchange, Answer answer) throws IOException {
        try {
            if (answer.delayMillis() > 0) {
                Thread.sleep(answer.delayMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        exchange.getResponseHeaders().set("Content-Type", answer.contentType());
        try (OutputStream out = exchange.getResponseBody()) {
            if (answer.events() == null) {
                byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(answer.status(), bytes.length);
                out.write(bytes);
                return;
            }
            exchange.sendResponseHeaders(answer.status(), 0);
            for (String data : answer.events()) {
                out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            // the client went away (a cancelled or timed-out request)
        }
    }

    /** A loopback port with nothing listening on it (a server that is down). */
    static String downUrl() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + socket.getLocalPort();
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
