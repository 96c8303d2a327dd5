package io.github.qwenvl.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import io.github.qwenvl.QwenVlException;
import io.github.qwenvl.QwenVlOptions;

/**
 * Starts DJL's PyTorch engine the way this library needs it: offline (never download a native
 * library, never phone home), with the requested thread count, on the requested device.
 */
public final class DjlRuntime {

    private DjlRuntime() {
    }

    /** Must run before the engine's first use; later calls cannot change the thread count. */
    public static synchronized Engine start(Integer threads) {
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        if (threads != null) {
            setIfAbsent("ai.djl.pytorch.num_threads", threads.toString());
            setIfAbsent("ai.djl.pytorch.num_interop_threads", "1");
        }
        try {
            return Engine.getEngine("PyTorch");
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            throw new QwenVlException("Cannot start DJL's PyTorch engine (is ai.djl.pytorch:pytorch-native-cpu on the"
                    + " class path for this platform?): " + e.getMessage(), e);
        }
    }

    /**
     * Unpacks the native libraries (libtorch, the Hugging Face tokenizers' library) into DJL's cache directory
     * ({@code DJL_CACHE_DIR}, default {@code ~/.djl.ai}) and prints where they are: run it while building a container
     * image, so that containers start without unpacking (and without a writable home directory).
     */
    public static void main(String[] args) {
        Engine engine = start(null);
        ai.djl.huggingface.tokenizers.jni.LibUtils.checkStatus();
        java.nio.file.Path cache = ai.djl.util.Utils.getCacheDir();
        java.nio.file.Path engineCache = ai.djl.util.Utils.getEngineCacheDir();
        System.out.println("DJL " + engine.getEngineName() + " " + engine.getVersion() + " ready; native libraries in "
                + (engineCache.equals(cache) ? cache : engineCache + " and " + cache));
    }

    /** Resolves AUTO / CPU / GPU to a DJL device, with a clear error when no GPU is there. */
    public static Device device(Engine engine, QwenVlOptions.DeviceKind kind) {
        return switch (kind) {
            case CPU -> Device.cpu(); // no GPU probe: it logs CUDA driver warnings on machines with a broken CUDA
            case AUTO -> engine.getGpuCount() > 0 ? Device.gpu() : Device.cpu();
            case GPU -> {
                if (engine.getGpuCount() == 0) {
                    throw new QwenVlException("device=gpu was requested but DJL's PyTorch engine sees no CUDA GPU;"
                            + " put a CUDA build of libtorch (ai.djl.pytorch:pytorch-native-cu*) on the class path or use cpu");
                }
                yield Device.gpu();
            }
        };
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null && System.getenv(key) == null) {
            System.setProperty(key, value);
        }
    }
}
