package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.hub.FakeHub;
import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlModelHolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** spring.ai.qwen-vl.model as a Hugging Face repo id, served by a local fake Hub on 127.0.0.1. */
class HubResolutionTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(QwenVlAutoConfiguration.class));

    /** The remote backend needs only the files that describe the model: a repo id brings no weights. */
    @Test
    void remoteBackendFetchesTheCheckpointWithoutItsWeights(@TempDir Path cache) throws Exception {
        try (FakeHub hub = new FakeHub("acme/tiny-vl", FakeHub.fixtureModel())) {
            runner.withPropertyValues("spring.ai.qwen-vl.model=acme/tiny-vl",
                            "spring.ai.qwen-vl.backend=remote",
                            "spring.ai.qwen-vl.remote.base-url=http://127.0.0.1:9",
                            "spring.ai.qwen-vl.hub.endpoint=" + hub.endpoint(),
                            "spring.ai.qwen-vl.hub.cache-dir=" + cache,
                            "spring.ai.qwen-vl.hub.offline=false")
                    .run(context -> {
                        assertThat(context).hasNotFailed().hasSingleBean(QwenVlChatModel.class);
                        assertThat(context.getBean(QwenVlChatModel.class).backend().architecture().name())
                                .isEqualTo("QWEN2_VL");
                    });
        }
        try (var files = Files.walk(cache)) {
            assertThat(files.map(f -> f.getFileName().toString())).contains("config.json")
                    .noneMatch(name -> name.endsWith(".safetensors"));
        }
    }

    @Test
    void downloadsIntoTheHuggingFaceCacheThenStartsOfflineFromIt(@TempDir Path cache) throws Exception {
        try (FakeHub hub = new FakeHub("acme/tiny-vl", FakeHub.fixtureModel())) {
            runner.withPropertyValues("spring.ai.qwen-vl.model=acme/tiny-vl",
                            "spring.ai.qwen-vl.hub.endpoint=" + hub.endpoint(),
                            "spring.ai.qwen-vl.hub.cache-dir=" + cache,
                            "spring.ai.qwen-vl.hub.offline=false")
                    .run(context -> {
                        assertThat(context).hasNotFailed().hasSingleBean(QwenVlChatModel.class);
                        QwenVlModelHolder holder = context.getBean(QwenVlModelHolder.class);
                        assertThat(holder.modelId()).isEqualTo("acme/tiny-vl");
                        assertThat(holder.info().orElseThrow().directory().toString())
                                .contains("models--acme--tiny-vl").contains("snapshots");
                    });
        }
        assertThat(Files.isDirectory(cache.resolve("models--acme--tiny-vl/blobs"))).isTrue();
        // the Hub is gone: offline mode starts from the cache alone
        runner.withPropertyValues("spring.ai.qwen-vl.model=acme/tiny-vl", "spring.ai.qwen-vl.hub.cache-dir=" + cache,
                        "spring.ai.qwen-vl.hub.offline=true")
                .run(context -> assertThat(context).hasNotFailed().hasSingleBean(QwenVlChatModel.class));
    }

    @Test
    void offlineWithoutACachedCopyFailsWithTheCachePath(@TempDir Path cache) {
        runner.withPropertyValues("spring.ai.qwen-vl.model=acme/not-there", "spring.ai.qwen-vl.hub.cache-dir=" + cache,
                        "spring.ai.qwen-vl.hub.offline=true")
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .hasMessageContaining(cache.toString()));
    }
}
