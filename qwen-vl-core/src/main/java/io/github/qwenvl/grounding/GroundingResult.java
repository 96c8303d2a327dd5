package io.github.qwenvl.grounding;

import java.util.List;

/**
 * A parsed answer.
 *
 * @param cleanText the answer with grounding markup removed and labels kept as plain text (a JSON detection block
 *                  becomes its labels joined by {@code ", "}); an incomplete tag at the end of a partial stream is
 *                  dropped, so it can be shown while streaming
 * @param rawText   the text that was parsed
 * @param boxes     every complete box, in the order they appear
 */
public record GroundingResult(String cleanText, String rawText, List<GroundingBox> boxes) {

    public GroundingResult {
        boxes = List.copyOf(boxes);
    }

    /** The boxes that belong to the image with this {@link io.github.qwenvl.ImageInfo#index()}. */
    public List<GroundingBox> boxesFor(int imageIndex) {
        return boxes.stream().filter(b -> b.imageIndex() == imageIndex).toList();
    }
}
