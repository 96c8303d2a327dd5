package io.github.qwenvl.qwen2vl;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link io.github.qwenvl.nn.VisionAttention#headsPerGroup}: Qwen2-VL-2B's 16 heads of 80 dims run in one group up to the 32 MB qkv budget
 * (a 448×448 image's 1024 patches), in 4 groups of 4 at a 1344×1008 image's 6912 patches, in larger groups on a GPU,
 * and one head at a time with the test budget that the golden suites' {@code row_blocks} variant uses. (That variant
 * checks the grouped path's numbers against the reference.)
 */
class VisionHeadGroupsTest {

    private final long defaultBudget = io.github.qwenvl.EngineTuning.DEFAULTS.mlpBlockElements();

    @Test
    void groupsFollowTheBudget() {
        assertThat(io.github.qwenvl.nn.VisionAttention.headsPerGroup(defaultBudget, 1024, 16, 80, Device.cpu())).isEqualTo(16);
        assertThat(io.github.qwenvl.nn.VisionAttention.headsPerGroup(defaultBudget, 6912, 16, 80, Device.cpu())).isEqualTo(4);
        assertThat(io.github.qwenvl.nn.VisionAttention.headsPerGroup(defaultBudget, 6912, 16, 80, Device.gpu())).isEqualTo(16);
        assertThat(io.github.qwenvl.nn.VisionAttention.headsPerGroup(defaultBudget, 100_000, 16, 80, Device.cpu())).isEqualTo(1);
        assertThat(io.github.qwenvl.nn.VisionAttention.headsPerGroup(defaultBudget, 6912, 12, 80, Device.cpu())).isEqualTo(4); // a divisor of 12
        assertThat(io.github.qwenvl.nn.VisionAttention.headsPerGroup(1, 16, 16, 80, Device.cpu())).isEqualTo(1);
    }
}
