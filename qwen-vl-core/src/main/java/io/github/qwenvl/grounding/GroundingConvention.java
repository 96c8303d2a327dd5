package io.github.qwenvl.grounding;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How one architecture grounds, as data: the markup it asks region questions in, the coordinate grid of each
 * markup it may answer with, and the grounding prompts in the phrasing it was trained on.
 *
 * @param regionSyntax the markup {@link GroundingMarkup#region} writes for this model
 * @param spaces       the coordinate grid of each markup (a syntax left out: {@link #UNKNOWN}'s)
 * @param prompts      grounding prompts ({@code {object}} stands for what to look for)
 */
public record GroundingConvention(GroundingSyntax regionSyntax, Map<GroundingSyntax, CoordinateSpace> spaces,
                                  List<Prompt> prompts) {

    /** A grounding prompt. @param lang {@code en} or {@code zh} */
    public record Prompt(String name, String lang, String template) {
    }

    /**
     * When the architecture is unknown: tags are read on the 0–1000 grid, JSON and XML points as resized-image
     * pixels (Qwen2.5-VL's).
     */
    public static final GroundingConvention UNKNOWN = new GroundingConvention(GroundingSyntax.JSON, Map.of(
            GroundingSyntax.QWEN_VL_TAGS, CoordinateSpace.RELATIVE_1000,
            GroundingSyntax.QWEN2_VL_TAGS, CoordinateSpace.RELATIVE_1000,
            GroundingSyntax.JSON, CoordinateSpace.RESIZED_PIXELS,
            GroundingSyntax.XML_POINTS, CoordinateSpace.RESIZED_PIXELS), List.of());

    public GroundingConvention {
        Objects.requireNonNull(regionSyntax, "regionSyntax");
        Map<GroundingSyntax, CoordinateSpace> copy = new EnumMap<>(GroundingSyntax.class);
        copy.putAll(spaces);
        spaces = Map.copyOf(copy);
        prompts = List.copyOf(prompts);
    }

    /** Every markup on one grid. */
    public static GroundingConvention of(GroundingSyntax regionSyntax, CoordinateSpace space, List<Prompt> prompts) {
        Map<GroundingSyntax, CoordinateSpace> all = new EnumMap<>(GroundingSyntax.class);
        for (GroundingSyntax s : GroundingSyntax.values()) {
            all.put(s, space);
        }
        return new GroundingConvention(regionSyntax, all, prompts);
    }

    /** The grid numbers written in {@code syntax} are on. */
    public CoordinateSpace space(GroundingSyntax syntax) {
        CoordinateSpace s = spaces.get(syntax);
        return s != null ? s : UNKNOWN.spaces.get(syntax);
    }
}
