package io.github.qwenvl.tokenizer;

import java.util.OptionalInt;
import java.util.function.Function;

/**
 * Ids of the Qwen2-VL / Qwen2.5-VL control tokens, read from the tokenizer files of a checkpoint (never
 * constants: real checkpoints place them at 151643…, reduced test checkpoints elsewhere). -1 where the
 * tokenizer lacks the token.
 */
public record SpecialTokens(
        int endOfText,
        int imStart,
        int imEnd,
        int objectRefStart,
        int objectRefEnd,
        int boxStart,
        int boxEnd,
        int quadStart,
        int quadEnd,
        int visionStart,
        int visionEnd,
        int visionPad,
        int imagePad,
        int videoPad) {

    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";
    public static final String OBJECT_REF_START = "<|object_ref_start|>";
    public static final String OBJECT_REF_END = "<|object_ref_end|>";
    public static final String BOX_START = "<|box_start|>";
    public static final String BOX_END = "<|box_end|>";
    public static final String QUAD_START = "<|quad_start|>";
    public static final String QUAD_END = "<|quad_end|>";
    public static final String VISION_START = "<|vision_start|>";
    public static final String VISION_END = "<|vision_end|>";
    public static final String VISION_PAD = "<|vision_pad|>";
    public static final String IMAGE_PAD = "<|image_pad|>";
    public static final String VIDEO_PAD = "<|video_pad|>";

    /** Looks every control token up by its string. */
    public static SpecialTokens lookUp(Function<String, OptionalInt> idOf) {
        Function<String, Integer> id = token -> idOf.apply(token).orElse(-1);
        return new SpecialTokens(
                id.apply(END_OF_TEXT), id.apply(IM_START), id.apply(IM_END),
                id.apply(OBJECT_REF_START), id.apply(OBJECT_REF_END),
                id.apply(BOX_START), id.apply(BOX_END), id.apply(QUAD_START), id.apply(QUAD_END),
                id.apply(VISION_START), id.apply(VISION_END), id.apply(VISION_PAD),
                id.apply(IMAGE_PAD), id.apply(VIDEO_PAD));
    }
}
