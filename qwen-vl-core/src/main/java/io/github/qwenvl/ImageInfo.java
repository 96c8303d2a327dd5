package io.github.qwenvl;

/**
 * One prompt image as the model saw it, to map model-space boxes back to the original pixels.
 *
 * @param index          0-based order in the conversation ("Picture index+1")
 * @param originalWidth  decoded width
 * @param originalHeight decoded height
 * @param resizedWidth   width the vision tower saw
 * @param resizedHeight  height the vision tower saw
 * @param tokens         LLM tokens the image took
 */
public record ImageInfo(int index, int originalWidth, int originalHeight, int resizedWidth, int resizedHeight, int tokens) {
}
