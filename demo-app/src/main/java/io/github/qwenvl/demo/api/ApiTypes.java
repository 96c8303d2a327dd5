package io.github.qwenvl.demo.api;

import java.util.List;

/** JSON shapes of the demo's own API ({@code /api/...}). */
public final class ApiTypes {

    private ApiTypes() {
    }

    /**
     * {@code POST /api/chat} and {@code /api/chat/stream} as JSON.
     *
     * @param messages the conversation so far, the new user message last
     * @param system   optional system prompt
     * @param options  optional sampling options
     */
    public record ChatRequest(List<Message> messages, String system, Options options) {
    }

    /**
     * @param role   {@code user} or {@code assistant}
     * @param text   the text (for assistant messages: the raw answer, markup included)
     * @param images {@code data:image/...;base64,...} URLs (user messages only)
     */
    public record Message(String role, String text, List<String> images) {
    }

    public record Options(Integer maxTokens, Double temperature, Double topP, Integer topK, Long seed,
                          Double repetitionPenalty) {
    }

    /**
     * {@code POST /api/region}: a rectangle in ORIGINAL pixels of an image, to be written in the model's markup.
     */
    public record RegionRequest(String image, double x1, double y1, double x2, double y2, String label) {
    }

    public record RegionResponse(String markup, String architecture, ImageDto image) {
    }

    public record ImageDto(int index, int originalWidth, int originalHeight, int resizedWidth, int resizedHeight,
                           int tokens) {
        public static ImageDto of(io.github.qwenvl.ImageInfo i) {
            return new ImageDto(i.index(), i.originalWidth(), i.originalHeight(), i.resizedWidth(), i.resizedHeight(),
                    i.tokens());
        }
    }

    /** {@code POST /api/images/cost}: images as data URLs, before they are sent with a question. */
    public record ImageCostRequest(List<String> images) {
    }

    /**
     * What one image will cost: its size as the model will see it and its image tokens, or why it would be
     * refused ({@code error}, the other fields then 0).
     */
    public record ImageCost(int index, int originalWidth, int originalHeight, int resizedWidth, int resizedHeight,
                            int tokens, String error) {
    }

    /** The images' costs and their total. */
    public record ImageCostResponse(List<ImageCost> images, int totalTokens) {
    }

    /** A normalized ([0, 1]) rectangle. */
    public record Rect(double x1, double y1, double x2, double y2) {
    }

    /**
     * A grounding box of an answer.
     *
     * @param label      the referring expression, or null
     * @param imageIndex the image of the conversation it belongs to (0 = first image sent)
     * @param kind       BOX, QUAD or POINT
     * @param box        normalized bounding box, [0, 1] of the image
     * @param pixels     the same in original image pixels
     * @param quad       for QUAD: x1,y1,...,x4,y4 normalized
     * @param model      the numbers as the model wrote them
     */
    public record Box(String label, int imageIndex, String kind, Rect box, Rect pixels, double[] quad, double[] model) {
    }

    public record Usage(int promptTokens, int completionTokens, int totalTokens, Integer imageTokens) {
    }

    /**
     * @param ttftMillis      time to first token
     * @param tokensPerSecond decode speed after the first token
     */
    public record Timings(double ttftMillis, double tokensPerSecond, Double preprocessMillis, Double visionMillis,
                          Double prefillMillis, Double decodeMillis, double totalMillis) {
    }

    /** A complete answer ({@code /api/chat}, and the {@code done} event of the stream). */
    public record ChatResult(String id, String model, String architecture, String text, String cleanText,
                             List<Box> boxes, List<ImageDto> images, String finishReason, Usage usage,
                             Timings timings) {
    }

    /**
     * An error body: {@code {"status":400,"error":"invalid_value","message":"...","param":"options.maxTokens"}}.
     *
     * @param param the request field at fault (or the property of a limit that was hit), or {@code null}
     */
    public record Error(int status, String error, String message, String param) {
    }
}
