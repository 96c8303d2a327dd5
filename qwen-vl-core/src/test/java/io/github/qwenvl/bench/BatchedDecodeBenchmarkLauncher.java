package io.github.qwenvl.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Runs {@link BatchedDecodeBenchmark} inside Surefire's forked JVM (the suites' JVM flags, DJL offline settings and
 * fixture root):
 *
 * <pre>
 * mvn -o -q -pl qwen-vl-core test -Dtest=BatchedDecodeBenchmarkLauncher -Dqwenvl.bench.batched=decode
 * mvn -o -q -pl qwen-vl-core test -Dtest=BatchedDecodeBenchmarkLauncher -Dqwenvl.bench.batched=kernels
 * </pre>
 *
 * Skipped unless {@code qwenvl.bench.batched} is set; its name matches none of Surefire's default includes.
 */
class BatchedDecodeBenchmarkLauncher {

    @Test
    @EnabledIfSystemProperty(named = "qwenvl.bench.batched", matches = ".+")
    void benchmark() throws Exception {
        BatchedDecodeBenchmark.run(System.getProperty("qwenvl.bench.batched"), System.out);
    }
}
