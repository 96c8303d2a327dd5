package io.github.qwenvl;

/**
 * A request whose cost is over a configured limit (its prompt tokens, an image's tokens): refused before any engine
 * work, so it never holds a generation slot. Carries the limit, the request's value and the setting that sets it.
 */
public class RequestTooLargeException extends InvalidRequestException {

    private final long limit;
    private final long actual;
    private final String property;

    /**
     * @param what     what is counted ("prompt tokens", "image tokens")
     * @param property the setting that sets the limit (the starter's property name)
     */
    public RequestTooLargeException(String what, long limit, long actual, String property) {
        super("The request has " + actual + " " + what + ", over the limit of " + limit + " (" + property
                + "); send a smaller or shorter request");
        this.limit = limit;
        this.actual = actual;
        this.property = property;
    }

    public long limit() {
        return limit;
    }

    public long actual() {
        return actual;
    }

    /** The setting that sets the limit, e.g. {@code spring.ai.qwen-vl.serving.max-prompt-tokens}. */
    public String property() {
        return property;
    }
}
