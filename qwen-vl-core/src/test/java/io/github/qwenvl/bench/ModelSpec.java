package io.github.qwenvl.bench;

import com.google.gson.JsonObject;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A checkpoint to fabricate with random weights ({@link RandomCheckpoint}) and what {@link EngineBenchmark} needs
 * to know about its architecture. Three layouts: {@link Qwen2VlSpec} (Qwen2-VL / Qwen2.5-VL), {@link Qwen3VlSpec}
 * (Qwen3-VL, dense) and {@link QwenVlSpec} (the original Qwen-VL-Chat, {@code QWenLMHeadModel}); they share nothing
 * but these methods.
 *
 * <p>The presets are constants of those records and are listed here by {@link #presets()}; the interface holds no
 * preset fields itself, so initialising it never depends on the records' initialisation order.
 */
public sealed interface ModelSpec permits Qwen2VlSpec, Qwen3VlSpec, QwenVlSpec {

    /** Vision patch side in pixels of Qwen2-VL and Qwen-VL (Qwen3-VL: 16, see {@link #patch()}). */
    int PATCH = 14;
    /** RGB input channels of the patch embedding. */
    int CHANNELS = 3;

    /** Every preset the benchmark can run ({@code -Dqwenvl.bench.model=<name>}). */
    static List<ModelSpec> presets() {
        return List.of(Qwen2VlSpec.QWEN2_VL_2B, Qwen2VlSpec.QWEN2_5_VL_3B, Qwen2VlSpec.TINY, Qwen2VlSpec.TINY_25,
                QwenVlSpec.QWEN_VL_CHAT_REDUCED, QwenVlSpec.TINY, Qwen3VlSpec.QWEN3_VL_2B, Qwen3VlSpec.TINY);
    }

    /** The preset of that name (case-insensitive; '_' reads as '.', so {@code qwen2_5-vl-3b} works on a shell). */
    static ModelSpec named(String name) {
        String n = name.toLowerCase(Locale.ROOT).replace('_', '.');
        for (ModelSpec s : presets()) {
            if (s.name().equals(n)) {
                return s;
            }
        }
        throw new IllegalArgumentException("Unknown model preset '" + name + "'; known: "
                + presets().stream().map(ModelSpec::name).toList());
    }

    /** Preset name, also the cache folder name. */
    String name();

    /** Every tensor of the published layout, in a stable order (the order they are written in). */
    List<Tensor> tensors();

    /** config.json as published (with this preset's dimensions); also part of the cache stamp. */
    JsonObject configJson();

    /** Every JSON file of the model directory, by file name, config.json included. */
    Map<String, JsonObject> jsonFiles();

    /** Fixture folder (relative to the fixture root) whose tokenizer files are copied. */
    String tokenizerDir();

    /** The tokenizer files copied from {@link #tokenizerDir()}. */
    List<String> tokenizerFiles();

    /** Qwen2-VL / Qwen2.5-VL: the engine's Qwen2 path (Java decode, decode-mode sweep). */
    boolean qwen2Family();

    /**
     * The engine's Qwen2-style decoder ({@code Qwen2TextModel} + {@code Qwen2JavaDecoder}) and row-blocked vision
     * attention: Java decode, the decode-mode sweep and the float32-copies run apply (Qwen2-VL, Qwen2.5-VL, Qwen3-VL).
     */
    default boolean qwen2Decoder() {
        return qwen2Family();
    }

    /** Vision patch side in pixels. */
    default int patch() {
        return PATCH;
    }

    /** Qwen2.5-VL (window attention in the vision tower). */
    boolean qwen25();

    /** Attention heads of the vision tower's blocks. */
    int visionHeads();

    /** Qwen2.5-VL attention window in pixels; 0 where every block attends to the whole image. */
    int windowSize();

    /** Qwen2.5-VL blocks with full attention; empty otherwise. */
    int[] fullAttention();

    /** Patches the vision tower's blocks see for a width × height input image. */
    long visionPatches(int width, int height);

    /**
     * 2 × multiply-adds of the vision tower's matrix products for one image of gridW × gridH patches (the resized
     * image's grid); elementwise work (norms, softmax, activations, rotary) is not counted.
     */
    double visionFlops(int gridW, int gridH);

    /** Elements over all tensors: what the engine counts as parameters when it loads every tensor. */
    default long parameters() {
        return tensors().stream().mapToLong(Tensor::elements).sum();
    }

    /** One tensor of the checkpoint and how to fill it. */
    record Tensor(String name, long[] shape, Fill fill) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** How a tensor is initialised. */
    enum Fill { NORMAL, ONES, ZEROS }
}
