package io.github.qwenvl;

/**
 * How to load a model.
 *
 * @param device           where to compute: AUTO (a GPU when DJL finds CUDA, else CPU), CPU or GPU
 * @param precision        FLOAT32 (default everywhere) or FLOAT16 (GPU only: matrix weights in f16, residual
 *                         stream and norms in f32, since plain f16 overflows in Qwen2 models)
 * @param threads          intra-op threads of the engine (null = engine default, the number of cores)
 * @param maxImagePixels   decode limit per image, checked from the header before decoding
 * @param maxImages        images per request
 * @param contextLength    prompt + completion limit (null = the checkpoint's max_position_embeddings)
 * @param decodeMode       how decode steps (one new token) run: AUTO (default) = in Java over the checkpoint's
 *                         memory-mapped BF16/F32 weights when possible (CPU, Qwen2-VL / Qwen2.5-VL, safetensors
 *                         stored BF16 or F32, and the Vector API enabled with {@code --add-modules
 *                         jdk.incubator.vector}), else on the engine; ENGINE = always on DJL's engine (f32);
 *                         JAVA = always in Java (scalar kernels without the Vector API; fails where unsupported);
 *                         JAVA_INT8 = opt-in, in Java over 8-bit copies of the language model's matrices (Q8: int8
 *                         with a float32 scale per 64 values, made at load; faster decode than BF16, not
 *                         token-identical to the reference: its logit error on the goldens is in docs/performance.md);
 *                         JAVA_INT4 = opt-in, in Java over 4-bit copies made at load (Q4: a float32 scale and offset
 *                         per group of 128 values along a row, about a quarter of BF16's bytes; a larger logit error
 *                         than int8, also in docs/performance.md)
 * @param weightCacheDir   opt-in: a folder for float32 copies of BF16/F16 checkpoints, written on the first load and
 *                         memory-mapped by later ones (fast starts, shared between processes; 4 bytes per parameter of
 *                         disk), see {@link io.github.qwenvl.checkpoint.Float32WeightCache}; null (default) = widen at
 *                         every load
 * @param weightMode       how the float32 weights the engine computes with are held on the CPU: AUTO (default) =
 *                         WIDEN_PER_LAYER where possible (CPU, float32, a BF16 checkpoint, decode in Java, no weight
 *                         cache), else FLOAT32_COPIES; FLOAT32_COPIES = every matrix widened to float32 once at load
 *                         (4 more bytes per parameter held, the fastest prefill); WIDEN_PER_LAYER = the layers' matrices
 *                         widened from the memory-mapped BF16 checkpoint into one reusable layer of float32 just before
 *                         each layer runs (exact; loads in about a second and holds about half the memory, for the cost
 *                         of widening at every pass; see docs/performance.md); BF16_MATMUL = opt-in, the layers'
 *                         matrices (decoder layers and vision blocks) are the memory-mapped BF16 checkpoint itself and
 *                         their products run in bfloat16 (same conditions as WIDEN_PER_LAYER; nothing widened or
 *                         copied; faster prefill and vision on CPUs with bfloat16 instructions; not bit-identical to
 *                         float32: the input and the result of each product are rounded to bfloat16, logit error on
 *                         the goldens in docs/performance.md)
 * @param collectGarbage   whole-heap garbage collections (default true, 30–60 ms each) when the load is done, when the
 *                         first request is, and when the model falls idle after a request that grew the heap by
 *                         64 MiB or more, so that G1 gives back the heap that the load's short-lived objects, the
 *                         first request (while the JIT compiles the Java kernels) and a long prompt's Java KV cache
 *                         made it commit, and the next request does not run over it (docs/performance.md); a no-op
 *                         under {@code -XX:+DisableExplicitGC}
 * @param serving          what one request may cost (image tokens, prompt tokens) and whether message text may
 *                         contain special tokens ({@link ServingLimits}); default {@link ServingLimits#NONE}: the
 *                         checkpoint's image bounds, the context length, template tokens in text read as plain text
 * @param tuning           block sizes and thresholds of the engine ({@link EngineTuning#DEFAULTS} when null)
 */
