package io.github.qwenvl.nn.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * {@link KernelsTest} and {@link BatchedKernelsTest} at the vector widths of other CPUs: 128-bit lanes (ARM NEON, as on Apple silicon and most
 * aarch64 servers; x86 with SSE only) and 256-bit lanes (AVX2; aarch64 with 256-bit SVE), each in a JVM started
 * with {@code -XX:MaxVectorSize}, which is what {@code SPECIES_PREFERRED} follows. The Surefire JVM itself runs
 * the machine's own width.
 */
class KernelsVectorWidthsTest {

    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {128, 256})
    void kernelsMatchTheReferenceAtThisWidth(int bits) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path log = Files.createTempFile("kernels-" + bits, ".log");
        try {
            Process p = new ProcessBuilder(java.toString(), "-XX:MaxVectorSize=" + (bits / 8),
                    "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                    KernelsVectorWidthsTest.class.getName())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("child JVM finished").isTrue();
            String output = Files.readString(log, StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as(output).isZero();
            assertThat(output).contains("kernels: vector (" + bits + "-bit, " + bits / 32 + " float lanes)")
                    .contains("tests failed: 0").doesNotContain("tests succeeded: 0");
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Runs {@link KernelsTest} and {@link BatchedKernelsTest} in this JVM and exits with 1 when a test failed. */
    public static void main(String[] args) {
        System.out.println("kernels: " + Kernels.get().name());
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(KernelsTest.class), selectClass(BatchedKernelsTest.class)).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary summary = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        summary.printFailuresTo(out, 20);
        out.println("tests succeeded: " + summary.getTestsSucceededCount());
        out.println("tests failed: " + summary.getTotalFailureCount());
        System.exit(summary.getTotalFailureCount() == 0 && summary.getTestsSucceededCount() > 0 ? 0 : 1);
    }
}
