package io.github.qwenvl.image;

/** What the decoder does with transparency when it reduces an image to RGB. */
public enum AlphaMode {
    /**
     * transformers' {@code convert_to_rgb}: every non-RGB image goes to RGBA and is alpha-composited over
     * opaque white with Pillow's integer arithmetic (Qwen2-VL, Qwen2.5-VL).
     */
    COMPOSITE_ON_WHITE,
    /** Alpha is discarded and the colour channels kept as stored ({@code Image.convert("RGB")}, original Qwen-VL). */
    DROP
}
