package io.github.qwenvl.config;

import com.google.gson.JsonObject;

/**
 * {@code generation_config.json}: the sampling defaults the checkpoint ships with. Absent values are
 * null (the Hugging Face defaults then apply: greedy, no penalty).
 *
 * @param doSample          sample instead of greedy argmax
 * @param temperature       softmax temperature
 * @param topK              keep the k most likely tokens
 * @param topP              nucleus mass
 * @param repetitionPenalty CTRL-style penalty (1.0 = off)
 * @param maxNewTokens      default limit, when the file sets one
 * @param eosTokenIds       generation stops on any of these
 * @param padTokenId        padding id for batches
 */
public record GenerationDefaults(
        boolean doSample,
        Double temperature,
        Integer topK,
        Double topP,
        Double repetitionPenalty,
        Integer maxNewTokens,
        int[] eosTokenIds,
        Integer padTokenId) {

    static GenerationDefaults from(JsonObject g, int[] fallbackEos) {
        return new GenerationDefaults(
                Json.getBoolean(g, "do_sample", false),
                Json.getDoubleOrNull(g, "temperature"),
                Json.getIntOrNull(g, "top_k"),
                Json.getDoubleOrNull(g, "top_p"),
                Json.getDoubleOrNull(g, "repetition_penalty"),
                Json.getIntOrNull(g, "max_new_tokens"),
                Json.getIntArray(g, "eos_token_id", fallbackEos),
                Json.getIntOrNull(g, "pad_token_id"));
    }
}
