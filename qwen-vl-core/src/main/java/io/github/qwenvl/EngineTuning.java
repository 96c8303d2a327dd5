package io.github.qwenvl;

/**
 * Block sizes and thresholds of the engine, fixed when a model is loaded ({@link QwenVlOptions#tuning()}). The defaults
 * suit every model and device; tests set small values to run the blocked code paths on tiny inputs. Immutable: each
 * loaded model keeps the tuning it was loaded with.
 *
 * @param mlpBlockElements             intermediate elements a position-wise layer (MLP, output projection) computes at
 *                                     once, as row blocks (CPU; {@code nn.QueryRowBlocks#GPU_BLOCK_FACTOR} times more on
 *                                     a GPU); at least 16 rows per block
 * @param attentionBlockElements       attention scores the decoders' prefill computes at once, as blocks of query rows
 * @param visionAttentionBlockElements attention scores the Qwen2-VL vision tower computes at once
 * @param loadSliceElements            elements of a checkpoint tensor widened and written per slice while loading
 * @param kvPageElements               elements of a Java KV cache page (per layer and key/value head)
 * @param heapGrowthToCollect          heap growth (bytes) after which a model that falls idle asks for a collection
 *                                     ({@link QwenVlOptions#collectGarbage()})
 * @param mapLimitBytes                largest memory mapping of a checkpoint file; larger tensors are read in chunks
 * @param batchGraceNanos              least time a shared decode step waits for a running sequence that is not back yet
 *                                     with its next token ({@link io.github.qwenvl.generate.DecodeBatcher}); the wait
 *                                     is a quarter of the last step's time instead where that is longer, at most
 *                                     50 ms. Tests set it long, so that every step takes every running sequence
 */
public record EngineTuning(long mlpBlockElements, long attentionBlockElements, long visionAttentionBlockElements,
                           long loadSliceElements, int kvPageElements, long heapGrowthToCollect, long mapLimitBytes,
                           long batchGraceNanos) {

    /**
     * The defaults: 16 MB blocks of scores and intermediates, 64 MB load slices, 256 KB KV pages, 64 MiB, 1 GiB, a
     * 0.5 ms least grace.
     */
    public static final EngineTuning DEFAULTS = new EngineTuning(4L << 20, 4L << 20, 4L << 20, 16L << 20, 64 << 10,
            64L << 20, 1L << 30, 500_000L);

    /** Without a batch grace: the default one. */
    public EngineTuning(long mlpBlockElements, long attentionBlockElements, long visionAttentionBlockElements,
                        long loadSliceElements, int kvPageElements, long heapGrowthToCollect, long mapLimitBytes) {
        this(mlpBlockElements, attentionBlockElements, visionAttentionBlockElements, loadSliceElements, kvPageElements,
                heapGrowthToCollect, mapLimitBytes, 500_000L);
    }

    public EngineTuning {
        if (mlpBlockElements < 1 || attentionBlockElements < 1 || visionAttentionBlockElements < 1 || loadSliceElements < 1
                || kvPageElements < 1 || mapLimitBytes < 1 || batchGraceNanos < 0) {
            throw new IllegalArgumentException("block sizes must be positive: " + this);
        }
    }

    /**
     * The smallest blocks: MLPs and attention in blocks of 16 rows (the fewest a block takes), KV pages of one token:
     * the code paths long prompts and large images take, on tiny inputs.
     */
    public static EngineTuning smallBlocks() {
        return DEFAULTS.withMlpBlockElements(1).withAttentionBlockElements(1).withVisionAttentionBlockElements(1)
                .withKvPageElements(1);
    }

    public EngineTuning withMlpBlockElements(long v) {
        return new EngineTuning(v, attentionBlockElements, visionAttentionBlockElements, loadSliceElements, kvPageElements,
                heapGrowthToCollect, mapLimitBytes, batchGraceNanos);
    }

    public EngineTuning withAttentionBlockElements(long v) {
        return new EngineTuning(mlpBlockElements, v, visionAttentionBlockElements, loadSliceElements, kvPageElements,
                heapGrowthToCollect, mapLimitBytes, batchGraceNanos);
    }

    public EngineTuning withVisionAttentionBlockElements(long v) {
        return new EngineTuning(mlpBlockElements, attentionBlockElements, v, loadSliceElements, kvPageElements,
                heapGrowthToCollect, mapLimitBytes, batchGraceNanos);
    }

    public EngineTuning withLoadSliceElements(long v) {
        return new EngineTuning(mlpBlockElements, attentionBlockElements, visionAttentionBlockElements, v, kvPageElements,
                heapGrowthToCollect, mapLimitBytes, batchGraceNanos);
    }

    public EngineTuning withKvPageElements(int v) {
        return new EngineTuning(mlpBlockElements, attentionBlockElements, visionAttentionBlockElements, loadSliceElements, v,
                heapGrowthToCollect, mapLimitBytes, batchGraceNanos);
    }

    public EngineTuning withHeapGrowthToCollect(long v) {
        return new EngineTuning(mlpBlockElements, attentionBlockElements, visionAttentionBlockElements, loadSliceElements,
                kvPageElements, v, mapLimitBytes, batchGraceNanos);
    }

    public EngineTuning withMapLimitBytes(long v) {
        return new EngineTuning(mlpBlockElements, attentionBlockElements, visionAttentionBlockElements, loadSliceElements,
                kvPageElements, heapGrowthToCollect, v, batchGraceNanos);
    }

    public EngineTuning withBatchGraceNanos(long v) {
        return new EngineTuning(mlpBlockElements, attentionBlockElements, visionAttentionBlockElements, loadSliceElements,
                kvPageElements, heapGrowthToCollect, mapLimitBytes, v);
    }
}
