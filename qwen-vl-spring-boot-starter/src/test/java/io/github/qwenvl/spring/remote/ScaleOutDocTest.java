package io.github.qwenvl.spring.remote;

import io.github.qwenvl.spring.TinyModels;
import io.github.qwenvl.spring.autoconfigure.QwenVlAutoConfiguration;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every {@code properties} block of docs/scale-out.md starts the starter and sends one call to a loopback server
 * standing in for the server it names: the base URLs are replaced by the loopback one and the checkpoint by the tiny
 * Qwen2.5-VL fixture; the rest is used as written.
 */
class ScaleOutDocTest {

    private static final Pattern BLOCK = Pattern.compile("```properties\\n(.*?)```", Pattern.DOTALL);

    @Test
    void everyDocumentedPropertiesBlockStartsAndCalls() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "scale-out.md"));
        Matcher m = BLOCK.matcher(doc);
        int blocks = 0;
        while (m.find()) {
            Map<String, String> props = new LinkedHashMap<>();
            for (String line : m.group(1).split("\\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    int eq = line.indexOf('=');
                    props.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
                }
            }
            run(props);
            blocks++;
        }
        assertThat(blocks).isEqualTo(5);
    }

    private void run(Map<String, String> documented) throws Exception {
        try (ReplayServer server = new ReplayServer().serving("the-only-model")) {
            server.on("/v1/chat/completions", ReplayServer.Answer.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\","
                    + "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                    + "\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"total_tokens\":4,"
                    + "\"completion_tokens\":1}}"));
            List<String> values = new ArrayList<>();
            int urls = documented.get("spring.ai.qwen-vl.remote.base-url").split(",").length;
            for (Map.Entry<String, String> e : documented.entrySet()) {
                String value = switch (e.getKey()) {
                    case "spring.ai.qwen-vl.model" -> TinyModels.qwen25vl().toString();
                    case "spring.ai.qwen-vl.remote.base-url" -> String.join(",", java.util.Collections.nCopies(urls, server.baseUrl()));
                    default -> e.getValue();
                };
                values.add(e.getKey() + "=" + value);
            }
            new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(QwenVlAutoConfiguration.class))
                    .withPropertyValues(values.toArray(String[]::new))
                    .run(context -> {
                        assertThat(context).as(documented.toString()).hasNotFailed();
                        assertThat(context.getBean(ChatModel.class).call(new Prompt("Hi")).getResult().getOutput().getText())
                                .isEqualTo("ok");
                    });
            String model = documented.getOrDefault("spring.ai.qwen-vl.remote.model", "the-only-model");
            assertThat(server.requests.get(server.requests.size() - 1)).contains("\"model\":\"" + model + "\"");
            String key = documented.get("spring.ai.qwen-vl.remote.api-key");
            assertThat(server.authorizations.get(server.authorizations.size() - 1))
                    .isEqualTo(key == null ? "" : "Bearer " + key);
        }
    }
}
