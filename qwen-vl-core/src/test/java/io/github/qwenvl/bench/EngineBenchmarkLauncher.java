package io.github.qwenvl.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Runs {@link EngineBenchmark} inside Surefire's forked JVM, so it gets exactly the test suites' JVM and DJL
 * settings (heap, offline mode, DJL cache, OPT_OUT_TRACKING, fixture root) and needs no extra Maven plugin:
 *
 * <pre>
 * mvn -o -q -pl qwen-vl-core test -Dtest=EngineBenchmarkLauncher -Dqwenvl.bench.model=qwen2-vl-2b
 * </pre>
 *
 * Skipped unless {@code qwenvl.bench.model} is set; its name matches none of Surefire's default includes, so
 * a plain {@code mvn test} never selects it anyway.
 */
class EngineBenchmarkLauncher {

    @Test
    @EnabledIfSystemProperty(named = "qwenvl.bench.model", matches = ".+")
    void benchmark() {
        String model = System.getProperty("qwenvl.bench.model");
        EngineBenchmark.Settings settings = EngineBenchmark.Settings.fromSystemProperties(model);
        EngineBenchmark.Report report = EngineBenchmark.run(settings, System.out);
        EngineBenchmark.print(report, System.out);
        EngineBenchmark.appendJson(report, settings.results());
        System.out.println("appended to " + settings.results());
    }
}
