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
 */
public record QwenVlOptions(
        DeviceKind device,
        Precision precision,
        Integer threads,
        long maxImagePixels,
        int maxImages,
        Integer contextLength) {

    /** Compute device choice. */
    public enum DeviceKind { AUTO, CPU, GPU }

    /** Weight / compute precision. */
    public enum Precision { FLOAT32, FLOAT16 }

    public static final long DEFAULT_MAX_IMAGE_PIXELS = 64L * 1024 * 1024;
    public static final int DEFAULT_MAX_IMAGES = 16;

    public QwenVlOptions {
        device = device == null ? DeviceKind.CPU : device;
        precision = precision == null ? Precision.FLOAT32 : precision;
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

    public static QwenVlOptions defaults() {
        return new QwenVlOptions(DeviceKind.CPU, Precision.FLOAT32, null, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_IMAGES, null);
    }

    public QwenVlOptions withDevice(DeviceKind d) {
        return new QwenVlOptions(d, precision, threads, maxImagePixels, maxImages, contextLength);
    }

    public QwenVlOptions withPrecision(Precision p) {
        return new QwenVlOptions(device, p, threads, maxImagePixels, maxImages, contextLength);
    }

    public QwenVlOptions withThreads(Integer t) {
        return new QwenVlOptions(device, precision, t, maxImagePixels, maxImages, contextLength);
    }

    public QwenVlOptions withMaxImagePixels(long m) {
        return new QwenVlOptions(device, precision, threads, m, maxImages, contextLength);
    }

    public QwenVlOptions withMaxImages(int m) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, m, contextLength);
    }

    public QwenVlOptions withContextLength(Integer c) {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, c);
    }
}
