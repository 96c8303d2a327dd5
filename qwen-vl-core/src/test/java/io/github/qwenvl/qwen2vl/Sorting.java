package io.github.qwenvl.qwen2vl;

import java.util.stream.IntStream;

/** Test-side top-k and logsumexp over a float row (ties broken by lower id, as torch.topk on CPU). */
final class Sorting {

    private Sorting() {
    }

    static int[] topK(float[] row, int k) {
        return IntStream.range(0, row.length).boxed()
                .sorted((a, b) -> row[a] != row[b] ? Float.compare(row[b], row[a]) : Integer.compare(a, b))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    static float logSumExp(float[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : row) {
            sum += Math.exp(v - max);
        }
        return (float) (max + Math.log(sum));
    }
}
