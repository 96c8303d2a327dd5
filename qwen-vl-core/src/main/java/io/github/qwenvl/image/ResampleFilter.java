package io.github.qwenvl.image;

/**
 * A separable resampling kernel as Pillow defines it ({@code struct filter} in libImaging/Resample.c): a
 * weight function and its support at scale 1. When downscaling, the support is widened by the scale
 * factor (antialiasing).
 */
public interface ResampleFilter {

    /** Kernel radius at scale 1 (2 for bicubic). */
    double support();

    /** Kernel weight at distance {@code x} (in source pixels, already divided by the filter scale). */
    double weight(double x);

    /** Pillow's BICUBIC: Keys' cubic convolution with a = −0.5; same expression order as Pillow. */
    ResampleFilter BICUBIC = new ResampleFilter() {
        @Override
        public double support() {
            return 2.0;
        }

        @Override
        public double weight(double x) {
            final double a = -0.5;
            if (x < 0.0) {
                x = -x;
            }
            if (x < 1.0) {
                return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            }
            if (x < 2.0) {
                return (((x - 5) * x + 8) * x - 4) * a;
            }
            return 0.0;
        }

        @Override
        public String toString() {
            return "BICUBIC";
        }
    };

    /** Pillow's BILINEAR (triangle). */
    ResampleFilter BILINEAR = new ResampleFilter() {
        @Override
        public double support() {
            return 1.0;
        }

        @Override
        public double weight(double x) {
            if (x < 0.0) {
                x = -x;
            }
            return x < 1.0 ? 1.0 - x : 0.0;
        }

        @Override
        public String toString() {
            return "BILINEAR";
        }
    };

    /** Pillow's BOX. */
    ResampleFilter BOX = new ResampleFilter() {
        @Override
        public double support() {
            return 0.5;
        }

        @Override
        public double weight(double x) {
            return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
        }

        @Override
        public String toString() {
            return "BOX";
        }
    };
}
