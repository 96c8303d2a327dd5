package io.github.qwenvl;

/**
 * What one request may cost and what its text may contain: the limits a service puts on requests from users; and how
 * many running requests share one decode step.
 *
 * @param maxImageTokens      most language-model tokens per image: larger images are scaled down as the reference
 *                            processor does for {@code max_pixels = maxImageTokens × (patch × merge)²} (28² for
 *                            Qwen2-VL / Qwen2.5-VL), the same {@code smart_resize}; Qwen-VL, whose images always
 *                            take 256 tokens, refuses image requests when this is lower. {@link #AUTO} = per device
 *                            ({@link #CPU_MAX_IMAGE_TOKENS} on a CPU, the checkpoint's {@code preprocessor_config.json}
 *                            bounds on a GPU); null = the checkpoint's bounds everywhere
 * @param maxPromptTokens     most prompt tokens (image tokens included) per request, checked before any engine work
 *                            ({@link RequestTooLargeException}); null = the context length only
 * @param allowSpecialTokens  false (default): chat-template control tokens ({@code <|im_start|>}, {@code <|im_end|>},
 *                            {@code <|endoftext|>}, vision and image-pad markers) written in message text are
 *                            tokenized as plain text, so a message cannot forge the conversation's structure; the
 *                            grounding markup ({@code <ref>}, {@code <box>}, {@code <|object_ref_start|>},
 *                            {@code <|box_start|>}, {@code <quad>} …) stays special either way. true: every special
 *                            token written in text is read as that token (trusted callers only)
 * @param maxBatchSize        most running sequences one decode step computes together where decode steps run in
 *                            the Java decoder ({@link io.github.qwenvl.generate.DecodeBatcher}: continuous batching);
 *                            more wait for the next step. 1 = steps of one sequence, taken in turn. Architectures and
 *                            modes without the Java decoder (Qwen-VL, the ENGINE decode mode, a GPU) run each
 *                            request's steps alone whatever this says
 */
public record ServingLimits(Integer maxImageTokens, Integer maxPromptTokens, boolean allowSpecialTokens,
                            int maxBatchSize) {

    /** The starter's property of {@link #maxImageTokens}, named by {@link RequestTooLargeException}s. */
    public static final String MAX_IMAGE_TOKENS_PROPERTY = "spring.ai.qwen-vl.serving.max-image-tokens";
    /** The starter's property of {@link #maxPromptTokens}. */
    public static final String MAX_PROMPT_TOKENS_PROPERTY = "spring.ai.qwen-vl.serving.max-prompt-tokens";

    /** The starter's property of {@link #maxBatchSize}. */
    public static final String MAX_BATCH_SIZE_PROPERTY = "spring.ai.qwen-vl.serving.max-batch-size";

    /**
     * Default {@link #maxBatchSize}: on two cores a Qwen2-VL-2B step for 4 sequences reads the weights once, as one
     * for a single sequence does, and takes little longer (docs/performance.md, "Continuous batching").
     */
    public static final int DEFAULT_MAX_BATCH_SIZE = 4;

    /** {@code maxImageTokens} value meaning "per device" (resolved when the model loads). */
    public static final int AUTO = -1;

    /**
     * Default image-token limit on a CPU: one image's vision pass on Qwen2-VL-2B then costs at most ~2.3 TFLOP
     * (1536 patches), about 15 s on two cores at the measured ~155 GFLOP/s (a 448×448 image, 256 tokens: ~9.6 s).
     */
    public static final int CPU_MAX_IMAGE_TOKENS = 384;

    /** No limits beyond the checkpoint's and the context's; special tokens in text are plain text. */
    public static final ServingLimits NONE = new ServingLimits(null, null, false);

    /** Per-device image tokens, no prompt limit, no special tokens from text. */
    public static final ServingLimits SERVING_DEFAULTS = new ServingLimits(AUTO, null, false);

    /** With the default batch size ({@link #DEFAULT_MAX_BATCH_SIZE}). */
    public ServingLimits(Integer maxImageTokens, Integer maxPromptTokens, boolean allowSpecialTokens) {
        this(maxImageTokens, maxPromptTokens, allowSpecialTokens, DEFAULT_MAX_BATCH_SIZE);
    }

    public ServingLimits {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be at least 1, was " + maxBatchSize);
        }
        if (maxImageTokens != null && maxImageTokens != AUTO && maxImageTokens < 1) {
            throw new IllegalArgumentException("maxImageTokens must be at least 1 (or AUTO / null), was " + maxImageTokens);
        }
        if (maxPromptTokens != null && maxPromptTokens < 1) {
            throw new IllegalArgumentException("maxPromptTokens must be at least 1, was " + maxPromptTokens);
        }
    }

    /** The image-token limit on {@code gpu} or not: AUTO resolved, null = none. */
    public Integer imageTokensOn(boolean gpu) {
        if (maxImageTokens == null || maxImageTokens != AUTO) {
            return maxImageTokens;
        }
        return gpu ? null : CPU_MAX_IMAGE_TOKENS;
    }

    public ServingLimits withMaxImageTokens(Integer v) {
        return new ServingLimits(v, maxPromptTokens, allowSpecialTokens, maxBatchSize);
    }

    public ServingLimits withMaxPromptTokens(Integer v) {
        return new ServingLimits(maxImageTokens, v, allowSpecialTokens, maxBatchSize);
    }

    public ServingLimits withAllowSpecialTokens(boolean v) {
        return new ServingLimits(maxImageTokens, maxPromptTokens, v, maxBatchSize);
    }

    public ServingLimits withMaxBatchSize(int v) {
        return new ServingLimits(maxImageTokens, maxPromptTokens, allowSpecialTokens, v);
    }
}
