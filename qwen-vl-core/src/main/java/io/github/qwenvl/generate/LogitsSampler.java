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
        float[] scores = warp(logits, params);
        return draw(softmax(scores));
    }

    /**
     * The sampling warpers of transformers, in its order and float32 arithmetic: temperature ({@code scores / t}),
     * top-k (scores below the k-th largest become -inf), top-p (in ascending order of score, the tokens whose
     * cumulative softmax probability is at most {@code 1 - top_p} become -inf; the most likely token always stays).
     * The result is what {@code generate(output_scores=True)} reports as the processed scores.
     *
     * @param logits raw logits (after any repetition penalty); changed in place and returned
     */
    public static float[] warp(float[] logits, SamplingParams params) {
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
        if (params.topP() < 1.0) {
            applyTopP(logits, params.topP());
        }
        return logits;
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

    /**
     * TopPLogitsWarper: sorts the scores ascending, takes the float32 softmax's cumulative sum, and sets to -inf
     * every score whose cumulative probability is {@code <= 1 - topP} (the last, most likely one always stays).
     */
    private static void applyTopP(float[] scores, double topP) {
        int n = scores.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(scores[a], scores[b]));
        float max = scores[order[n - 1]];
        float[] e = new float[n];
        float sum = 0f;
        for (int r = 0; r < n; r++) {
            float v = scores[order[r]];
            e[r] = v == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(v - max);
            sum += e[r];
        }
        float threshold = (float) (1 - topP);
        float cumulative = 0f;
        for (int r = 0; r < n - 1; r++) {
            cumulative += e[r] / sum;
            if (cumulative <= threshold) {
                scores[order[r]] = Float.NEGATIVE_INFINITY;
            } else {
                break; // cumulative sums only grow
            }
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
