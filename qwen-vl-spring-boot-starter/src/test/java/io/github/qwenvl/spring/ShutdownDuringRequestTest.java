package io.github.qwenvl.spring;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Closing the application context while a request is inside the vision tower ends the request with a shutdown
 * cancellation and the JVM cleanly: in a forked JVM, since a native crash would take the test's JVM with it.
 */
class ShutdownDuringRequestTest {

    @Test
    void closingTheContextDuringTheVisionTowerExitsCleanly(@TempDir Path dir) throws Exception {
        Path image = TinyModels.images().stream().filter(p -> p.getFileName().toString().startsWith("photo_640x480."))
                .findFirst().orElseThrow();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-D") || arg.startsWith("--add-modules") || arg.startsWith("-Xmx")) {
                command.add(arg);
            }
        }
        command.add("-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ShutdownDuringRequestMain.class.getName());
        command.add(TinyModels.qwen25vl().toString());
        command.add(image.toString());
        Path log = dir.resolve("out.log");
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean exited = process.waitFor(300, TimeUnit.SECONDS);
        if (!exited) {
            process.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(exited).as(output).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("vision block 0", "CLEAN SHUTDOWN")
                .doesNotContain("NDManager has been closed", "SIGSEGV", "A fatal error");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("hs_err"));
        }
        assertThat(new File(dir.toFile(), "out.log")).exists();
    }
}
