package io.github.qwenvl.hub;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** Resolver wiring shared by the tests: a private cache, an empty environment, short timeouts. */
final class ResolverTestSupport {

    static final String REPO = "test-org/tiny-vl";

    private ResolverTestSupport() {
    }

    /** Never the machine's real HF_TOKEN, HF_HUB_OFFLINE or ~/.cache/huggingface. */
    static ModelResolver.Builder resolver(Path tmp, String endpoint) {
        return ModelResolver.builder()
                .environment(Map.of("HF_HOME", tmp.resolve("hf-home").toString()))
                .cacheDir(tmp.resolve("cache"))
                .endpoint(endpoint)
                .connectTimeout(Duration.ofSeconds(2))
                .readTimeout(Duration.ofSeconds(10))
                .progressListener(DownloadProgressListener.none());
    }

    /** An endpoint on which nothing listens: connections are refused at once. */
    static String deadEndpoint() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return "http://127.0.0.1:" + socket.getLocalPort();
        }
    }

    static Path repoDir(Path tmp) {
        return tmp.resolve("cache").resolve("models--test-org--tiny-vl");
    }

    /** Records every progress call. */
    static final class RecordingListener implements DownloadProgressListener {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        volatile DownloadSummary summary;

        @Override
        public void onProgress(String file, long bytesDone, long bytesTotal) {
            calls.add(file + ":" + bytesDone + "/" + bytesTotal);
        }

        @Override
        public void onFinished(DownloadSummary summary) {
            this.summary = summary;
        }
    }
}
