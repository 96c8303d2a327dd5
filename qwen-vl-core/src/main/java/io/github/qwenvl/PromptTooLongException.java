package io.github.qwenvl;

/** The prompt (text plus image tokens) does not fit the model's context. */
public class PromptTooLongException extends InvalidRequestException {

    private final int promptTokens;
    private final int contextLength;

    public PromptTooLongException(int promptTokens, int contextLength) {
        super("The prompt is " + promptTokens + " tokens (image tokens included) but the model's context is "
                + contextLength + " tokens; shorten the text, send fewer images or lower max-pixels");
        this.promptTokens = promptTokens;
        this.contextLength = contextLength;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int contextLength() {
        return contextLength;
    }
}
