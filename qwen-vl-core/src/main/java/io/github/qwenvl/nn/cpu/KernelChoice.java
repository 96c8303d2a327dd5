package io.github.qwenvl.nn.cpu;

/** Picks the kernels once: the Vector API ones when {@code jdk.incubator.vector} is in the boot layer. */
final class KernelChoice {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KernelChoice.class);

    /** System property: "scalar" forces the plain-Java kernels (for comparisons). */
    static final String PROPERTY = "qwenvl.decode.kernels";

    static final Kernels BEST = choose();

    private KernelChoice() {
    }

    private static Kernels choose() {
        if ("scalar".equalsIgnoreCase(System.getProperty(PROPERTY, ""))) {
            LOG.info("Java decode kernels: scalar (forced by -D{}=scalar)", PROPERTY);
            return ScalarKernels.INSTANCE;
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            LOG.info("Java decode kernels: scalar; the Vector API module is not enabled (start the JVM with"
                    + " --add-modules jdk.incubator.vector for SIMD kernels)");
            return ScalarKernels.INSTANCE;
        }
        try {
            Kernels k = (Kernels) Class.forName("io.github.qwenvl.nn.cpu.VectorKernels")
                    .getDeclaredField("INSTANCE").get(null);
            LOG.info("Java decode kernels: {}", k.name());
            return k;
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            LOG.warn("Java decode kernels: scalar; the Vector API kernels did not load ({})", e.toString());
            return ScalarKernels.INSTANCE;
        }
    }
}
