package io.github.qwenvl.nn;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.engine.Checkpoints;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Self-attention of a ViT block over the patches of one or more images (or windows), with 2-D rotary embeddings on
 * q and k and a fused biased qkv projection: {@code proj(attention(rotary(q), rotary(k), v))}, added into the
 * block's residual. Attention never crosses a segment boundary ({@code cu_seqlens}: one segment per image, or per
 * window). Memory as in the Qwen2-VL tower: the scores of a block of query rows at a time, q/k/v of a group of heads
 * at a time for large images, the output projection added into the residual's rows.
 */
public final class VisionAttention {

    private VisionAttention() {
    }

    /**
     * cos/sin of {@code cat(angles, angles)} for q and k together: (P, 2, 1, headDim) each, broadcasting over heads;
     * index 0 (q) is multiplied by the attention scale {@code qScale}, index 1 (k) is not. The scores then need no
     * separate scaling pass (the reference scales the scores; the difference is float32 rounding).
     *
     * @param angles (P · headDim/2) row-major rotary angles
     */
    public static NDArray[] cosSin(NDManager scope, float[] angles, int patches, float qScale) {
        int half = angles.length / patches;
        float[] doubled = new float[patches * half * 2];
        for (int r = 0; r < patches; r++) {
            System.arraycopy(angles, r * half, doubled, r * half * 2, half);
            System.arraycopy(angles, r * half, doubled, r * half * 2 + half, half);
        }
        NDArray emb = Tensors.floats(scope, doubled, new Shape(patches, 1, 1, half * 2L));
        NDArray cos = emb.cos(); // torch's float32 cos/sin, as the reference computes them
        NDArray sin = emb.sin();
        return new NDArray[] {cos.mul(qScale).concat(cos, 1), sin.mul(qScale).concat(sin, 1)};
    }

    /**
     * Adds {@code proj(attention(normed))} into {@code residual} (P, D), self-attention restricted to each
     * [segments[k], segments[k+1]) range of rows.
     *
     * @param normed the block's normed input (P, D); closed once q, k and v are computed from it
     * @param cos    (P, 2, 1, headDim) from {@link #cosSin}, and {@code sin} the same
     * @param mlpBlockElements       row-block budget of the rotation and the projection, and of the head groups
     *                               ({@link io.github.qwenvl.EngineTuning#mlpBlockElements})
     * @param attentionBlockElements scores computed at once ({@link io.github.qwenvl.EngineTuning#visionAttentionBlockElements}:
     *                               16 MB by default, below glibc's 32 MB mmap ceiling, so the blocks reuse freed heap
     *                               memory instead of faulting in fresh pages each time)
     */
    public static void addInto(NDArray residual, NDArray normed, NDArray qkvWeight, NDArray qkvBias,
                               NDArray projWeight, NDArray projBias, int heads, int headDim, NDArray cos,
                               NDArray sin, int[] segments, long mlpBlockElements, long attentionBlockElements) {
        long p = normed.getShape().get(0);
        int group = headsPerGroup(mlpBlockElements, p, heads, headDim, normed.getDevice());
        if (group == heads) {
            NDArray qkv = Ops.linear(normed, qkvWeight, qkvBias).reshape(p, 3, heads, headDim);
            normed.close();
            try (NDArray queriesAndKeys = qkv.get(":, 0:2")) { // (P, 2, H, hd), a view
                RowBlocks.rotateInPlace(mlpBlockElements, queriesAndKeys, cos, sin);
            }
            attendHeads(attentionBlockElements, qkv.get(":, 0"), qkv.get(":, 1"), qkv.get(":, 2"), segments, (rows, out) -> {
                NDArray target = residual.get("{}:{}", rows[0], rows[1]); // a view: written through
                target.attach(out.getManager());
                target.addi(Ops.linear(out, projWeight, projBias));
            });
            return;
        }
        long d = (long) heads * headDim;
        NDManager scope = normed.getManager();
        NDArray attended = scope.zeros(new Shape(p, d)); // (P, D): the heads' outputs, group by group
        try (NDArray cosQ = cos.get(":, 0"); NDArray sinQ = sin.get(":, 0"); // (P, 1, hd)
             NDArray cosK = cos.get(":, 1"); NDArray sinK = sin.get(":, 1")) {
            for (int first = 0; first < heads; first += group) {
                long c0 = (long) first * headDim;
                long c1 = c0 + (long) group * headDim;
                Checkpoints.reached(CancellationToken.Checkpoint.VISION_ATTENTION, first);
                try (NDManager groupScope = scope.newSubManager()) {
                    groupScope.tempAttachAll(normed);
                    NDArray q = groupProjection(normed, qkvWeight, qkvBias, c0, c1, group, headDim);
                    NDArray k = groupProjection(normed, qkvWeight, qkvBias, d + c0, d + c1, group, headDim);
                    NDArray v = groupProjection(normed, qkvWeight, qkvBias, 2 * d + c0, 2 * d + c1, group, headDim);
                    RowBlocks.rotateInPlace(mlpBlockElements, q, cosQ, sinQ);
                    RowBlocks.rotateInPlace(mlpBlockElements, k, cosK, sinK);
                    attendHeads(attentionBlockElements, q, k, v, segments, (rows, out) -> {
                        NDArray target = attended.get("{}:{}, {}:{}", rows[0], rows[1], c0, c1); // written through
                        target.attach(out.getManager());
                        target.addi(out);
                    });
                }
            }
        }
        normed.close();
        RowBlocks.addLayer(mlpBlockElements, residual, attended, d, outputs -> Ops.linear(outputs, projWeight, projBias));
        attended.close();
    }

