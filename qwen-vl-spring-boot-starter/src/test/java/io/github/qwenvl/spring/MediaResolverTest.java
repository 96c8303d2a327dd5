package io.github.qwenvl.spring;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.ai.content.Media;
import org.springframework.util.MimeTypeUtils;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Where images may come from. The download deadline is checked against a server on 127.0.0.1 that sends
 * its headers at once and then trickles the body one byte at a time: the resolver must give up at its
 * deadline, not when the server is done (each server is bounded: it stops after 20 s or when the client goes).
 */
class MediaResolverTest {

    private ServerSocket server;
    private Thread serverThread;

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
            serverThread.interrupt();
            serverThread.join(5000);
        }
    }

    private interface Handler {
        void handle(Socket socket) throws Exception;
    }

    /** A one-connection-at-a-time server on 127.0.0.1 serving every connection with {@code handler}. */
    private URI serve(Handler handler) throws IOException {
        server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        serverThread = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.getInputStream().read(new byte[8192]);
                    handler.handle(s);
                } catch (Exception ignored) {
                    // client gone or server closed
                }
            }
        }, "trickle-server");
        serverThread.setDaemon(true);
        serverThread.start();
        return URI.create("http://127.0.0.1:" + server.getLocalPort() + "/image.png");
    }

    private static MediaResolver resolver(Duration timeout, long maxBytes) {
        return new MediaResolver(false, Set.of("127.0.0.1"), maxBytes, timeout);
    }

    private static Media url(URI uri) {
        return Media.builder().mimeType(MimeTypeUtils.IMAGE_PNG).data(uri.toString()).build();
    }

    @Test
    void fileUrlsAreRefusedByDefault(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path secret = Files.writeString(dir.resolve("secret.txt"), "not for users");
        Media media = url(secret.toUri());
        assertThatThrownBy(() -> MediaResolver.defaults().resolve(media))
                .isInstanceOf(UnsupportedContentException.class)
                .hasMessageContaining("spring.ai.qwen-vl.media.allow-file-urls");
        assertThat(new MediaResolver(true, Set.of(), 1 << 20, Duration.ofSeconds(5)).resolve(media)).isNotNull();
    }

    @Test
    @Timeout(30)
    void aTrickledBodyEndsAtTheDeadline() throws Exception {
        AtomicInteger sent = new AtomicInteger();
        URI uri = serve(s -> {
            OutputStream out = s.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            for (int i = 0; i < 100; i++) {     // 20 s at most
                out.write('x');
                out.flush();
                sent.incrementAndGet();
                Thread.sleep(200);
            }
        });
        assertThatThrownBy(() -> resolver(Duration.ofSeconds(2), 1 << 20).resolve(url(uri)))
                .isInstanceOf(UnsupportedContentException.class)
                .hasMessageContaining("spring.ai.qwen-vl.media.download-timeout");
        // the body had only begun: the resolver stopped reading it, it did not wait for the end
        assertThat(sent.get()).isLessThan(100);
    }

    @Test
    @Timeout(30)
    void headersThatNeverComeEndAtTheDeadline() throws Exception {
        URI uri = serve(s -> Thread.sleep(20_000));
        assertThatThrownBy(() -> resolver(Duration.ofSeconds(1), 1 << 20).resolve(url(uri)))
                .isInstanceOf(UnsupportedContentException.class)
                .hasMessageContaining("spring.ai.qwen-vl.media.download-timeout");
    }

    @Test
    @Timeout(30)
    void aCompleteSmallBodyIsReadAndALargeOneRefused() throws Exception {
        byte[] body = new byte[5000];
        URI uri = serve(s -> {
            OutputStream out = s.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
        });
        assertThat(resolver(Duration.ofSeconds(10), 1 << 20).resolve(url(uri))).isNotNull();
        assertThatThrownBy(() -> resolver(Duration.ofSeconds(10), 1000).resolve(url(uri)))
                .isInstanceOf(UnsupportedContentException.class)
                .hasMessageContaining("max-download-bytes");
    }

    @Test
    void hostsNotAllowedAreNeverContacted() {
        assertThatThrownBy(() -> MediaResolver.defaults().resolve(url(URI.create("http://127.0.0.1:9/x.png"))))
                .isInstanceOf(UnsupportedContentException.class)
                .hasMessageContaining("spring.ai.qwen-vl.media.allowed-hosts");
    }
}
