package io.github.qwenvl.qwen3vl;

import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.config.Json;

import java.util.Arrays;

/**
 * The mixture-of-experts keys of a Qwen3-VL MoE {@code text_config} ({@code Qwen3VLMoeTextConfig}).
 *
 * @param experts         num_experts
 * @param topK            num_experts_per_tok: experts each token is routed to
 * @param intermediate    moe_intermediate_size: each expert's MLP width
 * @param sparseStep      decoder_sparse_step: layer l is sparse when (l + 1) % step == 0 (and not in mlpOnlyLayers)
 * @param mlpOnlyLayers   mlp_only_layers: layers that keep the dense MLP (intermediate_size)
 * @param normTopkProb    norm_topk_prob: the top-k routing weights are renormalised to sum to 1 (transformers 5.x
 *                        always does; the published checkpoints set it true)
 */
public record Qwen3MoeConfig(int experts, int topK, int intermediate, int sparseStep, int[] mlpOnlyLayers,
                             boolean normTopkProb) {

    public Qwen3MoeConfig {
        mlpOnlyLayers = mlpOnlyLayers.clone();
        if (experts <= 0 || topK <= 0 || topK > experts) {
            throw new CheckpointException("MoE text_config: num_experts_per_tok " + topK + " of num_experts " + experts);
        }
        if (intermediate <= 0 || sparseStep <= 0) {
            throw new CheckpointException("MoE text_config: moe_intermediate_size " + intermediate
                    + ", decoder_sparse_step " + sparseStep);
        }
    }

    @Override
    public int[] mlpOnlyLayers() {
        return mlpOnlyLayers.clone();
    }

    /** Whether decoder layer {@code layer} has the sparse MoE block rather than the dense MLP. */
    public boolean sparse(int layer) {
        return Arrays.stream(mlpOnlyLayers).noneMatch(l -> l == layer) && (layer + 1) % sparseStep == 0;
    }

    /** The MoE keys of {@code text_config}, or null when it has no experts (a dense checkpoint). */
    static Qwen3MoeConfig from(JsonObject text, String where) {
        int experts = Json.getInt(text, "num_experts", 0);
        if (experts <= 0) {
            return null;
        }
        return new Qwen3MoeConfig(experts,
                Json.requireInt(text, "num_experts_per_tok", where),
                Json.requireInt(text, "moe_intermediate_size", where),
                Json.getInt(text, "decoder_sparse_step", 1),
                Json.getIntArray(text, "mlp_only_layers", new int[0]),
                Json.getBoolean(text, "norm_topk_prob", true));
    }
}
