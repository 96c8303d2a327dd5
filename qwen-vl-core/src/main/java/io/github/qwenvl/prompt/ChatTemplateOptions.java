package io.github.qwenvl.prompt;

/**
 * The chat template's switches.
 *
 * @param addGenerationPrompt end with {@code <|im_start|>assistant\n} so the model answers next
 * @param addVisionId         prefix each image with {@code "Picture n: "} (n counts across the conversation)
 */
public record ChatTemplateOptions(boolean addGenerationPrompt, boolean addVisionId) {

    /** What a chat request needs: generation prompt on, vision ids off (the template's default). */
    public static final ChatTemplateOptions DEFAULT = new ChatTemplateOptions(true, false);
}
