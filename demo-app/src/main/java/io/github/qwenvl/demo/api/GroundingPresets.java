package io.github.qwenvl.demo.api;

import io.github.qwenvl.config.ModelArchitecture;

import java.util.List;

/**
 * Grounding prompts in the phrasing each model family was trained on ({@code {object}} is replaced by
 * what to look for): Qwen2-VL answers with {@code <|object_ref_start|>…<|box_start|>(x1,y1),(x2,y2)<|box_end|>}
 * on a 0–1000 grid, Qwen2.5-VL with JSON {@code bbox_2d} in pixels of the resized image, Qwen-VL with
 * {@code <ref>…</ref><box>…</box>}.
 */
public final class GroundingPresets {

    /** @param lang {@code en} or {@code zh} */
    public record Preset(String name, String lang, String template) {
    }

    private GroundingPresets() {
    }

    public static List<Preset> forArchitecture(ModelArchitecture arch) {
        return switch (arch) {
            case QWEN2_5_VL -> List.of(
                    new Preset("Find all …", "en",
                            "Locate every {object} in the image and output the bbox coordinates in JSON format."),
                    new Preset("Detect with labels", "en",
                            "Outline the position of each {object} and output all the coordinates in JSON format."),
                    new Preset("框出 …", "zh", "框出图中所有的{object}，以JSON格式输出其bbox坐标。"),
                    new Preset("定位 …", "zh", "请定位图中的{object}，并以JSON格式输出bbox坐标和标签。"));
            case QWEN2_VL -> List.of(
                    new Preset("Find all …", "en", "Find all {object} in the image and output their bounding boxes."),
                    new Preset("Detect the bounding box", "en", "Detect the bounding box of {object}."),
                    new Preset("框出 …", "zh", "框出图中的{object}。"),
                    new Preset("找到 …", "zh", "找到图中所有的{object}，并输出它们的位置。"));
            case QWEN_VL -> List.of(
                    new Preset("Find all …", "en", "Generate the bounding box of {object}"),
                    new Preset("框出 …", "zh", "框出图中的{object}"));
        };
    }
}
