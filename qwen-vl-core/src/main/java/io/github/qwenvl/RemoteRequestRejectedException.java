package io.github.qwenvl;

/**
 * A remote OpenAI-compatible server refused the request as given (HTTP 4xx other than 429): its status and its own
 * error message, e.g. vLLM's "At most 1 image(s) may be provided in one request".
 */
public class RemoteRequestRejectedException extends InvalidRequestException {

    private final int status;
    private final String serverMessage;

    public RemoteRequestRejectedException(String baseUrl, int status, String serverMessage) {
        super("The server at " + baseUrl + " refused the request (HTTP " + status + "): " + serverMessage);
        this.status = status;
        this.serverMessage = serverMessage;
    }

    /** The HTTP status the server answered. */
    public int status() {
        return status;
    }

    /** The server's own error message. */
    public String serverMessage() {
        return serverMessage;
    }
}
