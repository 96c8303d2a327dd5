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
     * The region {@code (x1, y1)–(x2, y2)}, given in ORIGINAL pixels of {@code image}, in the markup of {@code arch}
     * ({@link GroundingConvention#regionSyntax()} on the grid its convention gives that markup), e.g.:
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
        GroundingConvention convention = arch.grounding();
        return switch (convention.regionSyntax()) {
            case QWEN_VL_TAGS -> (cleanLabel.isEmpty() ? "" : "<ref>" + cleanLabel + "</ref>")
                    + "<box>" + pairs(box, image, convention.space(GroundingSyntax.QWEN_VL_TAGS)) + "</box>";
            case QWEN2_VL_TAGS -> (cleanLabel.isEmpty() ? "" : "<|object_ref_start|>" + cleanLabel + "<|object_ref_end|>")
                    + "<|box_start|>" + pairs(box, image, convention.space(GroundingSyntax.QWEN2_VL_TAGS)) + "<|box_end|>";
            case JSON, XML_POINTS -> {
                double[] c = scaled(box, image, convention.space(GroundingSyntax.JSON));
                String coordinates = "[" + Math.round(c[0]) + ", " + Math.round(c[1]) + ", "
                        + Math.round(c[2]) + ", " + Math.round(c[3]) + "]";
                yield "{\"bbox_2d\": " + coordinates + (cleanLabel.isEmpty() ? "" : ", \"label\": "
                        + GSON.toJson(cleanLabel)) + "}";
            }
        };
    }

    /** x1, y1, x2, y2 of {@code box} on the grid {@code space}. */
    private static double[] scaled(NormalizedBox box, ImageInfo image, CoordinateSpace space) {
        double w = 1000;
        double h = 1000;
        if (space == CoordinateSpace.RESIZED_PIXELS) {
            w = image.resizedWidth() > 0 ? image.resizedWidth() : image.originalWidth();
            h = image.resizedHeight() > 0 ? image.resizedHeight() : image.originalHeight();
        }
        return new double[] {box.x1() * w, box.y1() * h, box.x2() * w, box.y2() * h};
    }

    private static String pairs(NormalizedBox box, ImageInfo image, CoordinateSpace space) {
        double[] c = scaled(box, image, space);
        return "(" + Math.round(c[0]) + "," + Math.round(c[1]) + "),(" + Math.round(c[2]) + "," + Math.round(c[3]) + ")";
    }
}
