package io.github.qwenvl.spring.remote;

import java.time.Duration;
import java.util.List;

/**
 * How to reach the OpenAI-compatible server(s) of the remote backend.
 *
 * @param baseUrls        server roots (requests go to {@code {base-url}/v1/chat/completions}); several are used in
 *                        turn and fail over to each other
 * @param apiKey          sent as {@code Authorization: Bearer ...}; null = none
 * @param model           the served model name; null = the only entry of the server's {@code /v1/models}
 * @param connectTimeout  connection establishment
 * @param readTimeout     longest wait for a non-streamed answer, or between two streamed chunks
 * @param maxRetries      further attempts after a connection error or HTTP 429 / 502 / 503 / 504, each on the next URL
 * @param retryBackoff    first wait before retrying a URL already tried (doubles per round, at most 10 s)
 * @param roundRobin      true: each request starts on the next URL; false: always on the first (fail-over only)
 * @param minPixels       the server's min_pixels when it overrides preprocessor_config.json; null = the checkpoint's
 * @param maxPixels       the server's max_pixels when it overrides preprocessor_config.json; null = the checkpoint's
 * @param downscale       send images already resized to the size the server would resize them to
 * @param maxImages       images per request
 * @param maxImagePixels  largest decoded image
 */
public record RemoteSettings(List<String> baseUrls, String apiKey, String model, Duration connectTimeout,
                             Duration readTimeout, int maxRetries, Duration retryBackoff, boolean roundRobin,
                             Integer minPixels, Integer maxPixels, boolean downscale, int maxImages,
                             long maxImagePixels) {

    public RemoteSettings {
        baseUrls = baseUrls == null ? List.of() : baseUrls.stream().map(String::strip).filter(u -> !u.isEmpty())
                .map(u -> u.endsWith("/") ? u.substring(0, u.length() - 1) : u).toList();
        if (baseUrls.isEmpty()) {
            throw new IllegalArgumentException("spring.ai.qwen-vl.remote.base-url is empty: set the server root, e.g."
                    + " http://vllm:8000 (requests go to {base-url}/v1/chat/completions)");
        }
        for (String u : baseUrls) {
            if (u.endsWith("/v1")) {
                throw new IllegalArgumentException("spring.ai.qwen-vl.remote.base-url is the server root, without /v1: "
                        + u.substring(0, u.length() - 3) + " instead of " + u);
            }
        }
        apiKey = apiKey == null || apiKey.isBlank() ? null : apiKey;
        model = model == null || model.isBlank() ? null : model;
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(5) : connectTimeout;
        readTimeout = readTimeout == null ? Duration.ofMinutes(5) : readTimeout;
        retryBackoff = retryBackoff == null ? Duration.ofMillis(500) : retryBackoff;
        maxRetries = Math.max(0, maxRetries);
    }
}
