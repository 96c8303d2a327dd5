package io.github.qwenvl.qwen2vl;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.config.ImageProcessorConfig;
import io.github.qwenvl.image.SmartResize;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.config.ArchitectureConfig;
import io.github.qwenvl.config.Json;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.config.Qwen2TextConfig;
import io.github.qwenvl.config.Qwen2VisionConfig;
import io.github.qwenvl.engine.ArchitectureSupport;
import io.github.qwenvl.engine.ModelBackend;
import io.github.qwenvl.grounding.CoordinateSpace;
import io.github.qwenvl.grounding.GroundingConvention;
import io.github.qwenvl.grounding.GroundingConvention.Prompt;
import io.github.qwenvl.grounding.GroundingSyntax;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Registers Qwen2-VL and Qwen2.5-VL (see {@link io.github.qwenvl.engine.Architectures}). */
public final class Qwen2VlSupport implements ArchitectureSupport {

    /** Qwen2-VL (2024): dynamic resolution ViT with 2-D RoPE, M-RoPE Qwen2 decoder, 0–1000 boxes in tags. */
    public static final ModelArchitecture QWEN2_VL = new ModelArchitecture("QWEN2_VL", "Qwen2-VL",
            "Qwen2VLForConditionalGeneration", "qwen2_vl",
            GroundingConvention.of(GroundingSyntax.QWEN2_VL_TAGS, CoordinateSpace.RELATIVE_1000, List.of(
                    new Prompt("Find all …", "en", "Find all {object} in the image and output their bounding boxes."),
                    new Prompt("Detect the bounding box", "en", "Detect the bounding box of {object}."),
                    new Prompt("框出 …", "zh", "框出图中的{object}。"),
                    new Prompt("找到 …", "zh", "找到图中所有的{object}，并输出它们的位置。"))));

    /**
     * Qwen2.5-VL (2025): window attention, RMSNorm + gated SiLU in the ViT; trained on absolute coordinates, it writes
     * boxes (JSON {@code bbox_2d}, and tags when it uses them) in pixels of the resized image.
     */
    public static final ModelArchitecture QWEN2_5_VL = new ModelArchitecture("QWEN2_5_VL", "Qwen2.5-VL",
            "Qwen2_5_VLForConditionalGeneration", "qwen2_5_vl",
            new GroundingConvention(GroundingSyntax.JSON, Map.of(
                    GroundingSyntax.QWEN_VL_TAGS, CoordinateSpace.RELATIVE_1000,
                    GroundingSyntax.QWEN2_VL_TAGS, CoordinateSpace.RESIZED_PIXELS,
                    GroundingSyntax.JSON, CoordinateSpace.RESIZED_PIXELS,
                    GroundingSyntax.XML_POINTS, CoordinateSpace.RESIZED_PIXELS), List.of(
                    new Prompt("Find all …", "en",
                            "Locate every {object} in the image and output the bbox coordinates in JSON format."),
                    new Prompt("Detect with labels", "en",
                            "Outline the position of each {object} and output all the coordinates in JSON format."),
                    new Prompt("框出 …", "zh", "框出图中所有的{object}，以JSON格式输出其bbox坐标。"),
                    new Prompt("定位 …", "zh", "请定位图中的{object}，并以JSON格式输出bbox坐标和标签。"))));

    @Override
    public List<ModelArchitecture> architectures() {
        return List.of(QWEN2_VL, QWEN2_5_VL);
    }

    @Override
    public ArchitectureConfig parseConfig(ModelArchitecture architecture, JsonObject config, Path configFile) {
        if (!Json.has(config, "vision_config") || !config.get("vision_config").isJsonObject()) {
            throw new CheckpointException(configFile + " lacks vision_config");
        }
        Qwen2TextConfig text = Qwen2TextConfig.from(config, configFile.toString());
        Qwen2VisionConfig vision = Qwen2VisionConfig.from(config.getAsJsonObject("vision_config"),
                architecture.equals(QWEN2_5_VL), configFile.toString());
        return new Qwen2VlConfig(text, vision);
    }

    @Override
    public ModelBackend<?> createBackend(ModelConfig config, NDManager manager, QwenVlOptions options) {
        return new Qwen2VlBackend(config, manager, options);
    }

    @Override
    public ImageInfo imageInfo(ModelConfig config, int index, int width, int height, long minPixels, long maxPixels) {
        return dynamicResolution(config.imageProcessor(), index, width, height, minPixels, maxPixels);
    }

    /**
     * Dynamic resolution (Qwen2-VL, Qwen2.5-VL, Qwen3-VL): smart_resize to multiples of patch × merge within the
     * pixel bounds; one token per merge × merge patches.
     */
    public static ImageInfo dynamicResolution(ImageProcessorConfig pc, int index, int width, int height,
                                              long minPixels, long maxPixels) {
        SmartResize.Size size = SmartResize.compute(height, width, pc.factor(), minPixels, maxPixels);
        int tokens = (size.height() / pc.patchSize()) * (size.width() / pc.patchSize()) / (pc.mergeSize() * pc.mergeSize());
        return new ImageInfo(index, width, height, size.width(), size.height(), tokens);
    }
}
