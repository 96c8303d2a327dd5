package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.ndarray.NDList;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import io.github.qwenvl.QwenVlException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Matrix products with bfloat16 weights, computed by libtorch's bfloat16 GEMM (oneDNN's AVX512-BF16 kernels on CPUs
 * that have them) while no bfloat16 tensor ever reaches DJL's Java side (DJL 0.36 aborts the JVM on one).
 *
 * <p>A weight is the checkpoint's BF16 bytes (memory-mapped, no copy) as an engine tensor typed float16
 * ({@link #weight}): same element size, and DJL maps float16. {@link Ops#linear} recognises such a weight by its name
 * and calls the TorchScript module {@code bf16_linear.pt} (made by {@code tools/bf16-linear/make_bf16_linear.py}),
 * which points a bfloat16 tensor at the weight's storage, rounds the float32 input to bfloat16, multiplies (float32
 * accumulation), widens the bfloat16 result to float32 and adds the float32 bias. Compared with float32 math on the
 * same weights, the input and the output are each rounded to bfloat16 (8 significant bits); everything around the
 * products (norms, rotary, attention, residuals) stays float32.
 */
public final class Bf16Linear {

    /** The name of weight tensors holding bfloat16 bits (without '.', which DJL's forward would read as structure). */
    static final String MARK = "bf16-bits";
    private static final String RESOURCE = "bf16_linear.pt";
    private static volatile Loaded loaded;

    /** The module, the manager it was loaded on (never closed: it lives as long as the engine) and an empty bias. */
    private record Loaded(PtSymbolBlock module, NDArray noBias) {
    }

    private Bf16Linear() {
    }

    /**
     * The weight (rows × cols) whose BF16 bits (little-endian, rows × cols × 2 bytes) are {@code bits}, as an engine
     * tensor on {@code manager} that {@link Ops#linear} multiplies in bfloat16. No copy on the CPU: the tensor reads
     * {@code bits}, which must stay valid (mapped) as long as it is used; never write into it.
     */
    public static NDArray weight(NDManager manager, ByteBuffer bits, long rows, long cols, String name) {
        if (bits.remaining() != rows * cols * 2) {
            throw new IllegalArgumentException("'" + name + "': " + bits.remaining() + " bytes for " + rows + "x" + cols
                    + " BF16 values");
        }
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new QwenVlException("bfloat16 matrix products need a little-endian machine");
        }
        NDArray tensor = manager.create(bits.slice().order(ByteOrder.LITTLE_ENDIAN), new Shape(rows, cols),
                DataType.FLOAT16);
        tensor.setName(MARK);
        return tensor;
    }

    /** True for a weight made by {@link #weight}. */
    public static boolean isBf16(NDArray weight) {
        String name = weight.getName();
        return MARK.equals(name) && weight.getDataType() == DataType.FLOAT16;
    }

    /**
     * {@code x @ weight.T + bias} with {@code weight} made by {@link #weight}: x (float32, …, cols), bias float32 (rows)
     * or null; the result is float32 (…, rows) on x's manager.
     */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        if (x.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("bfloat16 products take a float32 input, not " + x.getDataType());
        }
        Loaded module = module();
        // DJL's forward reads structure from input names (a '.' groups tensors into a dict): pass unnamed views
        NDArray in = unnamed(x);
        NDArray added = bias == null ? module.noBias() : unnamed(bias);
        try {
            // isTrain = true runs the module outside libtorch's inference mode, so that the result is an ordinary
            // tensor the layers may update in place (no input requires grad: nothing is recorded for autograd)
            NDList out = IValueUtils.forward(module.module(), new NDList(in, weight, added), true);
            return out.singletonOrThrow();
        } finally {
            if (in != x) {
                in.close();
            }
            if (bias != null && added != bias) {
                added.close();
            }
        }
    }

    private static NDArray unnamed(NDArray array) {
        return array.getName() == null ? array : array.reshape(array.getShape());
    }

    /** Loads the module (once per process); throws when libtorch cannot. */
    public static void load() {
        module();
    }

    private static Loaded module() {
        Loaded m = loaded;
        if (m == null) {
            synchronized (Bf16Linear.class) {
                m = loaded;
                if (m == null) {
                    m = loaded = read();
                }
            }
        }
        return m;
    }

    /** The first "flags" line of /proc/cpuinfo with a leading and trailing space, or null where there is none. */
    static String cpuFlags() {
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> " " + l.substring(l.indexOf(':') + 1).trim() + " ").orElse(null);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static Loaded read() {
        NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch");
        try (InputStream in = Bf16Linear.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new QwenVlException("missing resource " + RESOURCE + " next to " + Bf16Linear.class.getName());
            }
            PtSymbolBlock module = JniUtils.loadModule((PtNDManager) manager, in, true, false);
            NDArray noBias = manager.create(new Shape(0), DataType.FLOAT32);
            String flags = cpuFlags();
            if (flags != null && !flags.contains(" avx512_bf16") && !flags.contains(" amx_bf16")) {
                org.slf4j.LoggerFactory.getLogger(Bf16Linear.class).warn("bfloat16 matrix products: this CPU has"
                        + " neither AVX512-BF16 nor AMX-BF16 (/proc/cpuinfo), so libtorch emulates them; float32"
                        + " (weight mode auto) may well be faster here");
            }
            return new Loaded(module, noBias);
        } catch (IOException e) {
            manager.close();
            throw new UncheckedIOException("Cannot read " + RESOURCE, e);
        } catch (RuntimeException e) {
            manager.close();
            throw new QwenVlException("libtorch cannot load the bfloat16 matrix product module " + RESOURCE + ": "
                    + e.getMessage(), e);
        }
    }
}
