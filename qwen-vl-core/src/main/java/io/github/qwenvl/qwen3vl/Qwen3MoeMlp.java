package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.nn.Ops;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.qwen2vl.Qwen2TextModel;

import java.util.ArrayList;
import java.util.List;

/**
 * The sparse MoE block of a Qwen3-VL MoE decoder layer: the router ({@code mlp.gate.weight}, (E, H)) scores each
 * token's normalised hidden state, softmax over the experts in float32, the top-k experts are kept and their weights
 * renormalised to sum to 1 ({@code norm_topk_prob}); each kept expert's gated SiLU MLP runs on the tokens routed to it
 * and its output, times the token's weight, is summed per token (in expert order).
 *
 * <p>Experts are stored fused as the published checkpoints store them: {@code mlp.experts.gate_up_proj} (E, H, 2I),
 * the gate projection in the first I columns and the up projection in the next I, and {@code mlp.experts.down_proj}
 * (E, I, H); an expert's MLP is {@code (silu(x · G) ⊙ (x · U)) · D}. Held as float32 copies; the routing is computed
 * in Java and each expert runs once on the rows routed to it (no work for experts no token chose).
 */
final class Qwen3MoeMlp implements Qwen2TextModel.SparseMlp {

    private final Qwen3MoeConfig moe;
    private final NDArray router;  // (E, H)
    private final NDArray gateUp;  // (E, H, 2I)
    private final NDArray down;    // (E, I, H)

    Qwen3MoeMlp(Qwen3MoeConfig moe, WeightLoader weights, int layer, long hidden) {
        this.moe = moe;
        String p = "model.layers." + layer + ".mlp.";
        long e = moe.experts();
        long i = moe.intermediate();
        this.router = weights.loadLinear(p + "gate.weight", e, hidden);
        this.gateUp = weights.loadLinear(p + "experts.gate_up_proj", e, hidden, 2 * i);
        this.down = weights.loadLinear(p + "experts.down_proj", e, i, hidden);
    }

    @Override
    public NDArray apply(NDArray x) {
        Shape shape = x.getShape();
        long hidden = shape.get(shape.dimension() - 1);
        NDManager owner = x.getManager();
        int n = (int) (shape.size() / hidden);
        int experts = moe.experts();
        int k = moe.topK();
        int h = (int) hidden;
        float[] sum = new float[n * h];
        try (NDManager scope = owner.newSubManager()) {
            NDArray rows = x.reshape(n, hidden);
            rows.attach(scope);
            float[] logits = Ops.linear(rows, router, null).toType(DataType.FLOAT32, false).toFloatArray();
            // per expert: the rows routed to it and their weights, rows in ascending order
            List<List<Integer>> tokens = new ArrayList<>();
            List<List<Float>> weights = new ArrayList<>();
            for (int e = 0; e < experts; e++) {
                tokens.add(new ArrayList<>());
                weights.add(new ArrayList<>());
            }
            float[] probs = new float[experts];
            int[] chosen = new int[k];
            for (int t = 0; t < n; t++) {
                softmax(logits, t * experts, experts, probs);
                topK(probs, chosen);
                float total = 0;
                for (int j = 0; j < k; j++) {
                    total += probs[chosen[j]];
                }
                for (int j = 0; j < k; j++) {
                    float w = probs[chosen[j]];
                    tokens.get(chosen[j]).add(t);
                    weights.get(chosen[j]).add(moe.normTopkProb() ? w / total : w);
                }
            }
            long i = moe.intermediate();
            for (int e = 0; e < experts; e++) {
                List<Integer> routed = tokens.get(e);
                if (routed.isEmpty()) {
                    continue;
                }
                try (NDManager step = scope.newSubManager()) {
                    long[] index = routed.stream().mapToLong(Integer::longValue).toArray();
                    NDArray in = rows.get(step.create(index));
                    in.attach(step);
                    NDArray gu = gateUp.get(e);
                    gu.attach(step);
                    NDArray both = in.matMul(gu); // (m, 2I)
                    NDArray act = Ops.silu(both.get(":, 0:{}", i)).muli(both.get(":, {}:", i));
                    NDArray d = down.get(e);
                    d.attach(step);
                    float[] out = act.matMul(d).toType(DataType.FLOAT32, false).toFloatArray(); // (m, H)
                    List<Float> w = weights.get(e);
                    for (int r = 0; r < index.length; r++) {
                        float scale = w.get(r);
                        int base = (int) index[r] * h;
                        for (int c = 0; c < h; c++) {
                            sum[base + c] += out[r * h + c] * scale;
                        }
                    }
                }
            }
        }
        return owner.create(sum, shape).toType(x.getDataType(), false);
    }

    /** Softmax of {@code logits[from, from + count)} into {@code out}, as torch's float32 softmax. */
    private static void softmax(float[] logits, int from, int count, float[] out) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < count; j++) {
            max = Math.max(max, logits[from + j]);
        }
        float total = 0;
        for (int j = 0; j < count; j++) {
            out[j] = (float) Math.exp(logits[from + j] - max);
            total += out[j];
        }
        for (int j = 0; j < count; j++) {
            out[j] /= total;
        }
    }

    /** The indices of the {@code chosen.length} largest values, largest first (the lower index on ties). */
    private static void topK(float[] values, int[] chosen) {
        boolean[] taken = new boolean[values.length];
        for (int j = 0; j < chosen.length; j++) {
            int best = -1;
            for (int e = 0; e < values.length; e++) {
                if (!taken[e] && (best < 0 || values[e] > values[best])) {
                    best = e;
                }
            }
            taken[best] = true;
            chosen[j] = best;
        }
    }
}
