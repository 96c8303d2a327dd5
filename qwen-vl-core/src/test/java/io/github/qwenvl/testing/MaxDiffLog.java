package io.github.qwenvl.testing;

import java.util.Map;
import java.util.TreeMap;

/** Collects the max |Δ| per check kind, printed at JVM exit so a run reports what it measured. */
public final class MaxDiffLog {

    private static final Map<String, Double> MAX = new TreeMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(MaxDiffLog::print));
    }

    private MaxDiffLog() {
    }

    /** Records a diff under the kind (the part of {@code what} before the first ':' or '[' ). */
    public static synchronized void record(String what, double diff) {
        String kind = what.split("[\\[:]", 2)[0].trim();
        MAX.merge(kind, diff, Math::max);
    }

    private static synchronized void print() {
        if (!MAX.isEmpty()) {
            StringBuilder sb = new StringBuilder("\n[golden max |Δ| per kind]\n");
            MAX.forEach((k, v) -> sb.append(String.format("  %-40s %.3e%n", k, v)));
            System.out.print(sb);
        }
    }
}
