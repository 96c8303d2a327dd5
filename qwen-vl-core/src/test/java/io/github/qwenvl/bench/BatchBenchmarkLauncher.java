package io.github.qwenvl.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs {@link BatchBenchmark} inside Surefire's forked JVM (the test suites' heap, Vector API and DJL settings):
 *
 * <pre>
 * mvn -B -o -q -pl qwen-vl-core test -Dtest=BatchBenchmarkLauncher -Dqwenvl.bench.batchRun=true
 * </pre>
 *
 * Skipped unless {@code qwenvl.bench.batchRun} is set; its name matches none of Surefire's default includes, so a
 * plain {@code mvn test} never selects it anyway.
 */
class BatchBenchmarkLauncher {

    @Test
    @EnabledIfSystemProperty(named = "qwenvl.bench.batchRun", matches = "true")
    void benchmark() throws Exception {
        String dir = System.getProperty("qwenvl.bench.modelDir");
        assertThat(BatchBenchmark.run(dir == null || dir.isBlank() ? new String[0] : new String[] {dir})).isZero();
    }
}
