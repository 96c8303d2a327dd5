package io.github.qwenvl.qwen2vl;

import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The prefill's cache handed to the Java decoder in place ({@code State.load} over a (kvHeads, stride, hd) buffer,
 * the engine cache's layout) gives the same decoder state as a packed (kvHeads, tokens, hd) copy, also when the
 * cache's capacity (the stride) exceeds the tokens cached: the next steps' logits are identical.
 */
class JavaDecoderHandOverTest {

    @Test
    void stridedHandOverEqualsPackedCopy() {
        FixtureSet set = FixtureRoot.bundledSets().stream().filter(FixtureSet::isQwen2Family).findFirst().orElseThrow();
        Qwen2VlNetwork net = LoadedNetworks.of(set);
        Qwen2JavaDecoder decoder = net.javaDecoder();
        assertThat(decoder).isNotNull();
        var text = net.config().text();
        int heads = text.numKeyValueHeads();
        int hd = text.headDim();
        int tokens = 5;
        int stride = 9; // the engine cache's capacity: room after the cached tokens
        Random random = new Random(3);
        Qwen2JavaDecoder.State packed = decoder.newState(32);
        Qwen2JavaDecoder.State strided = decoder.newState(32);
        for (int l = 0; l < text.numLayers(); l++) {
            float[] keys = new float[heads * tokens * hd];
            float[] values = new float[heads * tokens * hd];
            float[] stridedKeys = new float[heads * stride * hd];
            float[] stridedValues = new float[heads * stride * hd];
            java.util.Arrays.fill(stridedKeys, Float.NaN); // the unused positions must not be read
            java.util.Arrays.fill(stridedValues, Float.NaN);
            for (int g = 0; g < heads; g++) {
                for (int i = 0; i < tokens * hd; i++) {
                    keys[g * tokens * hd + i] = stridedKeys[g * stride * hd + i] = (float) random.nextGaussian();
                    values[g * tokens * hd + i] = stridedValues[g * stride * hd + i] = (float) random.nextGaussian();
                }
            }
            packed.load(l, keys, values, tokens);
            strided.load(l, FloatBuffer.wrap(stridedKeys), FloatBuffer.wrap(stridedValues), tokens, stride);
        }
        assertThat(strided.length()).isEqualTo(tokens);
        int token = 7;
        for (int step = 0; step < 3; step++) {
            float[] a = decoder.step(packed, token, tokens + step).clone();
            float[] b = decoder.step(strided, token, tokens + step).clone();
            assertThat(b).containsExactly(a);
            for (float x : b) {
                assertThat(x).isFinite();
            }
        }
        assertThatThrownBy(() -> decoder.newState(32).load(0, FloatBuffer.allocate(heads * 4 * hd),
                FloatBuffer.allocate(heads * 4 * hd), 5, 4)).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * The cache in pages of two tokens (a page boundary inside the prompt, more pages added by the steps) gives the
     * default single page's logits exactly: pages change where the rows live, not the arithmetic.
     */
    @Test
    void pagedCacheEqualsOnePage() {
        FixtureSet set = FixtureRoot.bundledSets().stream().filter(FixtureSet::isQwen2Family).findFirst().orElseThrow();
        Qwen2JavaDecoder decoder = LoadedNetworks.of(set).javaDecoder();
        var text = LoadedNetworks.of(set).config().text();
        int heads = text.numKeyValueHeads();
        int hd = text.headDim();
        int tokens = 5;
        Qwen2JavaDecoder.State onePage = decoder.newState(32);
        Qwen2JavaDecoder.State[] pagedState = new Qwen2JavaDecoder.State[1];
        // a network loaded with KV pages of two tokens
        io.github.qwenvl.testing.SmallBlocks.run(io.github.qwenvl.EngineTuning.DEFAULTS.withKvPageElements(2 * hd),
                () -> pagedState[0] = LoadedNetworks.of(set).javaDecoder().newState(32));
        Qwen2JavaDecoder.State paged = pagedState[0];
        assertThat(paged.pageTokens()).isEqualTo(2);
        assertThat(onePage.pageTokens()).isGreaterThan(32);
        Random random = new Random(5);
        for (int l = 0; l < text.numLayers(); l++) {
            float[] keys = new float[heads * tokens * hd];
            float[] values = new float[heads * tokens * hd];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = (float) random.nextGaussian();
                values[i] = (float) random.nextGaussian();
            }
            onePage.load(l, keys, values, tokens);
            paged.load(l, keys, values, tokens);
        }
        assertThat(paged.cacheBytes()).isEqualTo(2L * text.numLayers() * heads * 3 * 2 * hd * 4); // 3 pages of 2
        for (int step = 0; step < 4; step++) {
            int token = 3 + step;
            float[] a = decoder.step(onePage, token, tokens + step).clone();
            float[] b = decoder.step(paged, token, tokens + step);
            assertThat(b).containsExactly(a);
        }
        assertThat(paged.length()).isEqualTo(tokens + 4);
        assertThat(paged.cacheBytes()).isEqualTo(2L * text.numLayers() * heads * 5 * 2 * hd * 4); // 9 tokens: 5 pages
    }
}
