package io.github.qwenvl.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Next-token choice with the logits processors of transformers' {@code generate}, in its order:
 * repetition penalty, then (when sampling) temperature, top-k, top-p, softmax and a draw.
 * Float32 arithmetic as in the reference, so greedy choices are identical.
 */
public final class LogitsSampler {

    private final SamplingParams params;
    private final SplittableRandom random;

    public LogitsSampler(SamplingParams params) {
        this.params = params;
        this.random = params.seed() != null ? new SplittableRandom(params.seed()) : new SplittableRandom();
    }

    /**
     * @param logits  raw logits of the last position (modified in place)
     * @param history every id so far (prompt and generated), for the repetition penalty
     * @param count   how many ids of {@code history} are valid
     * @param generated how many tokens were generated before this one
     */
    public int next(float[] logits, int[] history, int count, int generated) {
        if (generated < params.minNewTokens()) {
            for (int eos : params.eosTokenIds()) {
                if (eos >= 0 && eos < logits.length) {
                    logits[eos] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        if (params.repetitionPenalty() != 1.0) {
            applyRepetitionPenalty(logits, history, count, (float) params.repetitionPenalty());
        }
        if (!params.doSample() || params.topK() == 1 || params.temperature() == 0) {
            return argmax(logits);
        }
        if (params.temperature() != 1.0) {
            float t = (float) params.temperature();
            for (int i = 0; i < logits.length; i++) {
                logits[i] = logits[i] / t;
            }
        }
        if (params.topK() > 0 && params.topK() < logits.length) {
            float[] sorted = logits.clone();
            Arrays.sort(sorted);
            float kth = sorted[sorted.length - params.topK()];
            for (int i = 0; i < logits.length; i++) {
                if (logits[i] < kth) {
                    logits[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        double[] probabilities = softmax(logits);
        if (params.topP() < 1.0) {
            applyTopP(probabilities, params.topP());
        }
        return draw(probabilities);
    }

    /** CTRL penalty: positive logits divided, negative multiplied, once per distinct id. */
    static void applyRepetitionPenalty(float[] logits, int[] history, int count, float penalty) {
        boolean[] seen = new boolean[logits.length];
        for (int i = 0; i < count; i++) {
            int id = history[i];
            if (id >= 0 && id < logits.length && !seen[id]) {
                seen[id] = true;
                float s = logits[id];
                logits[id] = s < 0 ? s * penalty : s / penalty;
            }
        }
    }

    /** First index of the maximum, as torch.argmax. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = logits[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Keeps the smallest set of most likely tokens whose mass reaches topP (at least one). */
    private static void applyTopP(double[] p, double topP) {
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        double cumulative = 0;
        int keep = 0;
        while (keep < order.length && (keep == 0 || cumulative < topP)) {
            cumulative += p[order[keep]];
            keep++;
        }
        double kept = 0;
        for (int i = 0; i < order.length; i++) {
            if (i >= keep) {
                p[order[i]] = 0;
            } else {
                kept += p[order[i]];
            }
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= kept;
        }
    }

    private int draw(double[] p) {
        double u = random.nextDouble();
        double cumulative = 0;
        int last = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                cumulative += p[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last;
    }
}
