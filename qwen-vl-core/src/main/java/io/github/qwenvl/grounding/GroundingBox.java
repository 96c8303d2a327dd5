package io.github.qwenvl.grounding;

import java.util.Arrays;
import java.util.Objects;

/**
 * One grounded region found in a model's answer.
 *
 * @param label            the referring expression ({@code <ref>} text, JSON {@code label}), trimmed; {@code null} when none
 * @param imageIndex       {@link io.github.qwenvl.ImageInfo#index()} of the image the box belongs to; {@code -1} when
 *                         the request had no image
 * @param kind             box, quadrilateral or point
 * @param syntax           the markup convention it was written in
 * @param space            the grid of {@code modelCoordinates}
 * @param modelCoordinates the numbers exactly as the model wrote them (not clamped, not reordered):
 *                         4 for a box, 8 for a quad, 2 for a point
 * @param normalized       the bounding box relative to the image, ordered and clamped to [0, 1]; {@code null} only when
 *                         the coordinates are resized pixels and no image is known
 * @param pixels           {@code normalized} in ORIGINAL image pixels; {@code null} when no image is known
 * @param quadNormalized   for {@link Kind#QUAD}: the 4 corners {@code x1,y1,…,x4,y4} relative to the image, clamped,
 *                         in the model's order; otherwise {@code null}
 * @param quadPixels       {@code quadNormalized} in original pixels; {@code null} when not a quad or no image
 */
public record GroundingBox(String label, int imageIndex, Kind kind, GroundingSyntax syntax, CoordinateSpace space,
                           double[] modelCoordinates, NormalizedBox normalized, PixelBox pixels,
                           double[] quadNormalized, double[] quadPixels) {

    /** Shape of a grounded region. */
    public enum Kind {
        /** Axis-aligned rectangle: two corners. */
        BOX,
        /** Quadrilateral (OCR text lines): four corners; {@code normalized}/{@code pixels} hold its bounding box. */
        QUAD,
        /** A single point ({@code point_2d}); {@code normalized}/{@code pixels} are a degenerate box. */
        POINT
    }

    public GroundingBox {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(syntax, "syntax");
        Objects.requireNonNull(space, "space");
        // arrays are copied in and out so the record stays immutable
        modelCoordinates = modelCoordinates == null ? new double[0] : modelCoordinates.clone();
        quadNormalized = quadNormalized == null ? null : quadNormalized.clone();
        quadPixels = quadPixels == null ? null : quadPixels.clone();
    }

    @Override
    public double[] modelCoordinates() {
        return modelCoordinates.clone();
    }

    @Override
    public double[] quadNormalized() {
        return quadNormalized == null ? null : quadNormalized.clone();
    }

    @Override
    public double[] quadPixels() {
        return quadPixels == null ? null : quadPixels.clone();
    }

    // records compare arrays by identity; compare them by content instead
    @Override
    public boolean equals(Object o) {
        return o instanceof GroundingBox b && imageIndex == b.imageIndex && kind == b.kind && syntax == b.syntax
                && space == b.space && Objects.equals(label, b.label) && Objects.equals(normalized, b.normalized)
                && Objects.equals(pixels, b.pixels) && Arrays.equals(modelCoordinates, b.modelCoordinates)
                && Arrays.equals(quadNormalized, b.quadNormalized) && Arrays.equals(quadPixels, b.quadPixels);
    }

    @Override
    public int hashCode() {
        return Objects.hash(label, imageIndex, kind, syntax, space, normalized, pixels)
                + 31 * Arrays.hashCode(modelCoordinates) + 17 * Arrays.hashCode(quadNormalized);
    }

    @Override
    public String toString() {
        return "GroundingBox[label=" + label + ", image=" + imageIndex + ", " + kind + ", " + syntax + ", " + space
                + ", model=" + Arrays.toString(modelCoordinates) + ", normalized=" + normalized + ", pixels=" + pixels
                + (quadNormalized == null ? "" : ", quad=" + Arrays.toString(quadNormalized)) + "]";
    }
}
