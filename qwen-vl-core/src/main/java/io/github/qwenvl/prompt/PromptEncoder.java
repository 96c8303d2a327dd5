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

    private final QwenTokenizer tokenizer;
    private final ChatTemplate template;

    public PromptEncoder(QwenTokenizer tokenizer, ChatTemplate template) {
        this.tokenizer = tokenizer;
        this.template = template;
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
     *                                  if message text itself contains {@code <|image_pad|>}
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
        String rendered = template.render(messages, options);
        int[] ids = tokenizer.encode(rendered);
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
        return new EncodedPrompt(rendered, expandText(rendered, imageTokenCounts), expandedIds,
                imageTokenCounts.clone(), offsets);
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
