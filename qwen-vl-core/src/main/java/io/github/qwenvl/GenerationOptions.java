package io.github.qwenvl;

import java.util.List;

/**
 * Per-request generation settings; every null field falls back to the model's defaults
 * ({@code generation_config.json}, then the library's).
 *
 * @param maxNewTokens      limit on generated tokens
 * @param minNewTokens      end-of-sequence is suppressed until this many tokens were generated
 * @param temperature       0 = greedy; otherwise sampling temperature
 * @param topK              sampling: keep the k most likely tokens
 * @param topP              sampling: nucleus mass
 * @param repetitionPenalty 1 = off
 * @param seed              makes sampling reproducible
 * @param stopSequences     stop when the text contains one (it is cut off)
 * @param minPixels         lower bound of an image's resized area (Qwen2 family)
 * @param maxPixels         upper bound of an image's resized area (Qwen2 family): fewer image tokens, faster
 * @param addVisionId       prefix images with "Picture n:" (Qwen2 family; Qwen-VL always does)
 */
public record GenerationOptions(
        Integer maxNewTokens,
        Integer minNewTokens,
        Double temperature,
        Integer topK,
        Double topP,
        Double repetitionPenalty,
        Long seed,
        List<String> stopSequences,
        Integer minPixels,
        Integer maxPixels,
        Boolean addVisionId) {

    public static final GenerationOptions DEFAULTS = builder().build();

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().maxNewTokens(maxNewTokens).minNewTokens(minNewTokens).temperature(temperature).topK(topK).topP(topP)
                .repetitionPenalty(repetitionPenalty).seed(seed).stopSequences(stopSequences)
                .minPixels(minPixels).maxPixels(maxPixels).addVisionId(addVisionId);
    }

    /** Fields of {@code overrides} that are set replace those of this. */
    public GenerationOptions merge(GenerationOptions overrides) {
        if (overrides == null) {
            return this;
        }
        return new GenerationOptions(
                pick(overrides.maxNewTokens, maxNewTokens), pick(overrides.minNewTokens, minNewTokens),
                pick(overrides.temperature, temperature),
                pick(overrides.topK, topK), pick(overrides.topP, topP),
                pick(overrides.repetitionPenalty, repetitionPenalty), pick(overrides.seed, seed),
                pick(overrides.stopSequences, stopSequences), pick(overrides.minPixels, minPixels),
                pick(overrides.maxPixels, maxPixels), pick(overrides.addVisionId, addVisionId));
    }

    private static <T> T pick(T preferred, T fallback) {
        return preferred != null ? preferred : fallback;
    }

    /** Builder with fluent setters. */
    public static final class Builder {
        private Integer maxNewTokens;
        private Integer minNewTokens;
        private Double temperature;
        private Integer topK;
        private Double topP;
        private Double repetitionPenalty;
        private Long seed;
        private List<String> stopSequences;
        private Integer minPixels;
        private Integer maxPixels;
        private Boolean addVisionId;

        public Builder maxNewTokens(Integer v) {
            this.maxNewTokens = v;
            return this;
        }

        public Builder minNewTokens(Integer v) {
            this.minNewTokens = v;
            return this;
        }

        public Builder temperature(Double v) {
            this.temperature = v;
            return this;
        }

        public Builder topK(Integer v) {
            this.topK = v;
            return this;
        }

        public Builder topP(Double v) {
            this.topP = v;
            return this;
        }

        public Builder repetitionPenalty(Double v) {
            this.repetitionPenalty = v;
            return this;
        }

        public Builder seed(Long v) {
            this.seed = v;
            return this;
        }

        public Builder stopSequences(List<String> v) {
            this.stopSequences = v == null ? null : List.copyOf(v);
            return this;
        }

        public Builder minPixels(Integer v) {
            this.minPixels = v;
            return this;
        }

        public Builder maxPixels(Integer v) {
            this.maxPixels = v;
            return this;
        }

        public Builder addVisionId(Boolean v) {
            this.addVisionId = v;
            return this;
        }

        public GenerationOptions build() {
            return new GenerationOptions(maxNewTokens, minNewTokens, temperature, topK, topP, repetitionPenalty, seed,
                    stopSequences, minPixels, maxPixels, addVisionId);
        }
    }
}
