package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.EngineTuning;
import io.github.qwenvl.QwenVlException;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.nn.LayerMatrices;
import io.github.qwenvl.nn.WeightLoader;
import io.github.qwenvl.nn.cpu.DecodeThreads;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.MappedMatrices;
import org.slf4j.Logger;

/**
 * Where the weights of a network with a Qwen2-style decoder live, decided once at load for every architecture that
 * uses that decoder: whether a Java decoder reads the mapped BF16 (or int8) weights, and whether the engine's layer
 * matrices are float32 copies, widened per layer from the mapped checkpoint, or the mapped BF16 checkpoint itself
 * multiplied in bfloat16 (both of the latter need the Java decoder, since it also reads the embedding and the LM head,
 * and no float32 weight cache).
 */
public final class WeightPlacement implements AutoCloseable {

    private final QwenVlOptions.WeightMode requested;
    private final QwenVlOptions.WeightMode weightMode;
    private final String perLayerReason; // null when widening per layer is possible
    private final Qwen2JavaDecoder javaDecoder; // null: decode on the engine
    private final DecodeThreads widenThreads; // null with float32 copies
    private final MappedMatrices mapped;
    private final Kernels kernels;
    private final float[] inverseFrequencies;

    /**
     * @param decodeMode never null
     * @param weightMode the requested mode, null for AUTO
     * @param threads    Java decode and widening threads
     */
    public WeightPlacement(Qwen2TextConfig text, WeightLoader weights, SafetensorsCheckpoint checkpoint,
                           boolean float32Cache, NDManager manager, DataType dataType,
                           QwenVlOptions.DecodeMode decodeMode, QwenVlOptions.WeightMode weightMode, int threads,
                           EngineTuning tuning) {
        this.requested = weightMode == null ? QwenVlOptions.WeightMode.AUTO : weightMode;
        String decoderReason = Qwen2VlNetwork.javaDecoderReason(text, weights, manager, dataType, decodeMode);
        this.perLayerReason = decoderReason != null
                ? "embedding lookups and the LM head are read by the Java decoder, which is off: " + decoderReason
                : float32Cache ? "a float32 weight cache is configured" : null;
        boolean bf16 = requested == QwenVlOptions.WeightMode.BF16_MATMUL;
        if ((requested == QwenVlOptions.WeightMode.WIDEN_PER_LAYER || bf16) && perLayerReason != null) {
            throw new QwenVlException("weightMode " + requested + " is not possible: " + perLayerReason);
        }
        boolean perLayer = !bf16 && requested != QwenVlOptions.WeightMode.FLOAT32_COPIES && perLayerReason == null;
        this.weightMode = bf16 ? QwenVlOptions.WeightMode.BF16_MATMUL
                : perLayer ? QwenVlOptions.WeightMode.WIDEN_PER_LAYER : QwenVlOptions.WeightMode.FLOAT32_COPIES;
        this.kernels = Kernels.get();
        this.mapped = new MappedMatrices(checkpoint); // one mapping per tensor, shared by all readers
        this.inverseFrequencies = RotaryTables.inverseFrequencies(manager, text.headDim(), text.ropeTheta());
        this.javaDecoder = decoderReason == null ? Qwen2JavaDecoder.create(text, weights, inverseFrequencies,
                kernels, threads, decodeMode == null ? null : decodeMode.quantizedFormat(), mapped,
                tuning.kvPageElements()) : null;
        this.widenThreads = perLayer ? new DecodeThreads(threads) : null;
    }

    /** FLOAT32_COPIES, WIDEN_PER_LAYER or BF16_MATMUL (never AUTO). */
    public QwenVlOptions.WeightMode weightMode() {
        return weightMode;
    }

    /** The Java decoder, or null when decode runs on the engine only. */
    public Qwen2JavaDecoder javaDecoder() {
        return javaDecoder;
    }

    /**
     * The Java decoder the engine's layers hand their prefill cache to: only when the layers' matrices are read from the
     * mapped checkpoint (widened per layer, or multiplied in bfloat16).
     */
    public Qwen2JavaDecoder handOverDecoder() {
        return widenThreads != null || weightMode == QwenVlOptions.WeightMode.BF16_MATMUL ? javaDecoder : null;
    }

    public float[] inverseFrequencies() {
        return inverseFrequencies;
    }

    /** The layer matrices under {@code prefix}, as this placement holds them. */
    public LayerMatrices matrices(WeightLoader weights, String prefix) {
        if (weightMode == QwenVlOptions.WeightMode.BF16_MATMUL) {
            return LayerMatrices.bfloat16(weights, prefix, mapped);
        }
        return widenThreads != null
                ? LayerMatrices.widenedPerLayer(weights, prefix, mapped, kernels, widenThreads)
                : LayerMatrices.copies(weights, prefix);
    }

    /**
     * Bytes of weights held: the loader's, plus int8 / 4-bit copies held besides the engine's tensors (the mapped BF16 are the
     * checkpoint's; with matrices widened per layer they count, at their stored size, in the loader's bytes).
     */
    public long weightBytes(WeightLoader weights) {
        return weights.loadedBytes() + (javaDecoder != null
                && (javaDecoder.weightFormat() == io.github.qwenvl.nn.cpu.WeightMatrix.Format.Q8
                || javaDecoder.weightFormat() == io.github.qwenvl.nn.cpu.WeightMatrix.Format.Q4)
                ? javaDecoder.bytesPerToken() : 0);
    }

    /** Logs how the weights are held; {@code slotBytes}: the float32 layer buffers of the widened matrices. */
    public void log(Logger log, long slotBytes) {
        if (weightMode == QwenVlOptions.WeightMode.BF16_MATMUL) {
            log.info("Weights: layer matrices read in place from the mapped BF16 checkpoint, multiplied in bfloat16");
        } else if (widenThreads != null) {
            log.info("Weights: layer matrices widened per layer from the mapped checkpoint ({} MB of float32 layer"
                    + " buffers)", slotBytes / 1_000_000);
        } else {
            log.info("Weights: float32 copies ({})", perLayerReason != null ? perLayerReason : "weightMode " + requested);
        }
    }

    /** Stops the Java decoder's and the widening's threads (float32 copies stay usable by the engine). */
    @Override
    public void close() {
        if (javaDecoder != null) {
            javaDecoder.close();
        }
        if (widenThreads != null) {
            widenThreads.close();
        }
    }
}
