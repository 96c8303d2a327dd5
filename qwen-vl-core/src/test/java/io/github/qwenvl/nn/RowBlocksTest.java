package io.github.qwenvl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.qwenvl.engine.DjlRuntime;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@link RowBlocks}: an MLP over row blocks, added into the residual in place, gives what one pass over all rows
 * gives, for 2-D (patches) and 3-D (batch, tokens) inputs and a last block shorter than the others; the golden
 * suites run every model in 16-row blocks as well ({@code row_blocks}, {@code SmallBlocks}).
 */
class RowBlocksTest {

    private final long defaultBudget = io.github.qwenvl.EngineTuning.DEFAULTS.mlpBlockElements();

    @Test
    void blockedEqualsOnePass() {
        DjlRuntime.start(1);
        for (Shape shape : List.of(new Shape(53, 12), new Shape(2, 37, 12))) {
            try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
                manager.getEngine().setRandomSeed(7);
                NDArray input = manager.randomNormal(shape);
                NDArray residual = manager.randomNormal(shape.slice(0, shape.dimension() - 1).add(8));
                NDArray fc1 = manager.randomNormal(new Shape(40, 12));
                NDArray fc2 = manager.randomNormal(new Shape(8, 40));
                List<Long> blockRows = new ArrayList<>();
                UnaryOperator<NDArray> mlp = rows -> {
                    blockRows.add(rows.getShape().get(0));
                    return Ops.linear(Ops.silu(Ops.linear(rows, fc1, null)), fc2, null);
                };

                NDArray onePassTarget = residual.duplicate();
                NDArray onePassResult = RowBlocks.addLayer(defaultBudget, onePassTarget, input, 40, mlp);
                assertThat(onePassResult).isSameAs(onePassTarget); // added in place in one block too
                float[] onePass = onePassResult.toFloatArray();
                assertThat(blockRows).hasSize(1); // the default budget holds every row
                blockRows.clear();

                NDArray target = residual.duplicate();
                NDArray blocked = RowBlocks.addLayer(1, target, input, 40, mlp); // 16-row blocks

                long rows = input.size() / 12;
                assertThat(blocked).isSameAs(target);
                assertThat(blockRows).hasSize((int) ((rows + 15) / 16)).allMatch(r -> r <= 16);
                assertThat(blockRows.get(blockRows.size() - 1)).isEqualTo(rows % 16);
                assertThat(blocked.getShape()).isEqualTo(residual.getShape());
                float[] values = blocked.toFloatArray();
                for (int i = 0; i < values.length; i++) {
                    assertThat(values[i]).as("element %d of %s", i, shape).isCloseTo(onePass[i], within(1e-4f * (1 + Math.abs(onePass[i]))));
                }
            }
        }
    }

    /**
     * {@link RowBlocks#rotateInPlace} writes exactly {@link Ops#applyRotary}'s values into the tensor, in one block and
     * in 16-row blocks with a short last one, also through a strided view (the vision tower rotates q and k inside
     * qkv), and leaves what lies outside the view alone.
     */
    @Test
    void rotationInPlaceEqualsApplyRotary() {
        DjlRuntime.start(1);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            manager.getEngine().setRandomSeed(11);
            NDArray qkv = manager.randomNormal(new Shape(37, 3, 4, 8)); // (rows, q/k/v, heads, hd)
            NDArray cos = manager.randomNormal(new Shape(37, 2, 1, 8));
            NDArray sin = manager.randomNormal(new Shape(37, 2, 1, 8));
            float[] expected = Ops.applyRotary(qkv.get(":, 0:2"), cos, sin).toFloatArray();
            float[] untouched = qkv.get(":, 2").toFloatArray();
            for (long budget : new long[] {defaultBudget, 1}) {
                NDArray target = qkv.duplicate();
                RowBlocks.rotateInPlace(budget, target.get(":, 0:2"), cos, sin);
                assertThat(target.get(":, 0:2").toFloatArray()).as("budget %d", budget).containsExactly(expected);
                assertThat(target.get(":, 2").toFloatArray()).containsExactly(untouched);
            }
        }
    }
}
