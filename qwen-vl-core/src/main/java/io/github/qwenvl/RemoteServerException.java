package io.github.qwenvl;

import java.util.List;

/**
 * A remote OpenAI-compatible server (the starter's {@code remote} backend) could not answer: every configured base URL
 * refused the connection, failed with a server error, or stayed busy (HTTP 429 / 503) through the retries.
 */
public class RemoteServerException extends QwenVlException {

    private final List<String> baseUrls;
    private final int status;

    /**
     * @param baseUrls the servers tried, in order
     * @param status   the last HTTP status received, or 0 when no server answered
     */
    public RemoteServerException(String message, List<String> baseUrls, int status, Throwable cause) {
        super(message, cause);
        this.baseUrls = List.copyOf(baseUrls);
        this.status = status;
    }

    public List<String> baseUrls() {
        return baseUrls;
    }

    /** The last HTTP status received, or 0 when no server answered (connection refused, unknown host, timeout). */
    public int status() {
        return status;
    }

    /** True when the servers answered 429 or 503 (busy) rather than being unreachable or failing. */
    public boolean busy() {
        return status == 429 || status == 503;
    }
}
