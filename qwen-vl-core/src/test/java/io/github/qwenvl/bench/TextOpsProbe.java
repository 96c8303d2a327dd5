package io.github.qwenvl.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.engine.DjlRuntime;
import io.github.qwenvl.nn.Ops;

/** Development probe: the matrix products of one Qwen2-VL-2B decoder layer at S tokens, timed one by one. */
public final class TextOpsProbe {
    public static void main(String[] args) {
        Engine engine = DjlRuntime.start(2);
        int s = args.length > 0 ? Integer.parseInt(args[0]) : 281;
        int h = 1536, kv = 256, inter = 8960;
        try (NDManager m = engine.newBaseManager(Device.cpu())) {
            NDArray x = m.randomNormal(new Shape(1, s, h));
            NDArray x2 = x.reshape(s, h);
            NDArray wq = m.randomNormal(0, 0.02f, new Shape(h, h), DataType.FLOAT32);
            NDArray wk = m.randomNormal(0, 0.02f, new Shape(kv, h), DataType.FLOAT32);
            NDArray wqkv = m.randomNormal(0, 0.02f, new Shape(h + 2 * kv, h), DataType.FLOAT32);
            NDArray bq = m.zeros(new Shape(h));
            NDArray bk = m.zeros(new Shape(kv));
            NDArray wg = m.randomNormal(0, 0.02f, new Shape(inter, h), DataType.FLOAT32);
            NDArray wgu = m.randomNormal(0, 0.02f, new Shape(2 * inter, h), DataType.FLOAT32);
            NDArray wd = m.randomNormal(0, 0.02f, new Shape(h, inter), DataType.FLOAT32);
            NDArray mid = m.randomNormal(new Shape(1, s, inter));
            NDArray a = m.randomNormal(new Shape(1024, 1024));
            VisionOpsProbe.time("matmul 1024^3", 1, () -> a.matMul(a), 2.0 * 1024 * 1024 * 1024);
            VisionOpsProbe.time("q (3-D input)", 1, () -> Ops.linear(x, wq, bq), 2.0 * s * h * h);
            VisionOpsProbe.time("q (2-D input)", 1, () -> Ops.linear(x2, wq, bq), 2.0 * s * h * h);
            VisionOpsProbe.time("k", 2, () -> Ops.linear(x, wk, bk), 2.0 * s * h * kv);
            VisionOpsProbe.time("qkv fused", 1, () -> Ops.linear(x, wqkv, null), 2.0 * s * h * (h + 2 * kv));
            VisionOpsProbe.time("gate", 2, () -> Ops.linear(x, wg, null), 2.0 * s * h * inter);
            VisionOpsProbe.time("gate+up fused", 1, () -> Ops.linear(x, wgu, null), 4.0 * s * h * inter);
            VisionOpsProbe.time("down", 1, () -> Ops.linear(mid, wd, null), 2.0 * s * h * inter);
            VisionOpsProbe.time("silu", 1, () -> Ops.silu(mid));
            VisionOpsProbe.time("rmsNorm", 2, () -> Ops.rmsNorm(x, bq.add(1), 1e-6));
        }
        System.exit(0);
    }
}
