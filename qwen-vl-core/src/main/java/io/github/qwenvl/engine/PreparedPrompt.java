package io.github.qwenvl.engine;

import io.github.qwenvl.ImageInfo;

import java.util.List;

/**
 * A request after the CPU-side work: images decoded and preprocessed, prompt rendered and tokenized.
 *
 * @param inputIds    prompt ids, image tokens expanded
 * @param images      what each image became
 * @param imageTokens image tokens in the prompt
 * @param pixels      the architecture's model input for the images (null without images)
 * @param <P>         the type of that input, the backend's own
 */
public record PreparedPrompt<P>(int[] inputIds, List<ImageInfo> images, int imageTokens, P pixels) {
}
