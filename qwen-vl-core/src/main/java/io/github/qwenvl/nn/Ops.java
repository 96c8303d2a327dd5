package io.github.qwenvl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * The few tensor functions the Qwen models need, written to follow the reference PyTorch code
 * operation by operation (so float32 results agree to rounding). Every result is attached to the
 * manager of the first operand, so callers keep inputs in a per-request scope manager.
 */
public final class Ops {

    private Ops() {
    }

    /**
     * {@code x @ weight.T + bias}, exactly torch.nn.functional.linear. weight: (out, in), bias: (out) or null.
     * With float16 weights the float32 input is cast down for the product and the result back up; a weight holding
     * bfloat16 bits ({@link Bf16Linear#weight}) is multiplied in bfloat16.
     */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        if (weight.getDataType() != x.getDataType()) {
            if (Bf16Linear.isBf16(weight)) {
                return Bf16Linear.linear(x, weight, bias);
            }
            NDArray low = x.toType(weight.getDataType(), false);
            return low.getNDArrayInternal().linear(low, weight, bias).singletonOrThrow().toType(x.getDataType(), false);
        }
        return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
    }

    /**
     * Rows [r0, r1) of a (out, in) weight, a view, multiplied by {@link #linear} as the weight is (a bfloat16 weight's
     * view stays bfloat16).
     */
    public static NDArray rows(NDArray weight, long r0, long r1) {
        NDArray view = weight.get("{}:{}", r0, r1);
        if (Bf16Linear.isBf16(weight)) {
            view.setName(weight.getName());
        }
        return view;
    }

    /**
     * {@code x @ weight} for a weight stored as (in, out) (Qwen-VL's {@code visual.proj}); with a float16 weight the
     * float32 input is cast down for the product and the result back up, as in {@link #linear}.
     */
    public static NDArray matMul(NDArray x, NDArray weight) {
        if (weight.getDataType() != x.getDataType()) {
            return x.toType(weight.getDataType(), false).matMul(weight).toType(x.getDataType(), false);
        }
        return x.matMul(weight);
    }

    /**
     * Qwen2RMSNorm: {@code weight * (x * rsqrt(mean(x², -1) + eps))}, in float32. One tensor of x's size is returned
     * and one (x²) lives briefly: the weight is applied in place and the per-row factors are freed at once, so a long
     * prompt's layer does not keep three tensors of x's size per norm until it ends.
     */
    public static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        NDArray squares = x.square();
        NDArray variance = squares.mean(new int[] {-1}, true);
        squares.close();
        NDArray inverse = variance.add(eps).sqrt().pow(-1); // (…, 1)
        variance.close();
        // torch computes rsqrt; x * rsqrt(v) and x / sqrt(v) can differ in the last bit, both are float32 noise.
        NDArray normed = x.mul(inverse);
        inverse.close();
        return normed.muli(weight);
    }

    /** torch.nn.LayerNorm over the last dimension. */
    public static NDArray layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        Shape normalized = new Shape(x.getShape().get(x.getShape().dimension() - 1));
        return x.getNDArrayInternal().layerNorm(x, normalized, weight, bias, (float) eps).singletonOrThrow();
    }

    /** Exact (erf) GELU, torch.nn.GELU(). */
    public static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    /**
     * QuickGELU of the Qwen2-VL ViT, {@code x * sigmoid(1.702 x)}, written over {@code x} (pass a temporary: the MLP's
     * fc1 output). In place because at 6912 patches (a 1344×1008 image) each (P, 5120) float32 tensor is 141 MB, above
     * glibc's mmap ceiling: every new one is fresh memory, faulted in page by page.
     */
    public static NDArray quickGelu(NDArray x) {
        NDArray scaled = x.mul(1.702f);
        NDArray gate = scaled.getNDArrayInternal().sigmoid();
        scaled.close(); // freed before the product: the allocator can hand the same memory back
        NDArray out = x.muli(gate);
        gate.close();
        return out;
    }

    /** SiLU: {@code x * sigmoid(x)}. */
    public static NDArray silu(NDArray x) {
        return x.mul(x.getNDArrayInternal().sigmoid());
    }

    /**
     * SiLU written over {@code x} (pass a temporary: an MLP's gate projection), the same products as {@link #silu}:
     * one (rows, I) tensor less per MLP block.
     */
    public static NDArray siluInPlace(NDArray x) {
        NDArray gate = x.getNDArrayInternal().sigmoid();
        x.muli(gate);
        gate.close();
        return x;
    }

    /**
     * The gated SiLU MLP of Qwen2 (decoder) and Qwen2.5-VL (vision), {@code down(silu(gate(x)) · up(x))}, with the
     * activation and the product written over the gate projection: one (rows, I) tensor at a time besides it.
     * Biases may be null.
     */
    public static NDArray gatedSiluMlp(NDArray x, NDArray gateWeight, NDArray gateBias, NDArray upWeight,
                                       NDArray upBias, NDArray downWeight, NDArray downBias) {
        NDArray gate = siluInPlace(linear(x, gateWeight, gateBias));
        try (NDArray up = linear(x, upWeight, upBias)) {
            gate.muli(up);
        }
        NDArray out = linear(gate, downWeight, downBias);
        gate.close();
        return out;
    }

    /** {@code cat(-x2, x1)} over the halves of the last dimension (GPT-NeoX rotary layout). */
    public static NDArray rotateHalf(NDArray x) {
        int last = x.getShape().dimension() - 1;
        long half = x.getShape().get(last) / 2;
        var halves = x.split(new long[] {half}, last);
        try (halves; NDArray negated = halves.get(1).neg()) {
            return negated.concat(halves.get(0), last);
        }
    }

    /** {@code x * cos + rotate_half(x) * sin}. */
    public static NDArray applyRotary(NDArray x, NDArray cos, NDArray sin) {
        return x.mul(cos).add(rotateHalf(x).mul(sin));
    }
}
