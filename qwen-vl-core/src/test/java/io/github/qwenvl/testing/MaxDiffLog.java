package io.github.qwenvl.testing;

import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestPlan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects the max |Δ| per check kind over a test run and reports it when the run ends (console and
 * {@code target/golden-max-diff.txt}), so every run says how close it came to the goldens. Registered
 * as a JUnit Platform listener in {@code META-INF/services}.
 */
public final class MaxDiffLog implements TestExecutionListener {

    private static final Map<String, Double> MAX = new TreeMap<>();
    private static final Map<String, Double> MAX_RELATIVE = new TreeMap<>();

    /** Records a diff under the kind (the part of {@code what} before the first ':' or '['). */
    public static synchronized void record(String what, double diff) {
        String kind = what.split("[\\[:]", 2)[0].trim();
        MAX.merge(kind, diff, Math::max);
    }

    /** Records a diff and the same diff over max(1, max|golden|), the scale the tolerances use. */
    public static synchronized void record(String what, double diff, double relative) {
        record(what, diff);
        MAX_RELATIVE.merge(what.split("[\\[:]", 2)[0].trim(), relative, Math::max);
    }

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        String report = report();
        if (report.isEmpty()) {
            return;
        }
        System.out.print(report);
        try {
            Path out = Path.of("target", "golden-max-diff.txt");
            Files.createDirectories(out.getParent());
            Files.writeString(out, report);
        } catch (IOException ignored) {
            // the console copy is enough
        }
    }

    static synchronized String report() {
        if (MAX.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder("\n[golden max |Δ| per kind, fixtures " + System.getProperty("qwenvl.fixtures")
                + "]\n  kind                                       max |Δ|   max |Δ| / max(1, max|golden|)\n");
        MAX.forEach((k, v) -> sb.append(String.format("  %-40s %.3e   %s%n", k, v,
                MAX_RELATIVE.containsKey(k) ? String.format("%.3e", MAX_RELATIVE.get(k)) : "")));
        return sb.toString();
    }
}
