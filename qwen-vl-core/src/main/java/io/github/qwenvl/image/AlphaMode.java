package io.github.qwenvl.image;

/** What the decoder does with transparency when it reduces an image to RGB. */
public enum AlphaMode {
    /**
     * PIL's {@code Image.convert("RGB")}: alpha is discarded, the colour channels are kept as stored (a palette
     * image's transparent entries keep their palette colour). This is what transformers 4.50's
     * {@code image_transforms.convert_to_rgb}, used by the Qwen2-VL / Qwen2.5-VL image processor, actually
     * does — the fixture goldens (rgba_150x100) match it bit for bit and do not match compositing — and what
     * the original Qwen-VL does.
     */
    DROP,
    /**
     * The compositing {@code convert_to_rgb} of other transformers processors (Idefics2, Mllama): the image
     * goes to RGBA and is alpha-composited over opaque white with Pillow's integer arithmetic
     * ({@code Image.alpha_composite}), then to RGB.
     */
    COMPOSITE_ON_WHITE
}
