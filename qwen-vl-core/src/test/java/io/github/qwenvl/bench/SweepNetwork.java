package io.github.qwenvl.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.generate.DecodingSession;
import io.github.qwenvl.qwen2vl.Qwen2JavaDecoder;
import io.github.qwenvl.qwen2vl.Qwen2VlConfig;
import io.github.qwenvl.qwen2vl.Qwen2VlDecodingSession;
import io.github.qwenvl.qwen2vl.Qwen2VlNetwork;
import io.github.qwenvl.qwen3vl.Qwen3VlConfig;
import io.github.qwenvl.qwen3vl.Qwen3VlDecodingSession;
import io.github.qwenvl.qwen3vl.Qwen3VlNetwork;

import java.util.List;

/**
 * The network {@link EngineBenchmark}'s decode-mode sweep loads, for the architectures whose decoder is the shared
 * Qwen2-style one (Qwen2-VL / Qwen2.5-VL and Qwen3-VL): text-only sessions with a forced decode mode.
 */
interface SweepNetwork extends AutoCloseable {

    /** The decoder's dimensions. */
    Qwen2TextConfig text();

    /** The Java decoder, or null when the network decodes on the engine only. */
    Qwen2JavaDecoder javaDecoder();

    /** A text-only session over {@code ids}. */
    DecodingSession open(NDManager manager, int[] ids, int capacity, QwenVlOptions.DecodeMode mode);

    @Override
    void close();

    /** Loads the network of the checkpoint's architecture. */
    static SweepNetwork load(ModelConfig config, SafetensorsCheckpoint checkpoint, NDManager manager, DataType type,
                             QwenVlOptions.DecodeMode loadMode, int threads, QwenVlOptions.WeightMode weightMode) {
        if (config.specific() instanceof Qwen3VlConfig qwen3) {
            Qwen3VlNetwork net = new Qwen3VlNetwork(config, checkpoint, null, manager, type, loadMode, threads,
                    weightMode);
            return new SweepNetwork() {
                public Qwen2TextConfig text() {
                    return qwen3.text();
                }

                public Qwen2JavaDecoder javaDecoder() {
                    return net.javaDecoder();
                }

                public DecodingSession open(NDManager m, int[] ids, int capacity, QwenVlOptions.DecodeMode mode) {
                    return new Qwen3VlDecodingSession(net, m, ids, List.of(), null, List.of(), capacity, mode);
                }

                public void close() {
                    net.close();
                }
            };
        }
        Qwen2VlNetwork net = new Qwen2VlNetwork(config, checkpoint, null, manager, type, loadMode, threads, weightMode);
        return new SweepNetwork() {
            public Qwen2TextConfig text() {
                return Qwen2VlConfig.of(config).text();
            }

            public Qwen2JavaDecoder javaDecoder() {
                return net.javaDecoder();
            }

            public DecodingSession open(NDManager m, int[] ids, int capacity, QwenVlOptions.DecodeMode mode) {
                return new Qwen2VlDecodingSession(net, m, ids, List.of(), null, capacity, mode);
            }

            public void close() {
                net.close();
            }
        };
    }
}
