package io.github.qwenvl.config;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.CheckpointException;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The checkpoint formats this library runs, detected from {@code config.json}. */
public enum ModelArchitecture {
    /** Qwen2-VL (2024): dynamic resolution ViT with 2-D RoPE, M-RoPE Qwen2 decoder, 0–1000 boxes. */
    QWEN2_VL("Qwen2VLForConditionalGeneration", "qwen2_vl"),
    /** Qwen2.5-VL (2025): window attention, RMSNorm + gated SiLU in the ViT, absolute-pixel JSON boxes. */
    QWEN2_5_VL("Qwen2_5_VLForConditionalGeneration", "qwen2_5_vl"),
    /** Original Qwen-VL / Qwen-VL-Chat (2023): ViT-bigG + 256-query resampler + Qwen-7B, 448×448. */
    QWEN_VL("QWenLMHeadModel", "qwen");

    private final String architectureClass;
    private final String modelType;

    ModelArchitecture(String architectureClass, String modelType) {
        this.architectureClass = architectureClass;
        this.modelType = modelType;
    }

    public String architectureClass() {
        return architectureClass;
    }

    public String modelType() {
        return modelType;
    }

    public boolean isQwen2Family() {
        return this == QWEN2_VL || this == QWEN2_5_VL;
    }

    /** Reads {@code architectures[0]}, falling back to {@code model_type}. */
    public static ModelArchitecture detect(JsonObject config, String where) {
        if (config.has("architectures") && config.get("architectures").isJsonArray()) {
            for (JsonElement e : config.getAsJsonArray("architectures")) {
                String name = stringOrNull(e);
                for (ModelArchitecture a : values()) {
                    if (a.architectureClass.equals(name)) {
                        return a;
                    }
                }
            }
        }
        String modelType = stringOrNull(config.get("model_type"));
        for (ModelArchitecture a : values()) {
            if (a.modelType.equals(modelType)) {
                return a;
            }
        }
        throw new CheckpointException("Unsupported model in " + where + ": architectures="
                + config.get("architectures") + ", model_type=" + config.get("model_type") + ". Supported: " + supported());
    }

    private static String stringOrNull(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }

    public static String supported() {
        return Arrays.stream(values()).map(a -> a.architectureClass + " (model_type " + a.modelType + ")")
                .collect(Collectors.joining(", "));
    }
}
