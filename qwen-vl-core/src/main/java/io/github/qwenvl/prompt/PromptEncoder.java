package io.github.qwenvl.prompt;

import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.tokenizer.QwenTokenizer;
import io.github.qwenvl.tokenizer.SpecialTokens;

import java.util.List;

/**
 * Renders a conversation with a chat template (Qwen2-VL's unless given another), tokenizes it and expands each image's single
 * {@code <|image_pad|>} into as many pads as the vision tower yields tokens for that image
 * (t·h·w / merge², see {@link #imageTokenCount}), as {@code Qwen2VLProcessor} does.
 */
public final class PromptEncoder {

    /**
     * The template's control tokens that message text may not write (by default): turn markers, end of text, vision
     * markers and pads. The grounding markup ({@code <|object_ref_start|>}, {@code <|box_start|>},
     * {@code <|quad_start|>} and their ends) is not among them: users write it to ask about regions.
     */
    public static final List<String> STRUCTURE_TOKENS = List.of(SpecialTokens.IM_START, SpecialTokens.IM_END,
            SpecialTokens.END_OF_TEXT, SpecialTokens.VISION_START, SpecialTokens.VISION_END, SpecialTokens.VISION_PAD,
            SpecialTokens.IMAGE_PAD, SpecialTokens.VIDEO_PAD);

    private final QwenTokenizer tokenizer;
    private final ChatTemplate template;
    private final TextSpecials textSpecials; // null: message text may write every special token

    public PromptEncoder(QwenTokenizer tokenizer, ChatTemplate template) {
        this(tokenizer, template, false);
    }

    /**
     * @param specialTokensInText true: special tokens written in message text are read as those tokens (trusted
     *                            callers); false (default): the {@link #STRUCTURE_TOKENS} in text are plain text
     */
    public PromptEncoder(QwenTokenizer tokenizer, ChatTemplate template, boolean specialTokensInText) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.textSpecials = specialTokensInText ? null : new TextSpecials(STRUCTURE_TOKENS);
    }

    public PromptEncoder(QwenTokenizer tokenizer) {
        this(tokenizer, new Qwen2ChatTemplate());
    }

    /** Image tokens the language model sees for one image of grid (t, h, w) in patches: t·h·w / merge². */
    public static int imageTokenCount(long t, long h, long w, int mergeSize) {
        long patches = t * h * w;
        long perToken = (long) mergeSize * mergeSize;
        if (patches <= 0 || patches % perToken != 0) {
            throw new IllegalArgumentException(
                    "grid " + t + "x" + h + "x" + w + " is not a whole number of " + mergeSize + "x" + mergeSize
                            + " merge blocks");
        }
        return Math.toIntExact(patches / perToken);
    }

    /**
     * Encodes {@code messages}.
     *
     * @param imageTokenCounts image tokens of each image part, in the order the images appear in the messages
     * @throws IllegalArgumentException if the messages hold a different number of images than counts given, or
     *                                  if message text itself contains {@code <|image_pad|>} read as the token
     *                                  (only where special tokens in text are allowed)
     */
    public EncodedPrompt encode(List<ChatMessage> messages, int[] imageTokenCounts, ChatTemplateOptions options) {
        int images = countImages(messages);
        if (images != imageTokenCounts.length) {
            throw new IllegalArgumentException("The messages hold " + images + " image(s) but "
                    + imageTokenCounts.length + " image token count(s) were given");
        }
        for (int count : imageTokenCounts) {
            if (count <= 0) {
                throw new IllegalArgumentException("Image token counts must be positive: " + count);
            }
        }
        TextSpecials.Marked marked = textSpecials == null ? null : textSpecials.mark(messages);
        if (marked != null && marked.none()) {
            marked = null; // the common case: rendered and tokenized in one piece, as the reference does
        }
        String rendered = template.render(marked == null ? messages : marked.messages(), options);
        int[] ids = marked == null ? tokenizer.encode(rendered)
                : marked.encode(rendered, tokenizer::encode, this::plainText);
        int imagePad = tokenizer.specialTokens().imagePad();
        if (images > 0 && imagePad < 0) {
            throw new IllegalStateException("The tokenizer has no " + SpecialTokens.IMAGE_PAD + " token");
        }
        int padsInPrompt = count(ids, imagePad);
        if (padsInPrompt != images) {
            // The reference would pair the extra pads with image features and fail later; say why now.
            throw new IllegalArgumentException("The prompt holds " + padsInPrompt + " " + SpecialTokens.IMAGE_PAD
                    + " token(s) for " + images + " image(s): message text must not contain "
                    + SpecialTokens.IMAGE_PAD);
        }
        int[] offsets = new int[images];
        int[] expandedIds = expandIds(ids, imagePad, imageTokenCounts, offsets);
        String expanded = expandText(rendered, imageTokenCounts);
        if (marked != null) {
            rendered = marked.restore(rendered);
            expanded = marked.restore(expanded);
        }
        return new EncodedPrompt(rendered, expanded, expandedIds, imageTokenCounts.clone(), offsets);
    }

    /**
     * A special token's text as plain text: its last character tokenized apart from the rest, so that neither piece
     * is the token (for {@code <|im_end|>}: the tokens of {@code <|im_end|} and of {@code >}).
     */
    private int[] plainText(String token) {
        int[] head = tokenizer.encode(token.substring(0, token.length() - 1));
        int[] tail = tokenizer.encode(token.substring(token.length() - 1));
        int[] ids = java.util.Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, ids, head.length, tail.length);
        return ids;
    }

    /** {@link #encode(List, int[], ChatTemplateOptions)} with {@link ChatTemplateOptions#DEFAULT}. */
    public EncodedPrompt encode(List<ChatMessage> messages, int[] imageTokenCounts) {
        return encode(messages, imageTokenCounts, ChatTemplateOptions.DEFAULT);
    }

    private static int countImages(List<ChatMessage> messages) {
        int n = 0;
        for (ChatMessage message : messages) {
            for (Content part : message.content()) {
                if (part instanceof Content.Image) {
                    n++;
                }
            }
        }
        return n;
    }

    private static int count(int[] ids, int id) {
        int n = 0;
        for (int x : ids) {
            if (x == id) {
                n++;
            }
        }
        return n;
    }

    private static int[] expandIds(int[] ids, int imagePad, int[] counts, int[] offsetsOut) {
        int extra = 0;
        for (int c : counts) {
            extra += c - 1;
        }
        int[] out = new int[ids.length + extra];
        int o = 0;
        int image = 0;
        for (int id : ids) {
            if (id == imagePad) {
                offsetsOut[image] = o;
                for (int k = 0; k < counts[image]; k++) {
                    out[o++] = imagePad;
                }
                image++;
            } else {
                out[o++] = id;
            }
        }
        return out;
    }

    /** The rendered text with each pad repeated; pads occur only in image placeholders (checked on the ids). */
    private static String expandText(String rendered, int[] counts) {
        String pad = SpecialTokens.IMAGE_PAD;
        StringBuilder out = new StringBuilder(rendered.length() + 16 * counts.length);
        int from = 0;
        for (int count : counts) {
            int at = rendered.indexOf(pad, from);
            out.append(rendered, from, at).append(pad.repeat(count));
            from = at + pad.length();
        }
        return out.append(rendered, from, rendered.length()).toString();
    }
}
