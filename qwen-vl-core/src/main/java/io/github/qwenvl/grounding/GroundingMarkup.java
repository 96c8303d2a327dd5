package io.github.qwenvl.grounding;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Writes a region in the model's own grounding markup, to put in a user prompt ("What is in
 * {@code <ref>this</ref><box>(…)</box>}?"), so users can ask about part of an image.
 */
public final class GroundingMarkup {

    /** Tag-like text in a label would be tokenized as special tokens and change the markup's meaning. */
    private static final Pattern MARKUP_IN_LABEL = Pattern.compile("<\\|[^|<>]*\\|>|</?(?:ref|box|quad|img|imgpad)>");
    // no HTML escaping: a label like "a<b" should reach the model as written, not as \u003c
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private GroundingMarkup() {
    }

    /**
     * The region {@code (x1, y1)–(x2, y2)}, given in ORIGINAL pixels of {@code image}, in the markup of {@code arch}:
     * <ul>
     *   <li>Qwen-VL: {@code <ref>label</ref><box>(x1,y1),(x2,y2)</box>}, integers 0–1000 (as {@code from_list_format} writes);</li>
     *   <li>Qwen2-VL: {@code <|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>}, 0–1000;</li>
     *   <li>Qwen2.5-VL: {@code {"bbox_2d": [x1, y1, x2, y2], "label": "label"}}, integer pixels of the RESIZED image,
     *       the JSON its cookbook prompts and answers with.</li>
     * </ul>
     * Corners are ordered and clamped to the image. {@code label} may be {@code null} or blank (box only);
     * special-token lookalikes are removed from it.
     */
    public static String region(ModelArchitecture arch, ImageInfo image, double x1, double y1, double x2, double y2,
                                String label) {
        Objects.requireNonNull(arch, "arch");
        Objects.requireNonNull(image, "image");
        NormalizedBox box = NormalizedBox.of(x1 / image.originalWidth(), y1 / image.originalHeight(),
                x2 / image.originalWidth(), y2 / image.originalHeight());
        String cleanLabel = label == null ? "" : MARKUP_IN_LABEL.matcher(label).replaceAll("").strip();
        return switch (arch) {
            case QWEN_VL -> (cleanLabel.isEmpty() ? "" : "<ref>" + cleanLabel + "</ref>")
                    + "<box>" + pairs1000(box) + "</box>";
            case QWEN2_VL -> (cleanLabel.isEmpty() ? "" : "<|object_ref_start|>" + cleanLabel + "<|object_ref_end|>")
                    + "<|box_start|>" + pairs1000(box) + "<|box_end|>";
            case QWEN2_5_VL -> {
                int w = image.resizedWidth() > 0 ? image.resizedWidth() : image.originalWidth();
                int h = image.resizedHeight() > 0 ? image.resizedHeight() : image.originalHeight();
                String coordinates = "[" + Math.round(box.x1() * w) + ", " + Math.round(box.y1() * h) + ", "
                        + Math.round(box.x2() * w) + ", " + Math.round(box.y2() * h) + "]";
                yield "{\"bbox_2d\": " + coordinates + (cleanLabel.isEmpty() ? "" : ", \"label\": "
                        + GSON.toJson(cleanLabel)) + "}";
            }
        };
    }

    private static String pairs1000(NormalizedBox box) {
        return "(" + Math.round(box.x1() * 1000) + "," + Math.round(box.y1() * 1000) + "),("
                + Math.round(box.x2() * 1000) + "," + Math.round(box.y2() * 1000) + ")";
    }
}
