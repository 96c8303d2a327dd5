package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import io.github.qwenvl.checkpoint.TensorDType;
import io.github.qwenvl.checkpoint.TensorInfo;
import io.github.qwenvl.nn.cpu.DecodeThreads;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.MappedMatrices;
import io.github.qwenvl.nn.cpu.WeightMatrix;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The weight matrices of a stack of identically shaped layers (the decoder's layers, the vision tower's blocks), held
 * one of three ways:
 * <ul>
 * <li><b>float32 copies</b>: every layer's matrices as engine tensors, widened once at load ({@link WeightLoader});
 * <li><b>widened per layer</b>: one set of float32 engine tensors for the whole stack (a slot per matrix role, e.g.
 * {@code mlp.up_proj.weight}), filled from the memory-mapped BF16 checkpoint just before each layer runs
 * ({@link Pass#prepare}). BF16 widens exactly, so the results are the copies' bit for bit; the process holds the
 * checkpoint's 2 bytes per parameter (shared with the page cache and the Java decoder) plus one layer of float32
 * instead of 4 more bytes per parameter, and loading does not write them. The price is the widening at every pass,
 * small against the pass's matrix products (figures: docs/performance.md).
 * <li><b>bfloat16 in place</b>: every layer's matrices are the memory-mapped BF16 checkpoint itself, as engine tensors
 * that {@link Ops#linear} multiplies in bfloat16 ({@link Bf16Linear}): nothing is widened or copied, and the products
 * run at the CPU's bfloat16 rate, with the input and the result of each product rounded to bfloat16.
 * </ul>
 * Matrices stored other than BF16 are loaded as in the copies mode (a float32-stored one is mapped, not copied).
 *
 * <p>A pass over the stack ({@link #begin}) holds the slot set: concurrent passes take turns (the layers' matmuls
 * use every core anyway), and decode steps in Java, which read the mapped matrices directly, do not wait for them.
 */
public final class LayerMatrices {

    private final WeightLoader weights;
    private final String prefix;
    private final MappedMatrices mapped;   // null: float32 copies
    private final Kernels kernels;
    private final DecodeThreads threads;
    private final boolean bf16;
    private final Map<String, Slot> slots = new LinkedHashMap<>();
    private final List<List<Fill>> fills = new ArrayList<>(); // per layer, what prepare() widens
    private final ReentrantLock lock = new ReentrantLock();
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LayerMatrices.class);

    /** A float32 engine tensor shared by one matrix role of every layer, and a view of its memory. */
    private record Slot(NDArray tensor, ByteBuffer memory) {
    }

    private record Fill(WeightMatrix source, Slot slot) {
    }

    private LayerMatrices(WeightLoader weights, String prefix, MappedMatrices mapped, Kernels kernels,
                          DecodeThreads threads, boolean bf16) {
        this.weights = weights;
        this.prefix = prefix;
        this.mapped = mapped;
        this.kernels = kernels;
        this.threads = threads;
        this.bf16 = bf16;
    }

    /** Float32 copies of every layer's matrices, loaded by {@code weights}. */
    public static LayerMatrices copies(WeightLoader weights, String prefix) {
        return new LayerMatrices(weights, prefix, null, null, null, false);
    }

    /**
     * Every layer's BF16-stored matrices as the mapped BF16 bytes of {@code mapped}, multiplied in bfloat16
     * ({@link Bf16Linear}); matrices stored otherwise are loaded as in the copies mode.
     */
    public static LayerMatrices bfloat16(WeightLoader weights, String prefix, MappedMatrices mapped) {
        Bf16Linear.load();
        return new LayerMatrices(weights, prefix, mapped, null, null, true);
    }

    /**
     * Matrices widened per layer from {@code mapped} into slots of {@code weights}' manager (CPU, float32), on
     * {@code threads}.
     */
    public static LayerMatrices widenedPerLayer(WeightLoader weights, String prefix, MappedMatrices mapped,
                                                Kernels kernels, DecodeThreads threads) {
        return new LayerMatrices(weights, prefix, mapped, kernels, threads, false);
    }

    /** True when the matrices are widened per layer (false: float32 copies or bfloat16 in place). */
    public boolean widenedPerLayer() {
        return mapped != null && !bf16;
    }

    /** True when the BF16-stored matrices are multiplied in bfloat16 in place. */
    public boolean bfloat16() {
        return bf16;
    }

    /**
     * Weight {@code prefix + layer + "." + role} of shape {@code shape} (rows, cols): its float32 copy, or the slot it
     * is widened into when layer {@code layer} is {@link Pass#prepare prepared}, or its mapped BF16 bytes
     * ({@link #bfloat16}). Layers are declared in order.
     */
    public NDArray matrix(int layer, String role, long rows, long cols) {
        String name = prefix + layer + "." + role;
        if (mapped == null) {
            return weights.loadLinear(name, rows, cols);
        }
        if (bf16) {
            TensorInfo info = weights.checkedInfo(name, rows, cols);
            java.nio.ByteBuffer bits = info.dtype() == TensorDType.BF16
                    ? mapped.get(info.name(), (int) rows, (int) cols).wholeBytes() : null;
            if (bits == null) {
                return weights.loadLinear(name, rows, cols); // F32 is mapped as is; F16, or over 1 GiB: a copy
            }
            weights.countMapped(info);
            return Bf16Linear.weight(weights.manager(), bits, rows, cols, info.name());
        }
        while (fills.size() <= layer) {
            fills.add(new ArrayList<>());
        }
        TensorInfo info = weights.checkedInfo(name, rows, cols);
        if (info.dtype() != TensorDType.BF16 || rows * cols * 4 > Integer.MAX_VALUE) {
            return weights.loadLinear(name, rows, cols); // F32 is mapped as is; F16, or over 2 GiB: a copy
        }
        Slot slot = slots.computeIfAbsent(role, r -> {
            NDArray tensor = weights.manager().create(new Shape(rows, cols), DataType.FLOAT32); // torch::empty
            tensor.setName(prefix + "*." + role);
            return new Slot(tensor, ((PtNDArray) tensor).toByteBuffer(true));
        });
        if (!slot.tensor().getShape().equals(new Shape(rows, cols))) {
            throw new IllegalStateException("'" + name + "' is " + rows + "x" + cols + ", layer 0's "
                    + slot.tensor().getShape() + ": the layers of a stack must be alike");
        }
        fills.get(layer).add(new Fill(mapped.get(info.name(), (int) rows, (int) cols), slot));
        weights.countMapped(info);
        return slot.tensor();
    }

    /** Bytes of the float32 slots (0 for copies). */
    public long slotBytes() {
        return slots.values().stream().mapToLong(s -> s.tensor().size() * 4).sum();
    }

    /** Starts a pass over the layers: waits for any other pass of this stack. Close it when the pass ends. */
    public Pass begin() {
        lock.lock();
        return new Pass();
    }

    /** One pass over the stack, holding its slots. */
    public final class Pass implements AutoCloseable {
        private boolean closed;
        private long widenNanos;
        private long widenedBytes;
        private int prepared;

        private Pass() {
        }

        /** Makes layer {@code layer}'s matrices hold its weights (widens them into the slots; nothing for copies). */
        public void prepare(int layer) {
            if (closed) {
                throw new IllegalStateException("pass closed");
            }
            if (mapped == null || bf16 || layer >= fills.size()) {
                return;
            }
            long t0 = System.nanoTime();
            for (Fill fill : fills.get(layer)) {
                WeightMatrix source = fill.source();
                widenedBytes += (long) source.rows() * source.cols() * 4;
                // blocks of ~256 K values: few hand-offs per matrix, and both cores busy to its last rows
                int grain = Math.max(1, (256 << 10) / source.cols());
                threads.run(source.rows(), grain, (worker, from, to) ->
                        source.widenRows(kernels, from, to, fill.slot().memory()));
            }
            widenNanos += System.nanoTime() - t0;
            prepared++;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                lock.unlock();
                if (prepared > 0 && LOG.isDebugEnabled()) {
                    LOG.debug("{}*: {} layers widened, {} MB of float32 in {} ms", prefix, prepared,
                            widenedBytes / 1_000_000, widenNanos / 1_000_000);
                }
            }
        }
    }
}
