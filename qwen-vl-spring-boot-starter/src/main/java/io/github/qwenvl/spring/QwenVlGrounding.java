package io.github.qwenvl.spring;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.grounding.GroundingBox;
import io.github.qwenvl.grounding.GroundingMarkup;
import io.github.qwenvl.grounding.GroundingParser;
import io.github.qwenvl.grounding.GroundingResult;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;

import java.util.List;

/**
 * Grounding boxes of a {@link QwenVlChatModel} answer.
 *
 * <pre>{@code
 * ChatResponse response = chatModel.call(prompt);
 * for (GroundingBox box : QwenVlGrounding.from(response).boxes()) {
 *     System.out.println(box.label() + " on image " + box.imageIndex() + " at " + box.pixels());
 * }
 * }</pre>
 */
public final class QwenVlGrounding {

    private QwenVlGrounding() {
    }

    /** The grounding of the response's first generation (empty when it has none). */
    public static GroundingResult from(ChatResponse response) {
        if (response == null || response.getResult() == null) {
            return new GroundingResult("", "", List.of());
        }
        return from(response.getResult());
    }

    public static GroundingResult from(Generation generation) {
        Object grounding = generation.getMetadata().get(QwenVlMetadata.GROUNDING);
        if (grounding instanceof GroundingResult r) {
            return r;
        }
        String text = generation.getOutput().getText();
        return new GroundingResult(text == null ? "" : text, text == null ? "" : text, List.of());
    }

    /** Boxes of the response. */
    public static List<GroundingBox> boxes(ChatResponse response) {
        return from(response).boxes();
    }

    /** Parses any text (e.g. an aggregated stream) against the images of a response. */
    public static GroundingResult parse(String text, ModelArchitecture architecture, List<ImageInfo> images) {
        return new GroundingParser().parse(text, architecture, images);
    }

    /**
     * The model's own markup for a region of an image, to ask about it ("What is in {region}?").
     *
     * @param image an image of the conversation as the model saw it (from a response's
     *              {@link QwenVlMetadata#IMAGES}, or {@link io.github.qwenvl.QwenVlModel#describeImage})
     */
    public static String region(ModelArchitecture architecture, ImageInfo image, double x1, double y1, double x2, double y2,
                                String label) {
        return GroundingMarkup.region(architecture, image, x1, y1, x2, y2, label);
    }
}
