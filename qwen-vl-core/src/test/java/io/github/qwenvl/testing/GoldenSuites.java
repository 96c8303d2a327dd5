package io.github.qwenvl.testing;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.util.List;
import java.util.Locale;

/**
 * Runs the golden suites with a plain {@code java} command, without Maven: for a machine that has a JRE and the
 * test class path but no build tool (a CUDA box: {@code -Dqwenvl.test.device=gpu}, see {@link TestDevice}), and
 * against any fixture root ({@code -Dqwenvl.fixtures=<root>}). Prints one line per failed test (its first message
 * line) and the counts; exits 1 when a test failed.
 *
 * <pre>java --add-modules jdk.incubator.vector -Dqwenvl.fixtures=fixtures -cp &lt;test class path&gt;
 *     io.github.qwenvl.testing.GoldenSuites [class names; default: the golden suites]</pre>
 */
public final class GoldenSuites {

    /** The suites that compare the engine's numbers with the reference implementations'. */
    static final List<String> GOLDEN = List.of(
            "io.github.qwenvl.qwen2vl.VisionTowerGoldenTest",
            "io.github.qwenvl.qwen2vl.RopeIndexGoldenTest",
            "io.github.qwenvl.qwen2vl.LogitsGoldenTest",
            "io.github.qwenvl.qwen2vl.GenerationGoldenTest",
            "io.github.qwenvl.qwenvl.QwenVlModelGoldenTest",
            // every set of the root is run by some golden suite
            "io.github.qwenvl.testing.GoldenCoverageTest");

    private GoldenSuites() {
    }

    public static void main(String[] args) {
        List<String> classes = args.length > 0 ? List.of(args) : GOLDEN;
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String c : classes) {
            request.selectors(DiscoverySelectors.selectClass(c));
        }
        LauncherDiscoveryRequest discovery = request.build();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        TestExecutionListener failures = new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest() && result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    String message = result.getThrowable().map(t -> String.valueOf(t.getMessage())).orElse("");
                    message = message.strip().replaceAll("\\s+", " ");
                    System.out.printf(Locale.ROOT, "FAILED %s: %s%n", id.getDisplayName(),
                            message.length() > 400 ? message.substring(0, 400) + " ..." : message);
                }
            }
        };
        Launcher launcher = LauncherFactory.create();
        launcher.execute(discovery, summary, failures);
        TestExecutionSummary s = summary.getSummary();
        System.out.printf(Locale.ROOT, "golden suites (device %s, matrices %s): %d tests, %d passed, %d failed, %d aborted,"
                        + " %d skipped, %.1f s%n", System.getProperty("qwenvl.test.device", "cpu"),
                System.getProperty("qwenvl.test.precision", "float32"), s.getTestsFoundCount(),
                s.getTestsSucceededCount(), s.getTestsFailedCount(), s.getTestsAbortedCount(), s.getTestsSkippedCount(),
                (s.getTimeFinished() - s.getTimeStarted()) / 1000.0);
        System.exit(s.getTotalFailureCount() == 0 && s.getTestsFoundCount() > 0 ? 0 : 1);
    }
}
