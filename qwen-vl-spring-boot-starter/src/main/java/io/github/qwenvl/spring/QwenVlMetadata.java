package io.github.qwenvl.spring;

/** Keys of the Qwen-specific entries in Spring AI response metadata. */
public final class QwenVlMetadata {

    /** Generation metadata: the parsed grounding ({@code io.github.qwenvl.grounding.GroundingResult}). */
    public static final String GROUNDING = "qwen-vl.grounding";
    /** Response metadata: {@code GenerationResult.Timings}. */
    public static final String TIMINGS = "qwen-vl.timings";
    /** Response metadata: {@code List<ImageInfo>}, the prompt images as the model saw them. */
    public static final String IMAGES = "qwen-vl.images";
    /** Response metadata: image tokens in the prompt (included in the prompt token count). */
    public static final String IMAGE_TOKENS = "qwen-vl.image-tokens";
    /** Response metadata: the architecture (QWEN2_VL, QWEN2_5_VL, QWEN_VL). */
    public static final String ARCHITECTURE = "qwen-vl.architecture";

    private QwenVlMetadata() {
    }
}
