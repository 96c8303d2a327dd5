package io.github.qwenvl.engine;

import io.github.qwenvl.config.ModelArchitecture;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The registry of architectures: every {@link ArchitectureSupport} on the class path
 * ({@link ServiceLoader}), loaded once.
 */
public final class Architectures {

    private static volatile List<ArchitectureSupport> supports;

    private Architectures() {
    }

    /** Every registered provider. */
    public static List<ArchitectureSupport> supports() {
        List<ArchitectureSupport> s = supports;
        if (s == null) {
            synchronized (Architectures.class) {
                if (supports == null) {
                    List<ArchitectureSupport> found = new ArrayList<>();
                    ServiceLoader.load(ArchitectureSupport.class, Architectures.class.getClassLoader()).forEach(found::add);
                    supports = List.copyOf(found);
                }
                s = supports;
            }
        }
        return s;
    }

    /** Every registered architecture. */
    public static List<ModelArchitecture> all() {
        List<ModelArchitecture> all = new ArrayList<>();
        for (ArchitectureSupport s : supports()) {
            all.addAll(s.architectures());
        }
        return List.copyOf(all);
    }

    /** The provider that runs {@code architecture}. */
    public static ArchitectureSupport supportOf(ModelArchitecture architecture) {
        for (ArchitectureSupport s : supports()) {
            if (s.architectures().contains(architecture)) {
                return s;
            }
        }
        throw new IllegalStateException("No ArchitectureSupport registers " + architecture);
    }
}
