package com.example.newcomer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every {@code ```java} block of the README and of {@code docs/*.md} is the text of a class of this application
 * (after its {@code package} line), so it compiles, and the tests that use it run it. A snippet edited in the
 * markdown without the same edit here (or the other way round) fails this test.
 */
class DocumentationSnippetsTest {

    static final Path ROOT = Path.of("../..");
    static final Path MODULE = Path.of(".");

    record Snippet(Path file, int line, String code) {
    }

    @Test
    void everyJavaSnippetOfTheDocsIsASourceFileOfThisApplication() throws IOException {
        List<String> sources = new ArrayList<>();
        for (Path dir : List.of(MODULE.resolve("src/main/java"), MODULE.resolve("src/test/java"))) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    sources.add(normalize(withoutPackage(Files.readString(f))));
                }
            }
        }
        List<Snippet> snippets = snippets();
        assertThat(snippets).as("java snippets in README.md and docs/").hasSizeGreaterThanOrEqualTo(5);
        List<String> missing = new ArrayList<>();
        for (Snippet s : snippets) {
            if (!sources.contains(normalize(s.code()))) {
                missing.add(ROOT.relativize(s.file()) + ":" + s.line());
            }
        }
        assertThat(missing).as("""
                These ```java blocks are not, verbatim, the text of a source file of samples/newcomer-app after its \
                package line. Give each its imports and make it a complete class, then put it into \
                samples/newcomer-app/src/main/java/com/example/newcomer/ (or src/test/java for a test) as \
                "package com.example.newcomer;", an empty line and the block; or edit the block and the file the \
                same way""").isEmpty();
    }

    static List<Snippet> snippets() throws IOException {
        List<Path> pages = new ArrayList<>();
        pages.add(ROOT.resolve("README.md"));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        List<Snippet> snippets = new ArrayList<>();
        for (Path page : pages) {
            List<String> lines = Files.readAllLines(page);
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).strip().equals("```java")) {
                    int start = i + 1;
                    StringBuilder code = new StringBuilder();
                    for (i = start; i < lines.size() && !lines.get(i).strip().equals("```"); i++) {
                        code.append(lines.get(i)).append('\n');
                    }
                    snippets.add(new Snippet(page, start, code.toString()));
                }
            }
        }
        return snippets;
    }

    static String withoutPackage(String source) {
        return source.replaceFirst("^\\s*package [\\w.]+;\\s*\\n", "");
    }

    /** Line ends and trailing spaces do not count, nor blank lines around the code. */
    static String normalize(String code) {
        return code.replace("\r\n", "\n").lines().map(String::stripTrailing)
                .reduce((a, b) -> a + "\n" + b).orElse("").strip();
    }
}
