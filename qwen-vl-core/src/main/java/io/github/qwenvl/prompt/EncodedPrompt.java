package io.github.qwenvl.prompt;

/**
 * A prompt ready for the model: the rendered chat text, the text with every image's pad token repeated once
 * per image token, and the ids of the latter. Arrays are owned by the record; callers must not modify them.
 *
 * @param renderedPrompt    the chat template's output (one {@code <|image_pad|>} per image)
 * @param expandedPrompt    {@code renderedPrompt} with each image's pad repeated {@code imageTokenCounts[i]} times
 * @param inputIds          token ids of {@code expandedPrompt}
 * @param imageTokenCounts  number of image tokens per image, in order
 * @param imageTokenOffsets index in {@code inputIds} of each image's first image token
 */
public record EncodedPrompt(
        String renderedPrompt,
        String expandedPrompt,
        int[] inputIds,
        int[] imageTokenCounts,
        int[] imageTokenOffsets) {

    /** Number of tokens. */
    public int length() {
        return inputIds.length;
    }

    /** Number of images. */
    public int imageCount() {
        return imageTokenCounts.length;
    }
}