    /**
     * Heads per group for {@code p} patches: all of them while the whole (P, 3, H, hd) qkv stays within twice
     * {@code mlpBlockElements} (32 MB by default; 16 times more on a GPU), else the largest divisor of H that fits.
     */
    public static int headsPerGroup(long mlpBlockElements, long p, int heads, int headDim, ai.djl.Device device) {
        long budget = 2 * QueryRowBlocks.onDevice(mlpBlockElements, device);
        long perHead = 3 * p * headDim;
        for (int group = heads; group > 1; group--) {
            if (heads % group == 0 && group * perHead <= budget) {
                return group;
            }
        }
        return 1;
    }

    /** Rows [r0, r1) of the fused qkv projection: (P, group, hd), a product with a view of the weight's rows. */
    private static NDArray groupProjection(NDArray normed, NDArray qkvWeight, NDArray qkvBias, long r0, long r1,
                                           int group, int headDim) {
        try (NDArray weight = Ops.rows(qkvWeight, r0, r1); NDArray bias = qkvBias.get("{}:{}", r0, r1)) {
            return Ops.linear(normed, weight, bias).reshape(normed.getShape().get(0), group, headDim);
        }
    }

    /** Receives one query block's attention output (rows, heads · hd) for rows [rows[0], rows[1]). */
    @FunctionalInterface
    private interface BlockOutput {
        void accept(long[] rows, NDArray out);
    }

    /**
     * Attention of (P, heads, hd) q / k / v within each segment, in blocks of query rows: each block's
     * (heads, rows, L) scores are freed before the next. Softmax is row-wise, so the result is that of one pass.
     */
    private static void attendHeads(long scoreBlockElements, NDArray q, NDArray k, NDArray v, int[] segments,
                                    BlockOutput output) {
        long heads = q.getShape().get(1);
        long headDim = q.getShape().get(2);
        for (int s = 0; s + 1 < segments.length; s++) {
            int from = segments[s];
            int to = segments[s + 1];
            if (to <= from) {
                continue;
            }
            long budget = QueryRowBlocks.onDevice(scoreBlockElements, q.getDevice());
            int rowsPerBlock = (int) Math.max(64, budget / (heads * (to - from)));
            for (int blockStart = from; blockStart < to; blockStart += rowsPerBlock) {
                int rowFrom = blockStart;
                int rowTo = Math.min(to, rowFrom + rowsPerBlock);
                Checkpoints.reached(CancellationToken.Checkpoint.VISION_ATTENTION, blockStart);
                try (NDManager blockScope = q.getManager().newSubManager()) {
                    NDArray qs = q.get("{}:{}", rowFrom, rowTo);
                    NDArray ks = k.get("{}:{}", from, to).transpose(1, 2, 0); // (heads, hd, L)
                    NDArray vs = v.get("{}:{}", from, to).transpose(1, 0, 2); // (heads, L, hd)
                    for (NDArray a : new NDArray[] {qs, ks, vs}) {
                        a.attach(blockScope);
                    }
                    NDArray scores = qs.transpose(1, 0, 2).matMul(ks); // (heads, rows, L)
                    NDArray weights = scores.softmax(-1);
                    scores.close(); // before the next product: one (heads, rows, L) tensor at a time
                    NDArray out = weights.matMul(vs).transpose(1, 0, 2).reshape(rowTo - rowFrom, heads * headDim);
                    output.accept(new long[] {rowFrom, rowTo}, out);
                }
            }
        }
    }
}
