package io.github.qwenvl.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static io.github.qwenvl.hub.ResolverTestSupport.REPO;
import static io.github.qwenvl.hub.ResolverTestSupport.deadEndpoint;
import static io.github.qwenvl.hub.ResolverTestSupport.repoDir;
import static io.github.qwenvl.hub.ResolverTestSupport.resolver;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelResolverCacheTest {

    private static final String PYTHON_COMMIT = "0f0e0d0c0b0a09080706050403020100ffeeddcc";

    @TempDir
    Path tmp;

    @Test
    void offlineWithoutCacheSaysSoAndNamesTheCachePath() {
        assertThatThrownBy(() -> resolver(tmp, deadEndpoint()).offline(true).build().resolve(REPO))
                .isInstanceOf(ModelOfflineException.class)
                .hasMessageContaining("offline")
                .hasMessageContaining(repoDir(tmp).toString());
    }

    @Test
    void hfHubOfflineVariableTurnsOfflineModeOn() throws IOException {
        ModelResolver resolver = ModelResolver.builder()
                .environment(Map.of("HF_HUB_OFFLINE", "1", "HF_HUB_CACHE", tmp.resolve("cache").toString(),
                        "HF_ENDPOINT", deadEndpoint()))
                .progressListener(DownloadProgressListener.none())
                .build();

        assertThat(resolver.isOffline()).isTrue();
        assertThat(resolver.cacheDir()).isEqualTo(tmp.resolve("cache"));
        assertThatThrownBy(() -> resolver.resolve(REPO)).isInstanceOf(ModelOfflineException.class);
    }

    @Test
    void offlineResolvesWhatAnOnlineResolveCached() throws IOException {
        Path online;
        try (FakeHub hub = new FakeHub(REPO, FakeHub.fixtureModel())) {
            online = resolver(tmp, hub.endpoint()).build().resolve(REPO);
        }

        Path offline = resolver(tmp, deadEndpoint()).offline(true).build().resolve(REPO);

        assertThat(offline).isEqualTo(online);
        ModelResolverDownloadTest.assertSnapshotMatchesSource(offline, FakeHub.fixtureModel());
    }

    @Test
    void offlineWithAPartialSnapshotNamesWhatIsMissing() throws IOException {
        Path snapshot = pythonStyleCache();
        Files.delete(snapshot.resolve("model.safetensors"));

        assertThatThrownBy(() -> resolver(tmp, deadEndpoint()).offline(true).build().resolve(REPO))
                .isInstanceOf(ModelOfflineException.class)
                .hasMessageContaining("weights").hasMessageContaining(snapshot.toString());
    }

    @Test
    void pythonStyleCacheIsReusedOffline() throws IOException {
        Path snapshot = pythonStyleCache();

        Path resolved = resolver(tmp, deadEndpoint()).offline(true).build().resolve(REPO);

        assertThat(resolved).isEqualTo(snapshot);
        assertThat(Files.isSymbolicLink(resolved.resolve("config.json"))).isTrue();
        ModelResolverDownloadTest.assertSnapshotMatchesSource(resolved, FakeHub.fixtureModel());
    }

    @Test
    void pythonStyleCacheServesWhenTheHubIsUnreachable() throws IOException {
        Path snapshot = pythonStyleCache();

        assertThat(resolver(tmp, deadEndpoint()).build().resolve(REPO)).isEqualTo(snapshot);
    }

    @Test
    void pythonStyleCacheAtAPinnedCommitMakesNoRequest() throws IOException {
        Path snapshot = pythonStyleCache();
        try (FakeHub hub = new FakeHub(REPO, FakeHub.fixtureModel())) {
            Path resolved = resolver(tmp, hub.endpoint()).revision(PYTHON_COMMIT).build().resolve(REPO);

            assertThat(resolved).isEqualTo(snapshot);
            assertThat(hub.requests()).isEmpty();
        }
    }

    @Test
    void plainFilesInASnapshotAreReadToo() throws IOException {
        Path snapshot = repoDir(tmp).resolve("snapshots").resolve(PYTHON_COMMIT);
        Files.createDirectories(snapshot);
        copyDir(FakeHub.fixtureModel(), snapshot);
        Files.createDirectories(repoDir(tmp).resolve("refs"));
        Files.writeString(repoDir(tmp).resolve("refs/main"), PYTHON_COMMIT + "\n");

        assertThat(resolver(tmp, deadEndpoint()).offline(true).build().resolve(REPO)).isEqualTo(snapshot);
    }

    @Test
    void unreachableHubWithoutCacheIsAnOfflineError() {
        assertThatThrownBy(() -> resolver(tmp, deadEndpoint()).build().resolve(REPO))
                .isInstanceOf(ModelOfflineException.class)
                .hasMessageContaining("unreachable").hasMessageContaining(repoDir(tmp).toString());
    }

    @Test
    void localDirectoryIsUsedAsIs() throws IOException {
        Path model = FakeHub.fixtureModel();
        ModelResolver resolver = resolver(tmp, deadEndpoint()).build();

        assertThat(resolver.resolve(model.toString())).isEqualTo(model);
        Path relative = Path.of("").toAbsolutePath().relativize(model);
        assertThat(resolver.resolve(relative.toString())).isEqualTo(model);
    }

    @Test
    void localDirectoryWithoutConfigIsRejected() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("not-a-model"));

        assertThatThrownBy(() -> resolver(tmp, deadEndpoint()).build().resolve(empty.toString()))
                .isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("config.json").hasMessageContaining(empty.toString());
    }

    @Test
    void namesThatAreNeitherDirectoriesNorRepoIdsAreRejected() throws IOException {
        ModelResolver resolver = resolver(tmp, deadEndpoint()).build();

        assertThatThrownBy(() -> resolver.resolve("../x")).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> resolver.resolve(tmp.resolve("missing").toString()))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining(tmp.resolve("missing").toString());
        for (String bad : new String[] {"a/b/c", "x", "org/..", "org/a..b", "-org/x", "org/x y", "org//x", " "}) {
            assertThatThrownBy(() -> resolver.resolve(bad)).as(bad).isInstanceOf(InvalidModelIdException.class);
        }
        assertThatThrownBy(() -> resolver(tmp, deadEndpoint()).revision("../../etc").build())
                .isInstanceOf(InvalidModelIdException.class);
        try (Stream<Path> created = Files.list(tmp)) {
            assertThat(created.map(p -> p.getFileName().toString())).doesNotContain("cache");
        }
    }

    /** The layout huggingface_hub writes: blobs named by etag, relative symlinks, refs/main. */
    private Path pythonStyleCache() throws IOException {
        Path repoDir = repoDir(tmp);
        Path snapshot = repoDir.resolve("snapshots").resolve(PYTHON_COMMIT);
        Files.createDirectories(snapshot);
        Files.createDirectories(repoDir.resolve("blobs"));
        try (Stream<Path> files = Files.list(FakeHub.fixtureModel())) {
            for (Path file : files.toList()) {
                byte[] data = Files.readAllBytes(file);
                String name = file.getFileName().toString();
                String etag = FakeHub.isLfs(name) ? FakeHub.sha256(data) : FakeHub.gitSha1(data);
                Files.write(repoDir.resolve("blobs").resolve(etag), data);
                Files.createSymbolicLink(snapshot.resolve(name), Path.of("../../blobs").resolve(etag));
            }
        }
        Files.createDirectories(repoDir.resolve("refs"));
        Files.writeString(repoDir.resolve("refs/main"), PYTHON_COMMIT);
        return snapshot;
    }

    private static void copyDir(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName().toString()));
            }
        }
    }
}
