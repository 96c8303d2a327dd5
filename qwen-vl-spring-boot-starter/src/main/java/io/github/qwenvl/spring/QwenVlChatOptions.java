package io.github.qwenvl.spring;

import io.github.qwenvl.GenerationOptions;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.DefaultChatOptionsBuilder;

import java.util.List;
import java.util.Objects;

/**
 * Options of {@link QwenVlChatModel}: Spring AI's portable ones plus the Qwen-specific
 * {@code repetitionPenalty}, {@code seed}, {@code minPixels} / {@code maxPixels} (image resolution,
 * i.e. image tokens, for the Qwen2 family) and {@code addVisionId}. Bindable from
 * {@code spring.ai.qwen-vl.chat.options.*}; per-request options override the defaults field by field.
 * Frequency and presence penalties are not supported by the engine and are rejected when set.
 */
public class QwenVlChatOptions implements ChatOptions {

    /** Model name reported in responses (default: the configured model id); a request naming another model is refused. */
    private String model;
    /** Most tokens to generate (default: generation_config.json's max_new_tokens, else 512). */
    private Integer maxTokens;
    /** 0 = greedy; above 0 samples with this temperature (default: generation_config.json). */
    private Double temperature;
    /** Sampling: keep the k most likely tokens (default: generation_config.json, else 50). */
    private Integer topK;
    /** Sampling: nucleus probability mass (default: generation_config.json, else 1.0). */
    private Double topP;
    /** Stop when the answer contains one of these; it is cut from the answer. */
    private List<String> stopSequences;
    /** Not supported by the engine (use repetition-penalty); a request that sets it is refused. */
    private Double frequencyPenalty;
    /** Not supported by the engine (use repetition-penalty); a request that sets it is refused. */
    private Double presencePenalty;
    /** CTRL repetition penalty over prompt and answer, 1.0 = off (default: generation_config.json). */
    private Double repetitionPenalty;
    /** Seed of the sampler, for reproducible sampled answers. */
    private Long seed;
    /** Qwen2 family: smallest resized image area in pixels (default: preprocessor_config.json). */
    private Integer minPixels;
    /** Qwen2 family: largest resized image area in pixels; lower = fewer image tokens, faster (default: preprocessor_config.json). */
    private Integer maxPixels;
    /** Qwen2 family: label images "Picture n:" in the prompt, which helps multi-image questions (default: false). */
    private Boolean addVisionId;

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Builder mutate() {
        Builder b = new Builder().model(model).maxTokens(maxTokens).temperature(temperature).topK(topK).topP(topP)
                .stopSequences(stopSequences).frequencyPenalty(frequencyPenalty).presencePenalty(presencePenalty);
        return b.repetitionPenalty(repetitionPenalty).seed(seed).minPixels(minPixels).maxPixels(maxPixels)
                .addVisionId(addVisionId);
    }

    /** A copy of {@code this} with every non-null field of {@code overrides} applied (Spring AI's combineWith). */
    public QwenVlChatOptions merge(ChatOptions overrides) {
        if (overrides == null) {
            return mutate().build();
        }
        return mutate().combineWith(overrides.mutate()).build();
    }

    /** The engine's view of these options. */
    public GenerationOptions toGenerationOptions() {
        return GenerationOptions.builder().maxNewTokens(maxTokens).temperature(temperature).topK(topK).topP(topP)
                .repetitionPenalty(repetitionPenalty).seed(seed).stopSequences(stopSequences)
                .minPixels(minPixels).maxPixels(maxPixels).addVisionId(addVisionId).build();
    }

    @Override
    public String getModel() {
        return model;
    }

    public void setModel(String model) {
        this.model = model;
    }

    @Override
    public Integer getMaxTokens() {
        return maxTokens;
    }

    public void setMaxTokens(Integer maxTokens) {
        this.maxTokens = maxTokens;
    }

    @Override
    public Double getTemperature() {
        return temperature;
    }

    public void setTemperature(Double temperature) {
        this.temperature = temperature;
    }

    @Override
    public Integer getTopK() {
        return topK;
    }

    public void setTopK(Integer topK) {
        this.topK = topK;
    }

    @Override
    public Double getTopP() {
        return topP;
    }

    public void setTopP(Double topP) {
        this.topP = topP;
    }

    @Override
    public List<String> getStopSequences() {
        return stopSequences;
    }

    public void setStopSequences(List<String> stopSequences) {
        this.stopSequences = stopSequences;
    }

    @Override
    public Double getFrequencyPenalty() {
        return frequencyPenalty;
    }

    public void setFrequencyPenalty(Double frequencyPenalty) {
        this.frequencyPenalty = frequencyPenalty;
    }

