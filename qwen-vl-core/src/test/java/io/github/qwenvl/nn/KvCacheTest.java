package io.github.qwenvl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.engine.DjlRuntime;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link KvCache}: a cache that hands its layers over gives each layer's keys and values, in the (kvHeads, stride, hd)
 * layout, the moment the layer is done, and then holds nothing of it; a plain cache keeps every layer.
 */
class KvCacheTest {

    @Test
    void handsEachLayerOverAndFreesIt() {
        DjlRuntime.start(1);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            int layers = 3;
            int heads = 2;
            int hd = 4;
            int tokens = 5;
            int capacity = 6;
            List<float[]> handedKeys = new ArrayList<>();
            List<Integer> handedLayers = new ArrayList<>();
            KvCache cache = new KvCache(manager, layers, heads, hd, capacity, DataType.FLOAT32,
                    (layer, keys, values, count, stride) -> {
                        handedLayers.add(layer);
                        assertThat(count).isEqualTo(tokens);
                        assertThat(stride).isEqualTo(capacity);
                        float[] copy = new float[heads * stride * hd];
                        keys.get(0, copy);
                        handedKeys.add(copy);
                        assertThat(values.get(hd + 1)).isEqualTo(-layer - 1f); // head 0, token 1, dim 1
                    });
            long perLayer = 2L * heads * capacity * hd * 4;
            for (int l = 0; l < layers; l++) {
                NDArray k = manager.arange(heads * tokens * hd).toType(DataType.FLOAT32, false).add(100 * l)
                        .reshape(1, heads, tokens, hd);
                NDArray v = manager.full(new Shape(1, heads, tokens, hd), -l - 1f);
                NDArray[] all = cache.append(l, k, v);
                assertThat(all[0].getShape()).isEqualTo(new Shape(1, heads, tokens, hd));
                assertThat(cache.bytes()).isEqualTo(perLayer); // only the layer being run
                cache.layerDone(l);
                assertThat(cache.bytes()).isZero();
            }
            cache.advance(tokens);
            assertThat(handedLayers).containsExactly(0, 1, 2);
            // layer 2, head 1, token 3, dim 2: element ((1 · 5) + 3) · 4 + 2 of the appended keys, at stride 6
            assertThat(handedKeys.get(2)[(1 * capacity + 3) * hd + 2]).isEqualTo(200 + (1 * tokens + 3) * hd + 2);
            assertThatThrownBy(() -> cache.append(0, manager.zeros(new Shape(1, heads, 1, hd)),
                    manager.zeros(new Shape(1, heads, 1, hd)))).isInstanceOf(IllegalStateException.class);
            cache.close();

            KvCache plain = new KvCache(manager, layers, 1, heads, hd, capacity, DataType.FLOAT32);
            assertThat(plain.bytes()).isEqualTo(layers * perLayer);
            plain.layerDone(0); // nothing to hand over
            assertThat(plain.bytes()).isEqualTo(layers * perLayer);
            plain.close();
        }
    }
}
