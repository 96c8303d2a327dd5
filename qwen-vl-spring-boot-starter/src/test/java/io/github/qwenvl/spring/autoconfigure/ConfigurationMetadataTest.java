package io.github.qwenvl.spring.autoconfigure;

import org.junit.jupiter.api.Test;
import org.springframework.beans.BeanWrapperImpl;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.core.convert.ConversionService;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The starter's configuration metadata (what IDEs complete and docs/configuration.md lists) is complete: every
 * property has a description, and its default is the one {@link QwenVlProperties} really starts with.
 */
class ConfigurationMetadataTest {

    private static JsonNode metadata() throws Exception {
        try (InputStream in = QwenVlProperties.class.getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("spring-configuration-metadata.json on the class path").isNotNull();
            return JsonMapper.builder().build().readTree(in);
        }
    }

    @Test
    void everyPropertyHasADescriptionAndItsRealDefault() throws Exception {
        ConversionService conversion = ApplicationConversionService.getSharedInstance();
        List<String> problems = new ArrayList<>();
        QwenVlProperties fresh = new QwenVlProperties();
        for (JsonNode p : metadata().get("properties")) {
            String name = p.get("name").asString();
            if (!p.hasNonNull("description") || p.get("description").asString().isBlank()) {
                problems.add(name + ": no description");
            }
            Object javaDefault = javaDefault(fresh, name);
            if (javaDefault instanceof Collection<?> c && c.isEmpty()) {
                javaDefault = null;
            }
            JsonNode declared = p.get("defaultValue");
            if (javaDefault == null) {
                if (declared != null && !declared.isNull()) {
                    problems.add(name + ": metadata default " + declared + " but none in QwenVlProperties");
                }
            } else if (declared == null || declared.isNull()) {
                problems.add(name + ": default " + javaDefault + " missing from the metadata");
            } else {
                Object converted = conversion.convert(declared.asString(), javaDefault.getClass());
                if (!javaDefault.equals(converted)) {
                    problems.add(name + ": metadata default " + declared + " != " + javaDefault);
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void propertiesAreGroupedByConcern() throws Exception {
        Set<String> names = new TreeSet<>();
        for (JsonNode p : metadata().get("properties")) {
            names.add(p.get("name").asString().substring(QwenVlProperties.PREFIX.length() + 1));
        }
        for (String name : names) {
            assertThat(name).as("a spring.ai.qwen-vl property outside its groups")
                    .matches("model|backend|(hub|runtime|serving|media|remote|chat\\.options)\\.[a-z0-9.-]+");
        }
        assertThat(names).contains("hub.offline", "runtime.device", "serving.max-concurrent-requests", "serving.max-batch-size",
                "media.allowed-hosts", "chat.options.temperature");
    }

    /** The value a fresh {@link QwenVlProperties} holds for {@code spring.ai.qwen-vl.a.b-c}: getters a, then bC. */
    private static Object javaDefault(Object root, String name) {
        Object current = root;
        for (String segment : name.substring(QwenVlProperties.PREFIX.length() + 1).split("\\.")) {
            if (current == null) {
                return null;
            }
            current = new BeanWrapperImpl(current).getPropertyValue(camel(segment));
        }
        return current;
    }

    private static String camel(String kebab) {
        StringBuilder b = new StringBuilder();
        boolean upper = false;
        for (char c : kebab.toCharArray()) {
            if (c == '-') {
                upper = true;
            } else {
                b.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        return b.toString();
    }
}