public record QwenVlOptions(
        DeviceKind device,
        Precision precision,
        Integer threads,
        long maxImagePixels,
        int maxImages,
        Integer contextLength,
        DecodeMode decodeMode,
        java.nio.file.Path weightCacheDir,
        WeightMode weightMode,
        boolean collectGarbage,
        ServingLimits serving,
        EngineTuning tuning) {

    /** Compute device choice. */
    public enum DeviceKind { AUTO, CPU, GPU }

    /** Where decode steps run, see {@link QwenVlOptions}. */
    public enum DecodeMode {
        AUTO, ENGINE, JAVA, JAVA_INT8, JAVA_INT4;

        /** JAVA, JAVA_INT8 and JAVA_INT4: decode steps must run in the Java decoder (an error where there is none). */
        public boolean requiresJavaDecoder() {
            return this == JAVA || this == JAVA_INT8 || this == JAVA_INT4;
        }

        /** The format of the copies the Java decoder reads in this mode (Q8, Q4), or null: the stored weights. */
        public io.github.qwenvl.nn.cpu.WeightMatrix.Format quantizedFormat() {
            return this == JAVA_INT8 ? io.github.qwenvl.nn.cpu.WeightMatrix.Format.Q8
                    : this == JAVA_INT4 ? io.github.qwenvl.nn.cpu.WeightMatrix.Format.Q4 : null;
        }
    }

    /** How float32 weights are held, see {@link QwenVlOptions}. */
    public enum WeightMode { AUTO, FLOAT32_COPIES, WIDEN_PER_LAYER, BF16_MATMUL }

    /** Weight / compute precision. */
    public enum Precision { FLOAT32, FLOAT16 }

    public static final long DEFAULT_MAX_IMAGE_PIXELS = 64L * 1024 * 1024;
    public static final int DEFAULT_MAX_IMAGES = 16;

    public QwenVlOptions {
        device = device == null ? DeviceKind.CPU : device;
        precision = precision == null ? Precision.FLOAT32 : precision;
        decodeMode = decodeMode == null ? DecodeMode.AUTO : decodeMode;
        weightMode = weightMode == null ? WeightMode.AUTO : weightMode;
        serving = serving == null ? ServingLimits.NONE : serving;
        tuning = tuning == null ? EngineTuning.DEFAULTS : tuning;
        if (maxImagePixels <= 0) {
            throw new IllegalArgumentException("maxImagePixels must be positive");
        }
        if (maxImages < 0) {
            throw new IllegalArgumentException("maxImages must be >= 0");
        }
        if (threads != null && threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1");
        }
    }

    /** Without serving limits ({@link ServingLimits#NONE}). */
    public QwenVlOptions(DeviceKind device, Precision precision, Integer threads, long maxImagePixels, int maxImages,
                         Integer contextLength, DecodeMode decodeMode, java.nio.file.Path weightCacheDir,
                         WeightMode weightMode, boolean collectGarbage) {
        this(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode, weightCacheDir,
                weightMode, collectGarbage, ServingLimits.NONE, EngineTuning.DEFAULTS);
    }

    /** With the default tuning. */
    public QwenVlOptions(DeviceKind device, Precision precision, Integer threads, long maxImagePixels, int maxImages,
                         Integer contextLength, DecodeMode decodeMode, java.nio.file.Path weightCacheDir,
                         WeightMode weightMode, boolean collectGarbage, ServingLimits serving) {
        this(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode, weightCacheDir,
                weightMode, collectGarbage, serving, EngineTuning.DEFAULTS);
    }

    /** With the AUTO weight mode and a collection after the load. */
    public QwenVlOptions(DeviceKind device, Precision precision, Integer threads, long maxImagePixels, int maxImages,
                         Integer contextLength, DecodeMode decodeMode, java.nio.file.Path weightCacheDir) {
        this(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode, weightCacheDir,
                WeightMode.AUTO, true);
    }

    /** Without a weight cache. */
    public QwenVlOptions(DeviceKind device, Precision precision, Integer threads, long maxImagePixels, int maxImages,
                         Integer contextLength, DecodeMode decodeMode) {
        this(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode, null);
    }

    /** Without a decode mode (AUTO). */
    public QwenVlOptions(DeviceKind device, Precision precision, Integer threads, long maxImagePixels, int maxImages,
                         Integer contextLength) {
        this(device, precision, threads, maxImagePixels, maxImages, contextLength, DecodeMode.AUTO);
    }

    public static QwenVlOptions defaults() {
        return new QwenVlOptions(DeviceKind.CPU, Precision.FLOAT32, null, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_IMAGES, null, DecodeMode.AUTO, null, WeightMode.AUTO, true, ServingLimits.NONE, EngineTuning.DEFAULTS);
    }

    /** With these serving limits (image and prompt cost, special tokens in text). */
    public QwenVlOptions withServing(ServingLimits limits) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode,
                weightCacheDir, weightMode, collectGarbage, limits, tuning);
    }

    public QwenVlOptions withDevice(DeviceKind d) {
        return new QwenVlOptions(d, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode, weightCacheDir, weightMode, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withPrecision(Precision p) {
        return new QwenVlOptions(device, p, threads, maxImagePixels, maxImages, contextLength, decodeMode, weightCacheDir, weightMode, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withThreads(Integer t) {
        return new QwenVlOptions(device, precision, t, maxImagePixels, maxImages, contextLength, decodeMode, weightCacheDir, weightMode, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withMaxImagePixels(long m) {
        return new QwenVlOptions(device, precision, threads, m, maxImages, contextLength, decodeMode, weightCacheDir, weightMode, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withMaxImages(int m) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, m, contextLength, decodeMode, weightCacheDir, weightMode, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withDecodeMode(DecodeMode m) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, contextLength, m, weightCacheDir, weightMode, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withContextLength(Integer c) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, c, decodeMode, weightCacheDir, weightMode, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withWeightCacheDir(java.nio.file.Path dir) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode, dir, weightMode, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withWeightMode(WeightMode m) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode,
                weightCacheDir, m, collectGarbage, serving, tuning);
    }

    public QwenVlOptions withCollectGarbage(boolean collect) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode,
                weightCacheDir, weightMode, collect, serving, tuning);
    }

    /** With these block sizes and thresholds ({@link EngineTuning}). */
    public QwenVlOptions withTuning(EngineTuning t) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode,
                weightCacheDir, weightMode, collectGarbage, serving, t);
    }
}
