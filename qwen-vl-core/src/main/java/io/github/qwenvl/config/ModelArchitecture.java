package io.github.qwenvl.config;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.engine.Architectures;
import io.github.qwenvl.grounding.GroundingConvention;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A checkpoint format this library runs, as its architecture package declares it: the names {@code config.json}
 * gives it ({@code architectures[0]}, {@code model_type}), its grounding convention and prompts (data the grounding
 * parser, region markup and the demo read), and nothing else. What runs it comes from the package's
 * {@link io.github.qwenvl.engine.ArchitectureSupport}, found through {@link Architectures}; the constants live in
 * the architecture packages ({@code qwen2vl.Qwen2VlSupport.QWEN2_VL}, {@code qwenvl.QwenVlSupport.QWEN_VL}, ...).
 *
 * <p>Instances are compared by {@link #name()}.
 */
public final class ModelArchitecture {

    private final String name;
    private final String displayName;
    private final String architectureClass;
    private final String modelType;
    private final GroundingConvention grounding;

    /**
     * @param name              constant-like identifier, e.g. {@code QWEN2_VL}
     * @param displayName       e.g. {@code Qwen2-VL}
     * @param architectureClass {@code architectures[0]} of its config.json
     * @param modelType         {@code model_type} of its config.json
     * @param grounding         how it writes and reads boxes
     */
    public ModelArchitecture(String name, String displayName, String architectureClass, String modelType,
                             GroundingConvention grounding) {
        this.name = Objects.requireNonNull(name, "name");
        this.displayName = Objects.requireNonNull(displayName, "displayName");
        this.architectureClass = Objects.requireNonNull(architectureClass, "architectureClass");
        this.modelType = Objects.requireNonNull(modelType, "modelType");
        this.grounding = Objects.requireNonNull(grounding, "grounding");
    }

    public String name() {
        return name;
    }

    public String displayName() {
        return displayName;
    }

    public String architectureClass() {
        return architectureClass;
    }

    public String modelType() {
        return modelType;
    }

    public GroundingConvention grounding() {
        return grounding;
    }

    /** Reads {@code architectures[0]}, falling back to {@code model_type}, against every registered architecture. */
    public static ModelArchitecture detect(JsonObject config, String where) {
        List<ModelArchitecture> known = values();
        if (config.has("architectures") && config.get("architectures").isJsonArray()) {
            for (JsonElement e : config.getAsJsonArray("architectures")) {
                String className = stringOrNull(e);
                for (ModelArchitecture a : known) {
                    if (a.architectureClass.equals(className)) {
                        return a;
                    }
                }
            }
        }
        String modelType = stringOrNull(config.get("model_type"));
        for (ModelArchitecture a : known) {
            if (a.modelType.equals(modelType)) {
                return a;
            }
        }
        throw new CheckpointException("Unsupported model in " + where + ": architectures="
                + config.get("architectures") + ", model_type=" + config.get("model_type") + ". Supported: " + supported());
    }

    /** Every registered architecture, in registration order. */
    public static List<ModelArchitecture> values() {
        return Architectures.all();
    }

    /** The registered architecture called {@code name} (e.g. {@code QWEN2_VL}). */
    public static ModelArchitecture valueOf(String name) {
        for (ModelArchitecture a : values()) {
            if (a.name.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("No architecture " + name + "; registered: " + values());
    }

    private static String stringOrNull(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }

    public static String supported() {
        return values().stream().map(a -> a.architectureClass + " (model_type " + a.modelType + ")")
                .collect(Collectors.joining(", "));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelArchitecture a && a.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name;
    }
}
