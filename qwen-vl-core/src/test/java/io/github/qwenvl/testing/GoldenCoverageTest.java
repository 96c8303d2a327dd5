package io.github.qwenvl.testing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The golden root's contract: the golden suites run whatever sets the root holds (a family absent from it is no
 * error for its suites), and every set of the root is run by at least one registered suite, so an empty root, a
 * misnamed one or a set of an architecture without a suite fails here.
 */
class GoldenCoverageTest {

    @TempDir
    Path temp;

    @Test
    void everySetOfTheGoldenRootIsRunBySomeSuite() {
        Path root = FixtureRoot.root();
        Map<String, List<String>> coverage = GoldenCoverage.coverage(root);
        System.out.println("[golden coverage of " + root + "]");
        coverage.forEach((set, suites) -> System.out.println("  " + set + ": " + String.join(", ", suites)));
        List<String> unrun = FixtureRoot.sets(root).stream().filter(s -> coverage.get(s.name()).isEmpty())
                .map(GoldenCoverage::describe).toList();
        assertThat(unrun).as("sets of %s that no golden suite of %s runs (an architecture without a golden suite, or a"
                + " manifest no suite recognises)", root, GoldenCoverage.REGISTRY).isEmpty();
    }

    @Test
    void anEmptyRootFails() {
        assertThatThrownBy(() -> GoldenCoverage.coverage(temp)).hasMessageContaining("holds no set");
    }

    @Test
    void aMisnamedRootFails() {
        String saved = System.getProperty("qwenvl.fixtures");
        System.setProperty("qwenvl.fixtures", temp.resolve("no-such-folder").toString());
        try {
            assertThatThrownBy(FixtureRoot::root).hasMessageContaining("does not exist");
        } finally {
            System.setProperty("qwenvl.fixtures", saved);
        }
    }

    @Test
    void aSetOfAnArchitectureWithoutSuiteIsReportedWithItsModelType() throws IOException {
        Path goldens = Files.createDirectories(temp.resolve("qwen9-vl-tiny").resolve("goldens"));
        Files.writeString(goldens.resolve("manifest.json"), "{\"model\": \"qwen9-vl-tiny\", \"model_dir\": \"qwen9-vl-tiny/model\","
                + " \"config_summary\": {\"model_type\": \"qwen9_vl\"}, \"cases\": {}}");
        Map<String, List<String>> coverage = GoldenCoverage.coverage(temp);
        assertThat(coverage).containsOnlyKeys("qwen9-vl-tiny");
        assertThat(coverage.get("qwen9-vl-tiny")).isEmpty();
        assertThat(GoldenCoverage.describe(FixtureRoot.sets(temp).get(0)))
                .isEqualTo("qwen9-vl-tiny (qwen9-vl-tiny/goldens/manifest.json, model_type qwen9_vl)");
    }

    /** Roots of one family (links to the bundled folders): each set is still run, with no help from the others. */
    @Test
    void oneFamilyRootsAreCovered() throws IOException {
        Path bundled = FixtureRoot.bundled();
        Map<String, List<String>> families = Map.of(
                "qwen2", List.of("qwen2-vl-common", "qwen2-vl-tiny", "qwen2_5-vl-tiny", "tokenizer-qwen2"),
                "qwen-vl", List.of("qwen-vl-tiny", "tokenizer-qwen-vl"),
                "tokenizers", List.of("tokenizer-qwen2", "tokenizer-qwen-vl"));
        for (Map.Entry<String, List<String>> family : families.entrySet()) {
            Path root = Files.createDirectories(temp.resolve(family.getKey()));
            for (String set : family.getValue()) {
                Files.createSymbolicLink(root.resolve(set), bundled.resolve(set));
            }
            Map<String, List<String>> coverage;
            try {
                coverage = GoldenCoverage.coverage(root);
            } finally {
                for (String set : family.getValue()) {
                    Files.delete(root.resolve(set)); // the link, before @TempDir's cleanup warns about it
                }
            }
            assertThat(coverage.entrySet().stream().filter(e -> e.getValue().isEmpty()).map(Map.Entry::getKey)
                    .collect(Collectors.toList())).as(family.getKey()).isEmpty();
            assertThat(coverage.keySet()).as(family.getKey())
                    .containsExactlyElementsOf(family.getValue().stream().filter(s -> !s.endsWith("-common")).sorted().toList());
        }
    }
}
