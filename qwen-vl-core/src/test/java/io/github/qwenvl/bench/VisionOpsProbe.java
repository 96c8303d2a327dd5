package io.github.qwenvl.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.engine.DjlRuntime;
import io.github.qwenvl.nn.Ops;

import java.util.function.Supplier;

/** Development probe: the ops of one Qwen2-VL-2B vision block at 1024 patches, timed one by one. */
public final class VisionOpsProbe {
    public static void main(String[] args) {
        Engine engine = DjlRuntime.start(2);
        int p = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        int d = 1280, h = 16, hd = 80, inter = 5120;
        try (NDManager m = engine.newBaseManager(Device.cpu())) {
            NDArray x = m.randomNormal(new Shape(p, d));
            NDArray wqkv = m.randomNormal(0, 0.02f, new Shape(3 * d, d), ai.djl.ndarray.types.DataType.FLOAT32);
            NDArray bqkv = m.zeros(new Shape(3 * d));
            NDArray wproj = m.randomNormal(0, 0.02f, new Shape(d, d), ai.djl.ndarray.types.DataType.FLOAT32);
            NDArray bproj = m.zeros(new Shape(d));
            NDArray w1 = m.randomNormal(0, 0.02f, new Shape(inter, d), ai.djl.ndarray.types.DataType.FLOAT32);
            NDArray b1 = m.zeros(new Shape(inter));
            NDArray w2 = m.randomNormal(0, 0.02f, new Shape(d, inter), ai.djl.ndarray.types.DataType.FLOAT32);
            NDArray b2 = m.zeros(new Shape(d));
            NDArray nw = m.ones(new Shape(d));
            NDArray nb = m.zeros(new Shape(d));
            NDArray cos = m.randomUniform(-1, 1, new Shape(p, 1, hd));
            NDArray sin = m.randomUniform(-1, 1, new Shape(p, 1, hd));
            NDArray q = m.randomNormal(new Shape(p, h, hd));
            NDArray k = m.randomNormal(new Shape(p, h, hd));
            NDArray v = m.randomNormal(new Shape(p, h, hd));
            NDArray hidden = m.randomNormal(new Shape(p, inter));
            NDArray attended = m.randomNormal(new Shape(p, d));
            double total = 0;
            total += time("layerNorm x2", 2, () -> Ops.layerNorm(x, nw, nb, 1e-6));
            total += time("qkv linear", 1, () -> Ops.linear(x, wqkv, bqkv), 2.0 * p * d * 3 * d);
            total += time("rotary q,k", 2, () -> Ops.applyRotary(q, cos, sin));
            total += time("qk^T", 1, () -> q.transpose(1, 0, 2).matMul(k.transpose(1, 2, 0)), 2.0 * p * p * d);
            NDArray scores = q.transpose(1, 0, 2).matMul(k.transpose(1, 2, 0));
            total += time("scale", 1, () -> scores.mul(0.11f));
            total += time("softmax", 1, () -> scores.softmax(-1));
            NDArray probs = scores.softmax(-1);
            total += time("pv", 1, () -> probs.matMul(v.transpose(1, 0, 2)), 2.0 * p * p * d);
            NDArray pv = probs.matMul(v.transpose(1, 0, 2));
            total += time("transpose+reshape", 1, () -> pv.transpose(1, 0, 2).reshape(p, d));
            total += time("proj linear", 1, () -> Ops.linear(attended, wproj, bproj), 2.0 * p * d * d);
            total += time("fc1 linear", 1, () -> Ops.linear(x, w1, b1), 2.0 * p * d * inter);
            time("copy of the fc1 output", 1, () -> hidden.duplicate());
            total += time("quickGelu (in place, on a copy)", 1, () -> Ops.quickGelu(hidden.duplicate()));
            time("quickGelu out of place (before), on a copy", 1, () -> {
                NDArray in = hidden.duplicate();
                NDArray scaled = in.mul(1.702f);
                NDArray gate = scaled.getNDArrayInternal().sigmoid();
                scaled.close();
                NDArray out = in.mul(gate);
                gate.close();
                in.close();
                return out;
            });
            total += time("fc2 linear", 1, () -> Ops.linear(hidden, w2, b2), 2.0 * p * d * inter);
            total += time("residual add x2", 2, () -> x.add(attended));
            for (int rows : new int[] {1024, 512, 256, 128}) {
                NDArray kT = k.transpose(1, 2, 0);
                NDArray vH = v.transpose(1, 0, 2);
                NDArray kc = k.transpose(1, 0, 2).toType(ai.djl.ndarray.types.DataType.FLOAT32, true); // contiguous copy? 
                time("attn rows=" + rows, 1, () -> {
                    NDArray last = null;
                    for (int r = 0; r < p; r += rows) {
                        NDArray qs = q.get("{}:{}", r, Math.min(p, r + rows)).transpose(1, 0, 2).mul(0.11f);
                        NDArray w = qs.matMul(kT).softmax(-1);
                        NDArray o = w.matMul(vH);
                        qs.close();
                        w.close();
                        if (last != null) last.close();
                        last = o;
                    }
                    return last;
                }, 4.0 * p * p * d);
            }
            double flops = 2.0 * p * d * (3 * d + d + 2 * inter) + 4.0 * p * p * d;
            System.out.printf("block total %.1f ms (x32 = %.2f s), %.1f GFLOP/s over the block%n", total, total * 32 / 1000,
                    flops / total / 1e6);
            time("matmul 1024^3", 1, () -> m.randomUniform(0, 1, new Shape(1, 1)).add(0), 0);
        }
        System.exit(0);
    }

    static double time(String label, int times, Supplier<NDArray> op) {
        return time(label, times, op, 0);
    }

    static double time(String label, int times, Supplier<NDArray> op, double flops) {
        for (int i = 0; i < 2; i++) {
            op.get().close();
        }
        double[] t = new double[7];
        for (int i = 0; i < t.length; i++) {
            long s = System.nanoTime();
            NDArray r = op.get();
            t[i] = (System.nanoTime() - s) / 1e6;
            r.close();
        }
        java.util.Arrays.sort(t);
        double ms = t[t.length / 2] * times;
        System.out.printf("%-20s %8.2f ms%s%n", label, ms, flops > 0 ? String.format("  %.1f GFLOP/s", flops * times / ms / 1e6) : "");
        return ms;
    }
}
