package io.github.qwenvl.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Runs {@link Bf16MatmulBench} in Surefire's forked JVM (as {@link EngineBenchmarkLauncher} does):
 *
 * <pre>
 * mvn -o -q -pl qwen-vl-core test -Dtest=Bf16MatmulBenchLauncher -Dqwenvl.bench.model=qwen2-vl-2b
 * </pre>
 *
 * ({@code -Dqwenvl.bench.model=none}: the kernel comparison only.) Skipped unless {@code qwenvl.bench.model} is set.
 */
class Bf16MatmulBenchLauncher {

    @Test
    @EnabledIfSystemProperty(named = "qwenvl.bench.model", matches = ".+")
    void benchmark() {
        Bf16MatmulBench.run(System.getProperty("qwenvl.bench.model"), System.out);
    }
}