    @Override
    public Double getPresencePenalty() {
        return presencePenalty;
    }

    public void setPresencePenalty(Double presencePenalty) {
        this.presencePenalty = presencePenalty;
    }

    public Double getRepetitionPenalty() {
        return repetitionPenalty;
    }

    public void setRepetitionPenalty(Double repetitionPenalty) {
        this.repetitionPenalty = repetitionPenalty;
    }

    public Long getSeed() {
        return seed;
    }

    public void setSeed(Long seed) {
        this.seed = seed;
    }

    public Integer getMinPixels() {
        return minPixels;
    }

    public void setMinPixels(Integer minPixels) {
        this.minPixels = minPixels;
    }

    public Integer getMaxPixels() {
        return maxPixels;
    }

    public void setMaxPixels(Integer maxPixels) {
        this.maxPixels = maxPixels;
    }

    public Boolean getAddVisionId() {
        return addVisionId;
    }

    public void setAddVisionId(Boolean addVisionId) {
        this.addVisionId = addVisionId;
    }

    /** A copy. */
    public QwenVlChatOptions copy() {
        return mutate().build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QwenVlChatOptions that && Objects.equals(model, that.model)
                && Objects.equals(maxTokens, that.maxTokens) && Objects.equals(temperature, that.temperature)
                && Objects.equals(topK, that.topK) && Objects.equals(topP, that.topP)
                && Objects.equals(stopSequences, that.stopSequences)
                && Objects.equals(frequencyPenalty, that.frequencyPenalty)
                && Objects.equals(presencePenalty, that.presencePenalty)
                && Objects.equals(repetitionPenalty, that.repetitionPenalty) && Objects.equals(seed, that.seed)
                && Objects.equals(minPixels, that.minPixels) && Objects.equals(maxPixels, that.maxPixels)
                && Objects.equals(addVisionId, that.addVisionId);
    }

    @Override
    public int hashCode() {
        return Objects.hash(model, maxTokens, temperature, topK, topP, stopSequences, repetitionPenalty, seed,
                minPixels, maxPixels, addVisionId);
    }

    @Override
    public String toString() {
        return "QwenVlChatOptions{model=" + model + ", maxTokens=" + maxTokens + ", temperature=" + temperature
                + ", topK=" + topK + ", topP=" + topP + ", stopSequences=" + stopSequences
                + ", repetitionPenalty=" + repetitionPenalty + ", seed=" + seed + ", minPixels=" + minPixels
                + ", maxPixels=" + maxPixels + ", addVisionId=" + addVisionId + "}";
    }

    /** Builder in Spring AI 2 style: portable fields from {@link DefaultChatOptionsBuilder}, plus Qwen's. */
    public static class Builder extends DefaultChatOptionsBuilder<Builder> {

        private Double repetitionPenalty;
        private Long seed;
        private Integer minPixels;
        private Integer maxPixels;
        private Boolean addVisionId;

        public Builder repetitionPenalty(Double repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
            return this;
        }

        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        public Builder minPixels(Integer minPixels) {
            this.minPixels = minPixels;
            return this;
        }

        public Builder maxPixels(Integer maxPixels) {
            this.maxPixels = maxPixels;
            return this;
        }

        public Builder addVisionId(Boolean addVisionId) {
            this.addVisionId = addVisionId;
            return this;
        }

        @Override
        public Builder combineWith(ChatOptions.Builder<?> other) {
            super.combineWith(other);
            if (other instanceof Builder that) {
                if (that.repetitionPenalty != null) {
                    this.repetitionPenalty = that.repetitionPenalty;
                }
                if (that.seed != null) {
                    this.seed = that.seed;
                }
                if (that.minPixels != null) {
                    this.minPixels = that.minPixels;
                }
                if (that.maxPixels != null) {
                    this.maxPixels = that.maxPixels;
                }
                if (that.addVisionId != null) {
                    this.addVisionId = that.addVisionId;
                }
            }
            return this;
        }

        @Override
        public QwenVlChatOptions build() {
            QwenVlChatOptions o = new QwenVlChatOptions();
            o.model = this.model;
            o.maxTokens = this.maxTokens;
            o.temperature = this.temperature;
            o.topK = this.topK;
            o.topP = this.topP;
            o.stopSequences = this.stopSequences == null ? null : List.copyOf(this.stopSequences);
            o.frequencyPenalty = this.frequencyPenalty;
            o.presencePenalty = this.presencePenalty;
            o.repetitionPenalty = this.repetitionPenalty;
            o.seed = this.seed;
            o.minPixels = this.minPixels;
            o.maxPixels = this.maxPixels;
            o.addVisionId = this.addVisionId;
            return o;
        }
    }
}
