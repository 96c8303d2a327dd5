package io.github.qwenvl.generate;

import java.util.List;

/**
 * How to pick each next token, resolved from request options over the checkpoint's
 * {@code generation_config.json} defaults.
 *
 * @param doSample          sample from the processed distribution; false = greedy argmax
 * @param temperature       divides logits when sampling (1 = off)
 * @param topK              keep the k best tokens when sampling (0 = off)
 * @param topP              nucleus mass when sampling (1 = off)
 * @param repetitionPenalty CTRL penalty on every id of prompt and output (1 = off); applies in greedy mode too
 * @param seed              seed of the sampling RNG (null = random)
 * @param maxNewTokens      hard limit on generated tokens
 * @param minNewTokens      eos ids are suppressed until this many tokens were generated (0 = off)
 * @param eosTokenIds       generation stops after producing one of these (it is kept in the ids)
 * @param stopSequences     generation stops when the text contains one of these (it is cut from the text)
 */
public record SamplingParams(
        boolean doSample,
        double temperature,
        int topK,
        double topP,
        double repetitionPenalty,
        Long seed,
        int maxNewTokens,
        int minNewTokens,
        int[] eosTokenIds,
        List<String> stopSequences) {

    public SamplingParams {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be at least 1, was " + maxNewTokens);
        }
        if (minNewTokens < 0 || minNewTokens > maxNewTokens) {
            throw new IllegalArgumentException("minNewTokens must be in [0, maxNewTokens], was " + minNewTokens);
        }
        if (temperature < 0 || Double.isNaN(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, was " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0, was " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], was " + topP);
        }
        if (!(repetitionPenalty > 0)) {
            throw new IllegalArgumentException("repetitionPenalty must be > 0, was " + repetitionPenalty);
        }
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
        stopSequences = stopSequences == null ? List.of() : List.copyOf(stopSequences);
    }

    public static SamplingParams greedy(int maxNewTokens, int[] eosTokenIds) {
        return new SamplingParams(false, 1.0, 0, 1.0, 1.0, null, maxNewTokens, 0, eosTokenIds, List.of());
    }

    public boolean isEos(int token) {
        for (int e : eosTokenIds) {
            if (e == token) {
                return true;
            }
        }
        return false;
    }
}
