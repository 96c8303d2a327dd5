package io.github.qwenvl.grounding;

/** Which markup convention a box was written in (models mix them, so this is per box). */
public enum GroundingSyntax {
    /** Qwen-VL (2023): {@code <ref>label</ref><box>(x1,y1),(x2,y2)</box>}, {@code <quad>…</quad>}. */
    QWEN_VL_TAGS,
    /** Qwen2-VL: {@code <|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>}, {@code <|quad_start|>…}. */
    QWEN2_VL_TAGS,
    /** Qwen2.5-VL JSON: {@code [{"bbox_2d": [x1, y1, x2, y2], "label": "…"}]} or {@code "point_2d": [x, y]}. */
    JSON,
    /** Qwen2.5-VL cookbook XML points: {@code <points x1="…" y1="…" alt="…">phrase</points>}. */
    XML_POINTS
}
