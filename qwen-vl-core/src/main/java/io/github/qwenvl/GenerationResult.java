package io.github.qwenvl;

import io.github.qwenvl.generate.FinishReason;

import java.util.List;

/**
 * What a request produced.
 *
 * @param text         the answer, special tokens removed, cut before a stop sequence
 * @param tokenIds     generated ids (with the final eos id when that ended generation)
 * @param finishReason why it ended
 * @param usage        token counts
 * @param timings      where the time went
 * @param images       the prompt's images as the model saw them
 */
public record GenerationResult(String text, int[] tokenIds, FinishReason finishReason, Usage usage, Timings timings,
                               List<ImageInfo> images) {

    /**
     * @param promptTokens     prompt length, image tokens included
     * @param imageTokens      of which image tokens
     * @param completionTokens generated tokens
     */
    public record Usage(int promptTokens, int imageTokens, int completionTokens) {
        public int totalTokens() {
            return promptTokens + completionTokens;
        }
    }

    /**
     * @param preprocessMillis image decoding, resizing, tokenization
     * @param visionMillis     vision tower
     * @param prefillMillis    language-model pass over the prompt
     * @param decodeMillis     all following tokens
     * @param firstTokenMillis from the start of the request to the first token
     */
    public record Timings(double preprocessMillis, double visionMillis, double prefillMillis, double decodeMillis,
                          double firstTokenMillis) {

        public double totalMillis() {
            return preprocessMillis + visionMillis + prefillMillis + decodeMillis;
        }

        /** Decode speed after the first token. */
        public double decodeTokensPerSecond(int completionTokens) {
            return completionTokens <= 1 || decodeMillis <= 0 ? 0 : (completionTokens - 1) * 1000.0 / decodeMillis;
        }
    }
}
