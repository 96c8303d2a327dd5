package io.github.qwenvl.qwenvl;

import io.github.qwenvl.prompt.TextSpecials;
import io.github.qwenvl.InvalidRequestException;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.tokenizer.QwenTiktokenTokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The prompt of the original Qwen-VL(-Chat), as {@code qwen_generation_utils.make_context} builds it.
 *
 * <p>Each message's parts become text as {@code tokenizer.from_list_format} writes them: an image is
 * {@code Picture n:<img>REF</img>\n}, text is copied. n counts the images of that message from 1, as each
 * {@code from_list_format} call does: a second user turn with an image starts again at {@code Picture 1:}, in the
 * history and in the current query alike.
 * The reference model opens the file whose path is spelled by REF; here the pixels travel separately and REF is
 * only a placeholder that fills the span (its 256 inner positions are replaced by the image's embeddings, so REF
 * never changes the model's output). By default REF is the path of an {@link ImageSource.File} exactly as given
 * (so an application passing the same relative paths as a Python caller gets the same ids), and
 * {@code image<n>} for bytes or decoded images; {@link #withImageReference} changes it.
 *
 * <p>chatml (Qwen-VL-Chat): {@code <|im_start|>system\nSYSTEM<|im_end|>}, each earlier (user, assistant) pair as
 * {@code \n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nR<|im_end|>} (oldest pairs are dropped when the
 * prompt would reach {@code max_window_size}), then
 * {@code \n<|im_start|>user\nQUERY<|im_end|>\n<|im_start|>assistant\n}. Roles and contents are encoded separately
 * with only the nine image/ref/box/quad tokens recognised in them, so a user typing {@code <|im_start|>} gets plain
 * text; the chat frame tokens are inserted as ids. Default system prompt "You are a helpful assistant.".
 *
 * <p>raw (base Qwen-VL): the messages' texts concatenated, encoded with every special token recognised.
 */
public final class QwenVlChatFormat {

    public static final String DEFAULT_SYSTEM = "You are a helpful assistant.";

    /** Encoded prompt and the images in span order. */
    public record Encoded(int[] inputIds, String text, List<ImageSource> images) {
    }

    private final QwenTiktokenTokenizer tokenizer;
    private final boolean chatml;
    private final int maxWindowSize;
    private final BiFunction<ImageSource, Integer, String> imageReference;
    private final TextSpecials textSpecials; // null: message text may write every special token

    /** Grounding markup that message text may write as special tokens: {@code <ref>}, {@code <box>}, {@code <quad>}. */
    public static final List<String> GROUNDING_TOKENS = List.of(QwenTiktokenTokenizer.REF_START,
            QwenTiktokenTokenizer.REF_END, QwenTiktokenTokenizer.BOX_START, QwenTiktokenTokenizer.BOX_END,
            QwenTiktokenTokenizer.QUAD_START, QwenTiktokenTokenizer.QUAD_END);

    public QwenVlChatFormat(QwenTiktokenTokenizer tokenizer, boolean chatml, int maxWindowSize) {
        this(tokenizer, chatml, maxWindowSize, QwenVlChatFormat::defaultReference, false);
    }

    private QwenVlChatFormat(QwenTiktokenTokenizer tokenizer, boolean chatml, int maxWindowSize,
                             BiFunction<ImageSource, Integer, String> imageReference, boolean specialTokensInText) {
        this.tokenizer = tokenizer;
        this.chatml = chatml;
        this.maxWindowSize = maxWindowSize;
        this.imageReference = imageReference;
        // make_context reads only the image and grounding tokens in content (every other special string is plain
        // text there already); the raw format reads every special token
        this.textSpecials = specialTokensInText ? null : new TextSpecials(chatml
                ? List.of(QwenTiktokenTokenizer.IMG_START, QwenTiktokenTokenizer.IMG_END, QwenTiktokenTokenizer.IMG_PAD)
                : QwenTiktokenTokenizer.SPECIALS.stream().filter(t -> !GROUNDING_TOKENS.contains(t)).toList());
    }

    /** @param reference (source, 1-based picture number within its message) → the text written between the image tags */
    public QwenVlChatFormat withImageReference(BiFunction<ImageSource, Integer, String> reference) {
        return new QwenVlChatFormat(tokenizer, chatml, maxWindowSize, reference, textSpecials == null);
    }

    /**
     * @param allowed true: special tokens written in message text are read as those tokens ({@code make_context}
     *                reads the image and grounding tokens in content, the raw format every special token); false
     *                (default): only the grounding markup ({@link #GROUNDING_TOKENS}) is, every other special
     *                token in text ({@code <img>}, {@code </img>}, {@code <imgpad>}, {@code <|im_end|>} …) is plain
     *                text, so a message cannot forge image spans or turns
     */
    public QwenVlChatFormat withSpecialTokensInText(boolean allowed) {
        return new QwenVlChatFormat(tokenizer, chatml, maxWindowSize, imageReference, allowed);
    }

    public boolean chatml() {
        return chatml;
    }

    static String defaultReference(ImageSource source, int number) {
        if (source instanceof ImageSource.File file) {
            String path = file.path().toString();
            if (path.getBytes(StandardCharsets.UTF_8).length <= QwenTiktokenTokenizer.IMAGE_SPAN
                    && !path.contains("<") && !path.isEmpty()) {
                return path;
            }
        }
        return "image" + number;
    }

    /** {@code from_list_format} of one message (pictures numbered from 1); appends its images to {@code images}. */
    private String listFormat(ChatMessage message, List<ImageSource> images, List<String> marked) {
        StringBuilder text = new StringBuilder();
        int n = 0;
        for (Content c : message.content()) {
            if (c instanceof Content.Text t) {
                text.append(textSpecials == null ? t.text() : textSpecials.mark(t.text(), marked));
            } else if (c instanceof Content.Image image) {
                images.add(image.source());
                n++;
                String ref = imageReference.apply(image.source(), n);
                if (ref.getBytes(StandardCharsets.UTF_8).length > QwenTiktokenTokenizer.IMAGE_SPAN
                        || ref.contains(QwenTiktokenTokenizer.IMG_START) || ref.contains(QwenTiktokenTokenizer.IMG_END)) {
                    throw new InvalidRequestException("Image reference of picture " + n + " does not fit an image span: " + ref);
                }
                text.append("Picture ").append(n).append(':').append(QwenTiktokenTokenizer.IMG_START).append(ref)
                        .append(QwenTiktokenTokenizer.IMG_END).append('\n');
            }
        }
        return text.toString();
    }

    public Encoded encode(List<ChatMessage> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new InvalidRequestException("A request needs at least one message");
        }
        List<ImageSource> images = new ArrayList<>();
        List<String> marked = new ArrayList<>();
        String system = DEFAULT_SYSTEM;
        int first = 0;
        if (messages.get(0).role() == Role.SYSTEM) {
            if (messages.get(0).imageCount() > 0) {
                throw new InvalidRequestException("A system message cannot hold images");
            }
            system = listFormat(messages.get(0), images, marked);
            first = 1;
        }
        List<String> turns = new ArrayList<>();
        for (int i = first; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            Role expected = (i - first) % 2 == 0 ? Role.USER : Role.ASSISTANT;
            if (m.role() != expected) {
                throw new InvalidRequestException("Qwen-VL expects an optional system message, then user and assistant"
                        + " messages alternating, ending with a user message; message " + i + " is " + m.role());
            }
            turns.add(listFormat(m, images, marked));
        }
        if (turns.size() % 2 == 0) {
            throw new InvalidRequestException("The last message must be a user message");
        }
        TextSpecials.Marked texts = new TextSpecials.Marked(List.of(), List.copyOf(marked));
        Encoded encoded = chatml ? chatml(system, turns, images, texts) : raw(turns, images, texts);
        if (!texts.none()) {
            encoded = new Encoded(encoded.inputIds(), texts.restore(encoded.text()), encoded.images());
        }
        int spans = 0;
        int imgStart = tokenizer.specialTokens().visionStart();
        for (int id : encoded.inputIds()) {
            if (id == imgStart) {
                spans++;
            }
        }
        if (spans != encoded.images().size()) {
            throw new InvalidRequestException("The prompt has " + spans + " image spans for " + encoded.images().size()
                    + " images: message text must not contain " + QwenTiktokenTokenizer.IMG_START + " tags");
        }
        return encoded;
    }

    private Encoded raw(List<String> turns, List<ImageSource> images, TextSpecials.Marked texts) {
        String text = String.join("", turns);
        int[] ids = texts.none() ? tokenizer.encode(text) : texts.encode(text, tokenizer::encode, tokenizer::encodeOrdinary);
        return new Encoded(ids, text, List.copyOf(images));
    }

    private Encoded chatml(String system, List<String> turns, List<ImageSource> allImages, TextSpecials.Marked texts) {
        int imStart = tokenizer.specialTokens().imStart();
        int imEnd = tokenizer.specialTokens().imEnd();
        int[] nl = tokenizer.encode("\n");
        IntList systemTokens = new IntList().add(imStart).add(roleContent("system", system, texts)).add(imEnd);
        String systemText = "<|im_start|>system\n" + system + "<|im_end|>";
        IntList context = new IntList();
        StringBuilder rawText = new StringBuilder();
        int pairs = (turns.size() - 1) / 2;
        int firstKeptPair = pairs;
        for (int p = pairs - 1; p >= 0; p--) {
            String q = turns.get(2 * p);
            String r = turns.get(2 * p + 1);
            IntList next = new IntList().add(nl).add(imStart).add(roleContent("user", q, texts)).add(imEnd).add(nl)
                    .add(imStart).add(roleContent("assistant", r, texts)).add(imEnd);
            if (systemTokens.size() + next.size() + context.size() < maxWindowSize) {
                context = next.add(context.toArray());
                rawText.insert(0, "\n<|im_start|>user\n" + q + "<|im_end|>\n<|im_start|>assistant\n" + r + "<|im_end|>");
                firstKeptPair = p;
            } else {
                break;
            }
        }
        String query = turns.get(turns.size() - 1);
        IntList all = new IntList().add(systemTokens.toArray()).add(context.toArray()).add(nl).add(imStart)
                .add(roleContent("user", query, texts)).add(imEnd).add(nl).add(imStart).add(tokenizer.encode("assistant")).add(nl);
        String text = systemText + rawText + "\n<|im_start|>user\n" + query + "<|im_end|>\n<|im_start|>assistant\n";
        // images of dropped history pairs are not in the prompt any more
        int dropped = 0;
        for (int t = 0; t < 2 * firstKeptPair; t++) {
            dropped += countSpans(turns.get(t));
        }
        return new Encoded(all.toArray(), text, List.copyOf(allImages.subList(dropped, allImages.size())));
    }

    private static int countSpans(String text) {
        int n = 0;
        int at = 0;
        while ((at = text.indexOf(QwenTiktokenTokenizer.IMG_START, at)) >= 0) {
            n++;
            at += QwenTiktokenTokenizer.IMG_START.length();
        }
        return n;
    }

    private int[] roleContent(String role, String content, TextSpecials.Marked texts) {
        List<String> allowed = QwenTiktokenTokenizer.IMAGE_ST;
        int[] contentIds = texts.none() ? tokenizer.encode(content, allowed)
                : texts.encode(content, piece -> tokenizer.encode(piece, allowed), tokenizer::encodeOrdinary);
        return new IntList().add(tokenizer.encode(role, allowed)).add(tokenizer.encode("\n"))
                .add(contentIds).toArray();
    }

    /** Minimal growable int list. */
    private static final class IntList {
        private int[] data = new int[64];
        private int size;

        IntList add(int v) {
            if (size == data.length) {
                data = java.util.Arrays.copyOf(data, size * 2);
            }
            data[size++] = v;
            return this;
        }

        IntList add(int[] values) {
            for (int v : values) {
                add(v);
            }
            return this;
        }

        int size() {
            return size;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(data, size);
        }
    }
}
