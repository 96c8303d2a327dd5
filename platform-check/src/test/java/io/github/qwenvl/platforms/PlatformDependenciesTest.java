package io.github.qwenvl.platforms;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What Maven resolves for an application that adds the starter, on every platform that
 * {@code ai.djl.pytorch:pytorch-native-cpu} is published for, checked from a Linux x86-64 build.
 *
 * <p>Each check runs a separate Maven on a consumer project that depends on the starter as a published
 * artifact: the project's POMs are staged in a local repository under {@code target/}, everything else comes from
 * the build's own local repository. Maven picks a profile by {@code os.name} and {@code os.arch} of the JVM it runs
 * in, so the child Maven runs with those system properties set to another platform's values. Windows cannot be
 * imitated this way (Maven's console library then loads Windows-only native code); for it the test resolves the
 * classifier through the documented override instead.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PlatformDependenciesTest {

    private static final String NATIVE = "ai.djl.pytorch:pytorch-native-cpu";
    private static final String[] CLASSIFIERS = {"linux-x86_64", "linux-aarch64", "osx-aarch64", "win-x86_64"};

    private static Path root;
    private static Path work;
    private static Path stagingRepo;
    private static Path settings;
    private static String version;
    private static String pytorchVersion;
    private static String dependencyPlugin;
    private static Path userRepo;

    @BeforeAll
    static void stage() throws IOException {
        root = Path.of(property("platforms.project-root"));
        version = property("platforms.project-version");
        pytorchVersion = property("platforms.pytorch-version");
        dependencyPlugin = property("platforms.dependency-plugin");
        userRepo = Path.of(property("platforms.user-repository"));
        work = root.resolve("platform-check/target/platform-check");
        deleteTree(work);
        stagingRepo = work.resolve("repo");
        stagePom(root.resolve("pom.xml"), "qwen-vl-parent");
        stagePom(root.resolve("qwen-vl-core/pom.xml"), "qwen-vl-core");
        stagePom(root.resolve("qwen-vl-spring-boot-starter/pom.xml"), "qwen-vl-spring-boot-starter");
        settings = work.resolve("settings.xml");
        String userRepoUrl = userRepo.toUri().toString();
        Files.writeString(settings, """
                <settings>
                  <profiles>
                    <profile>
                      <id>build-repository</id>
                      <repositories>
                        <repository><id>build-repository</id><url>%1$s</url></repository>
                      </repositories>
                      <pluginRepositories>
                        <pluginRepository><id>build-repository</id><url>%1$s</url></pluginRepository>
                      </pluginRepositories>
                    </profile>
                  </profiles>
                  <activeProfiles><activeProfile>build-repository</activeProfile></activeProfiles>
                </settings>
                """.formatted(userRepoUrl));
    }

    /**
     * Every classifier the profiles choose is served by Maven Central for the pinned libtorch version. Runs first:
     * it also brings the dependency plugin into the build's local repository, which the other checks read (a Maven
     * that believes it runs on another operating system cannot open network connections).
     */
    @Test
    @Order(1)
    void everyPlatformsLibtorchResolves() throws Exception {
        StringBuilder deps = new StringBuilder();
        for (String classifier : CLASSIFIERS) {
            deps.append("""
                    <dependency>
                      <groupId>ai.djl.pytorch</groupId><artifactId>pytorch-native-cpu</artifactId>
                      <version>%s</version><classifier>%s</classifier>
                    </dependency>
                    """.formatted(pytorchVersion, classifier));
        }
        Path project = consumer("all-classifiers", deps.toString());
        // released artifacts only: resolved into (and, once there, reused from) the build's own local repository
        run(project, Map.of(), userRepo, null, dependencyPlugin + ":resolve",
                "-DincludeArtifactIds=pytorch-native-cpu", "-DoutputFile=" + project.resolve("resolved.txt"));
        String resolved = Files.readString(project.resolve("resolved.txt"));
        for (String classifier : CLASSIFIERS) {
            assertThat(resolved).contains(NATIVE + ":jar:" + classifier + ":" + pytorchVersion);
            assertThat(userRepo.resolve("ai/djl/pytorch/pytorch-native-cpu/" + pytorchVersion
                    + "/pytorch-native-cpu-" + pytorchVersion + "-" + classifier + ".jar")).isRegularFile();
        }
    }

    /**
     * The other native code the engine loads comes in platform-independent jars that must hold every platform's
     * library: DJL's JNI bridge to libtorch and the Hugging Face tokenizers.
     */
    @Test
    void theJniAndTokenizerJarsHoldEveryPlatformsLibrary() throws IOException {
        String djl = property("platforms.djl-version");
        Path jni = userRepo.resolve("ai/djl/pytorch/pytorch-jni/" + pytorchVersion + "-" + djl + "/pytorch-jni-"
                + pytorchVersion + "-" + djl + ".jar");
        Path tokenizers = userRepo.resolve("ai/djl/huggingface/tokenizers/" + djl + "/tokenizers-" + djl + ".jar");
        for (String classifier : CLASSIFIERS) {
            assertThat(entries(jni)).as(jni + " for " + classifier)
                    .anyMatch(e -> e.startsWith("jnilib/" + classifier + "/cpu/") && e.contains("djl_torch."));
            assertThat(entries(tokenizers)).as(tokenizers + " for " + classifier)
                    .anyMatch(e -> e.startsWith("native/lib/" + classifier + "/cpu/") && e.contains("tokenizers."));
        }
    }

    private static List<String> entries(Path jar) throws IOException {
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile())) {
            return zip.stream().map(java.util.zip.ZipEntry::getName).toList();
        }
    }

    /** An application that adds the starter gets the libtorch of the machine Maven runs on. */
    @ParameterizedTest(name = "os.name={0}, os.arch={1} -> {2}")
    @CsvSource({
            "Linux, amd64, linux-x86_64",
            "Linux, aarch64, linux-aarch64",
            "Mac, aarch64, osx-aarch64",
    })
    void theStarterBringsTheMachinesLibtorch(String osName, String osArch, String classifier) throws Exception {
        Path project = consumer("starter-on-" + classifier, starterDependency(""));
        String tree = tree(project, Map.of("MAVEN_OPTS", "-Dos.name=" + osName + " -Dos.arch=" + osArch));
        assertThat(tree).contains(NATIVE + ":jar:" + classifier + ":" + pytorchVersion);
        assertThat(tree.lines().filter(l -> l.contains(NATIVE))).hasSize(1);
    }

    /** The documented override: exclude the chosen libtorch, add another classifier (here Windows'). */
    @Test
    void anotherClassifierReplacesTheChosenOne() throws Exception {
        Path project = consumer("override-win-x86_64", starterDependency("""
                <exclusions>
                  <exclusion><groupId>ai.djl.pytorch</groupId><artifactId>pytorch-native-cpu</artifactId></exclusion>
                </exclusions>
                """) + """
                <dependency>
                  <groupId>ai.djl.pytorch</groupId><artifactId>pytorch-native-cpu</artifactId>
                  <version>%s</version><classifier>win-x86_64</classifier><scope>runtime</scope>
                </dependency>
                """.formatted(pytorchVersion));
        String tree = tree(project, Map.of("MAVEN_OPTS", "-Dos.name=Linux -Dos.arch=amd64"));
        assertThat(tree).contains(NATIVE + ":jar:win-x86_64:" + pytorchVersion);
        assertThat(tree.lines().filter(l -> l.contains(NATIVE))).hasSize(1);
    }

    private static String starterDependency(String exclusions) {
        return """
                <dependency>
                  <groupId>io.github.qwenvl</groupId><artifactId>qwen-vl-spring-boot-starter</artifactId>
                  <version>%s</version>
                  %s
                </dependency>
                """.formatted(version, exclusions);
    }

    private static String tree(Path project, Map<String, String> env) throws Exception {
        Path out = project.resolve("tree.txt");
        run(project, env, stagingRepo, settings, dependencyPlugin + ":tree", "-Dincludes=" + NATIVE,
                "-DoutputFile=" + out);
        return Files.readString(out);
    }

    private static Path consumer(String name, String dependencies) throws IOException {
        Path dir = work.resolve(name);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("pom.xml"), """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <groupId>example</groupId>
                  <artifactId>%s</artifactId>
                  <version>1</version>
                  <dependencies>
                %s
                  </dependencies>
                </project>
                """.formatted(name, dependencies));
        return dir;
    }

    private static void run(Path project, Map<String, String> env, Path localRepo, Path settingsFile, String... goals)
            throws Exception {
        boolean windows = System.getProperty("os.name").toLowerCase().contains("win");
        Path mvn = Path.of(property("maven.home"), "bin", windows ? "mvn.cmd" : "mvn");
        List<String> command = new ArrayList<>(List.of(mvn.toString(), "-B", "-q", "-f",
                project.resolve("pom.xml").toString(), "-Dmaven.repo.local=" + localRepo));
        if (settingsFile != null) {
            command.add("-s");
            command.add(settingsFile.toString());
        }
        command.addAll(List.of(goals));
        Path log = project.resolve("maven.log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(project.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().remove("MAVEN_OPTS");
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("Maven did not finish in 10 minutes: " + command);
        }
        if (p.exitValue() != 0) {
            String output = Files.readString(log, StandardCharsets.UTF_8);
            throw new AssertionError("Maven failed (" + p.exitValue() + "): " + String.join(" ", command) + " with "
                    + env + "\n" + output.substring(Math.max(0, output.length() - 6000)));
        }
    }

    private static void stagePom(Path pom, String artifactId) throws IOException {
        Path dir = stagingRepo.resolve("io/github/qwenvl/" + artifactId + "/" + version);
        Files.createDirectories(dir);
        Files.copy(pom, dir.resolve(artifactId + "-" + version + ".pom"));
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        assertThat(value).as("system property " + name + " (set by this module's POM)").isNotBlank();
        return value;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
