package io.github.qwenvl.demo.api;

import io.github.qwenvl.config.ModelArchitecture;

import java.util.List;

/**
 * Grounding prompts in the phrasing each model family was trained on ({@code {object}} is replaced by
 * what to look for), as its architecture package declares them ({@code GroundingConvention.prompts()}).
 */
public final class GroundingPresets {

    /** @param lang {@code en} or {@code zh} */
    public record Preset(String name, String lang, String template) {
    }

    private GroundingPresets() {
    }

    public static List<Preset> forArchitecture(ModelArchitecture arch) {
        return arch.grounding().prompts().stream().map(p -> new Preset(p.name(), p.lang(), p.template())).toList();
    }
}
