package io.github.qwenvl.qwenvl;

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

/** Registers the original Qwen-VL / Qwen-VL-Chat (see {@link io.github.qwenvl.engine.Architectures}). */
public final class QwenVlSupport implements ArchitectureSupport {

    /** Original Qwen-VL / Qwen-VL-Chat (2023): ViT-bigG + 256-query resampler + Qwen-7B, 448×448, {@code <ref>/<box>} tags. */
    public static final ModelArchitecture QWEN_VL = new ModelArchitecture("QWEN_VL", "Qwen-VL",
            "QWenLMHeadModel", "qwen",
            GroundingConvention.of(GroundingSyntax.QWEN_VL_TAGS, CoordinateSpace.RELATIVE_1000, List.of(
                    new Prompt("Find all …", "en", "Generate the bounding box of {object}"),
                    new Prompt("框出 …", "zh", "框出图中的{object}"))));

    @Override
    public List<ModelArchitecture> architectures() {
        return List.of(QWEN_VL);
    }

    @Override
    public ArchitectureConfig parseConfig(ModelArchitecture architecture, JsonObject config, Path configFile) {
        return QwenVlConfig.from(config, configFile.toString());
    }

    @Override
    public ModelBackend<?> createBackend(ModelConfig config, NDManager manager, QwenVlOptions options) {
        return new QwenVlBackend(config, manager, options);
    }

    /** Every image is resized to visual.image_size square and takes the resampler's n_queries tokens. */
    @Override
    public io.github.qwenvl.ImageInfo imageInfo(ModelConfig config, int index, int width, int height, long minPixels,
                                                long maxPixels) {
        QwenVlConfig.Visual visual = config.specific(QwenVlConfig.class).visual();
        return new io.github.qwenvl.ImageInfo(index, width, height, visual.imageSize(), visual.imageSize(),
                visual.nQueries());
    }
}
