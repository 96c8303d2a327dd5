package io.github.qwenvl.qwen3vl;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.config.ArchitectureConfig;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.engine.ArchitectureSupport;
import io.github.qwenvl.engine.ModelBackend;
import io.github.qwenvl.grounding.CoordinateSpace;
import io.github.qwenvl.grounding.GroundingConvention;
import io.github.qwenvl.grounding.GroundingConvention.Prompt;
import io.github.qwenvl.grounding.GroundingSyntax;

import java.nio.file.Path;
import java.util.List;

/** Registers Qwen3-VL (see {@link io.github.qwenvl.engine.Architectures}). */
public final class Qwen3VlSupport implements ArchitectureSupport {

    /**
     * Qwen3-VL (2025): ViT with a learned, interpolated position table and DeepStack features, Qwen3 decoder with
     * interleaved M-RoPE; answers boxes as JSON {@code bbox_2d} and points as {@code point_2d} on the 0–1000 grid.
     */
    public static final ModelArchitecture QWEN3_VL = new ModelArchitecture("QWEN3_VL", "Qwen3-VL",
            "Qwen3VLForConditionalGeneration", "qwen3_vl",
            GroundingConvention.of(GroundingSyntax.JSON, CoordinateSpace.RELATIVE_1000, List.of(
                    new Prompt("Find all …", "en",
                            "Locate every {object} in the image and output the bbox coordinates in JSON format."),
                    new Prompt("Point to …", "en",
                            "Point to every {object} in the image and output the point coordinates in JSON format."),
                    new Prompt("框出 …", "zh", "框出图中所有的{object}，以JSON格式输出其bbox坐标。"))));

    /**
     * Qwen3-VL MoE (Qwen3-VL-30B-A3B, 235B-A22B): the same vision tower, prompt format and grounding; the decoder's
     * MLPs are sparse mixtures of experts ({@link Qwen3MoeMlp}).
     */
    public static final ModelArchitecture QWEN3_VL_MOE = new ModelArchitecture("QWEN3_VL_MOE", "Qwen3-VL MoE",
            "Qwen3VLMoeForConditionalGeneration", "qwen3_vl_moe", QWEN3_VL.grounding());

    @Override
    public List<ModelArchitecture> architectures() {
        return List.of(QWEN3_VL, QWEN3_VL_MOE);
    }

    @Override
    public ArchitectureConfig parseConfig(ModelArchitecture architecture, JsonObject config, Path configFile) {
        return Qwen3VlConfig.from(config, configFile.toString());
    }

    @Override
    public io.github.qwenvl.ImageInfo imageInfo(ModelConfig config, int index, int width, int height, long minPixels,
                                                long maxPixels) {
        return io.github.qwenvl.qwen2vl.Qwen2VlSupport.dynamicResolution(config.imageProcessor(), index, width, height,
                minPixels, maxPixels);
    }

    @Override
    public ModelBackend<?> createBackend(ModelConfig config, NDManager manager, QwenVlOptions options) {
        return new Qwen3VlBackend(config, manager, options);
    }
}
