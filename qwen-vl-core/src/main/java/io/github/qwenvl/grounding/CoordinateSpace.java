package io.github.qwenvl.grounding;

/** The grid the model wrote its numbers in. */
public enum CoordinateSpace {
    /** Integers 0–1000 relative to the image (Qwen-VL, Qwen2-VL): {@code x / 1000 * width}. */
    RELATIVE_1000,
    /** Absolute pixels of the RESIZED image the vision tower saw (Qwen2.5-VL): {@code x / resizedWidth * width}. */
    RESIZED_PIXELS
}
