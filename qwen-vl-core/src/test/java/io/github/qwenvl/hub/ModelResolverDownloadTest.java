package io.github.qwenvl.hub;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static io.github.qwenvl.hub.ResolverTestSupport.REPO;
import static io.github.qwenvl.hub.ResolverTestSupport.repoDir;
import static io.github.qwenvl.hub.ResolverTestSupport.resolver;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelResolverDownloadTest {

    @TempDir
    Path tmp;

    private Path source;
    private FakeHub hub;

    @BeforeEach
    void startHub() throws IOException {
        source = FakeHub.fixtureModel();
        hub = new FakeHub(REPO, source);
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    @Test
    void freshDownloadBuildsTheHuggingFaceCacheLayout() throws IOException {
        ResolverTestSupport.RecordingListener listener = new ResolverTestSupport.RecordingListener();

        Path snapshot = resolver(tmp, hub.endpoint()).progressListener(listener).build().resolve(REPO);

        Path repoDir = repoDir(tmp);
        assertThat(snapshot).isEqualTo(repoDir.resolve("snapshots").resolve(FakeHub.COMMIT));
        assertThat(Files.readString(repoDir.resolve("refs/main"))).isEqualTo(FakeHub.COMMIT);
        assertSnapshotMatchesSource(snapshot, source);
        try (Stream<Path> entries = Files.list(snapshot)) {
            for (Path entry : entries.toList()) {
                byte[] data = Files.readAllBytes(entry);
                String name = entry.getFileName().toString();
                String etag = FakeHub.isLfs(name) ? FakeHub.sha256(data) : FakeHub.gitSha1(data);
                assertThat(Files.isSymbolicLink(entry)).as(name).isTrue();
                assertThat(Files.readSymbolicLink(entry).toString()).isEqualTo("../../blobs/" + etag);
                assertThat(repoDir.resolve("blobs").resolve(etag)).isRegularFile();
            }
        }
        try (Stream<Path> blobs = Files.list(repoDir.resolve("blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".incomplete"));
        }
        assertThat(listener.summary.filesDownloaded()).isEqualTo(countFiles(source));
        assertThat(listener.summary.bytesDownloaded()).isEqualTo(totalBytes(source));
        long weights = Files.size(source.resolve("model.safetensors"));
        assertThat(listener.calls).contains("model.safetensors:" + weights + "/" + weights);
    }

    @Test
    void withoutWeightsOnlyTheDescribingFilesAreFetched() {
        Path snapshot = resolver(tmp, hub.endpoint()).build().resolveWithoutWeights(REPO);

        assertThat(snapshot.resolve("config.json")).isRegularFile();
        assertThat(snapshot.resolve("model.safetensors")).doesNotExist();
        assertThat(hub.fileRequests()).noneMatch(r -> r.path().contains("safetensors"));
        // offline, the describing files are enough for a weightless resolve, not for a full one
        assertThat(resolver(tmp, hub.endpoint()).offline(true).build().resolveWithoutWeights(REPO)).isEqualTo(snapshot);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> resolver(tmp, hub.endpoint()).offline(true).build()
                .resolve(REPO)).isInstanceOf(ModelOfflineException.class).hasMessageContaining("model.safetensors");
        // online, a full resolve then adds the weights to the same snapshot
        assertThat(resolver(tmp, hub.endpoint()).build().resolve(REPO).resolve("model.safetensors")).isRegularFile();
    }

    @Test
    void secondResolveDownloadsNothing() {
        ModelResolver resolver = resolver(tmp, hub.endpoint()).build();
        Path first = resolver.resolve(REPO);
        hub.clearRequests();

        Path second = resolver.resolve(REPO);

        assertThat(second).isEqualTo(first);
        assertThat(hub.fileRequests()).isEmpty();
        assertThat(hub.requests()).hasSize(1); // only the model API, to learn where main points now
    }

    @Test
    void pinnedCommitInCacheNeedsNoNetworkAtAll() {
        resolver(tmp, hub.endpoint()).build().resolve(REPO);
        hub.clearRequests();

        Path again = resolver(tmp, hub.endpoint()).revision(FakeHub.COMMIT).build().resolve(REPO);

        assertThat(again.getFileName().toString()).isEqualTo(FakeHub.COMMIT);
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void resumesAPartialIncompleteDownload() throws IOException {
        byte[] weights = hub.content("model.safetensors");
        String sha = FakeHub.sha256(weights);
        Path blobs = repoDir(tmp).resolve("blobs");
        Files.createDirectories(blobs);
        Files.write(blobs.resolve(sha + ".incomplete"), Arrays.copyOf(weights, 1000));
        ResolverTestSupport.RecordingListener listener = new ResolverTestSupport.RecordingListener();

        Path snapshot = resolver(tmp, hub.endpoint()).progressListener(listener).build().resolve(REPO);

        assertThat(Files.readAllBytes(snapshot.resolve("model.safetensors"))).isEqualTo(weights);
        assertThat(hub.requests()).filteredOn(r -> r.server().equals("cdn"))
                .extracting(FakeHub.Request::range).containsExactly("bytes=1000-");
        assertThat(listener.calls).contains("model.safetensors:1000/" + weights.length);
        assertThat(listener.summary.bytesDownloaded()).isEqualTo(totalBytes(source) - 1000);
        assertThat(blobs.resolve(sha + ".incomplete")).doesNotExist();
    }

    @Test
    void rejectsContentWhoseSha256DiffersFromTheEtag() {
        hub.corrupt("model.safetensors");
        String sha = FakeHub.sha256(hub.content("model.safetensors"));

        assertThatThrownBy(() -> resolver(tmp, hub.endpoint()).build().resolve(REPO))
                .isInstanceOf(ModelIntegrityException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining(sha);

        Path blobs = repoDir(tmp).resolve("blobs");
        assertThat(blobs.resolve(sha)).doesNotExist();
        assertThat(blobs.resolve(sha + ".incomplete")).doesNotExist();
        assertThat(repoDir(tmp).resolve("snapshots").resolve(FakeHub.COMMIT).resolve("model.safetensors"))
                .doesNotExist();
        assertThat(repoDir(tmp).resolve("refs/main")).doesNotExist();
    }

    @Test
    void withoutTheApiProbesFilesAndSkipsMissingOptionalOnes() throws IOException {
        hub.apiEnabled(false);

        Path snapshot = resolver(tmp, hub.endpoint()).build().resolve(REPO);

        assertSnapshotMatchesSource(snapshot, source);
        assertThat(hub.requests()).anyMatch(r -> r.method().equals("HEAD") && r.path().endsWith("/qwen.tiktoken"));
        // 404s are remembered the way huggingface_hub does, so the next resolve does not ask again
        assertThat(repoDir(tmp).resolve(".no_exist").resolve(FakeHub.COMMIT).resolve("qwen.tiktoken")).exists();
        hub.clearRequests();
        resolver(tmp, hub.endpoint()).build().resolve(REPO);
        assertThat(hub.requests()).noneMatch(r -> r.path().endsWith("/qwen.tiktoken"));
    }

    @Test
    void withTheApiAsksOnlyForFilesTheRepoHas() {
        resolver(tmp, hub.endpoint()).build().resolve(REPO);

        assertThat(hub.requests()).noneMatch(r -> r.path().endsWith("/qwen.tiktoken"));
        assertThat(hub.requests()).noneMatch(r -> r.path().endsWith("/pytorch_model.bin"));
    }

    @Test
    void unauthorizedSaysToSetHfToken() {
        hub.requireToken("hf_secret");

        assertThatThrownBy(() -> resolver(tmp, hub.endpoint()).build().resolve(REPO))
                .isInstanceOf(ModelAccessDeniedException.class)
                .hasMessageContaining("401").hasMessageContaining("HF_TOKEN").hasMessageContaining(REPO);
    }

    @Test
    void tokenFromHfTokenVariableIsSentToTheHubButNotToTheCdn() throws IOException {
        hub.requireToken("hf_secret");
        ModelResolver resolver = resolver(tmp, hub.endpoint())
                .environment(java.util.Map.of("HF_TOKEN", "hf_secret", "HF_HOME", tmp.resolve("h").toString()))
                .build();

        Path snapshot = resolver.resolve(REPO);

        assertSnapshotMatchesSource(snapshot, source);
        List<FakeHub.Request> cdn = hub.requests().stream().filter(r -> r.server().equals("cdn")).toList();
        assertThat(cdn).isNotEmpty().allMatch(r -> r.authorization() == null);
        assertThat(hub.requests()).filteredOn(r -> r.server().equals("hub"))
                .allMatch(r -> "Bearer hf_secret".equals(r.authorization()));
    }

    @Test
    void gatedRepoSaysToAcceptTheLicense() {
        hub.gated();

        assertThatThrownBy(() -> resolver(tmp, hub.endpoint()).token("hf_secret").build().resolve(REPO))
                .isInstanceOf(ModelAccessDeniedException.class)
                .hasMessageContaining("403").hasMessageContaining("gated").hasMessageContaining("HF_TOKEN");
    }

    @Test
    void aTransferCutMidwayIsResumedWithinTheSameResolve() throws IOException {
        byte[] weights = hub.content("model.safetensors");
        hub.cutNextTransfer("model.safetensors", 300_000);

        Path snapshot = resolver(tmp, hub.endpoint()).build().resolve(REPO);

        assertThat(Files.readAllBytes(snapshot.resolve("model.safetensors"))).isEqualTo(weights);
        List<String> cdnRanges = hub.requests().stream().filter(r -> r.server().equals("cdn"))
                .map(FakeHub.Request::range).toList();
        assertThat(cdnRanges).hasSize(2);
        assertThat(cdnRanges.get(0)).isNull();
        assertThat(cdnRanges.get(1)).startsWith("bytes=").isNotEqualTo("bytes=0-");
    }

    @Test
    void unknownRepoAndRevisionAreNotFound() {
        assertThatThrownBy(() -> resolver(tmp, hub.endpoint()).build().resolve("test-org/other"))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("repository 'test-org/other' not found");
        assertThatThrownBy(() -> resolver(tmp, hub.endpoint()).revision("v9").build().resolve(REPO))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("revision 'v9' not found");
        hub.apiEnabled(false);
        assertThatThrownBy(() -> resolver(tmp, hub.endpoint()).revision("v9").build().resolve(REPO))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("revision 'v9' not found");
    }

    @Test
    void revisionWithSlashesIsEncodedAndStoredUnderRefs() throws IOException {
        Path snapshot = resolver(tmp, hub.endpoint()).revision("refs/pr/1").build().resolve(REPO);

        assertThat(snapshot.getFileName().toString()).isEqualTo(FakeHub.COMMIT);
        assertThat(Files.readString(repoDir(tmp).resolve("refs/refs/pr/1"))).isEqualTo(FakeHub.COMMIT);
        assertThat(hub.requests()).anyMatch(r -> r.path().contains("/revision/refs%2Fpr%2F1"));
    }

    @Test
    void shardedIndexDownloadsEveryShard() throws IOException {
        Path sharded = tmp.resolve("sharded");
        Files.createDirectories(sharded);
        Files.copy(source.resolve("config.json"), sharded.resolve("config.json"));
        Files.write(sharded.resolve("model-00001-of-00002.safetensors"), randomBytes(70_000, 1));
        Files.write(sharded.resolve("model-00002-of-00002.safetensors"), randomBytes(50_000, 2));
        Files.writeString(sharded.resolve("model.safetensors.index.json"), """
                {"metadata": {"total_size": 120000}, "weight_map": {
                  "a.weight": "model-00001-of-00002.safetensors",
                  "b.weight": "model-00002-of-00002.safetensors",
                  "c.weight": "model-00002-of-00002.safetensors"}}""");
        for (boolean api : new boolean[] {true, false}) {
            Path cacheRoot = tmp.resolve("api-" + api);
            try (FakeHub shardHub = new FakeHub(REPO, sharded).apiEnabled(api)) {
                Path snapshot = resolver(cacheRoot, shardHub.endpoint()).build().resolve(REPO);
                assertSnapshotMatchesSource(snapshot, sharded);
            }
        }
    }

    @Test
    void pytorchBinIsUsedWhenThereAreNoSafetensors() throws IOException {
        Path binModel = tmp.resolve("bin");
        Files.createDirectories(binModel);
        Files.copy(source.resolve("config.json"), binModel.resolve("config.json"));
        Files.write(binModel.resolve("pytorch_model.bin"), randomBytes(30_000, 3));
        try (FakeHub binHub = new FakeHub(REPO, binModel)) {
            Path snapshot = resolver(tmp, binHub.endpoint()).build().resolve(REPO);
            assertSnapshotMatchesSource(snapshot, binModel);
        }
    }

    @Test
    void aRepoWithoutWeightsIsReported() throws IOException {
        Path noWeights = tmp.resolve("noweights");
        Files.createDirectories(noWeights);
        Files.copy(source.resolve("config.json"), noWeights.resolve("config.json"));
        try (FakeHub emptyHub = new FakeHub(REPO, noWeights)) {
            assertThatThrownBy(() -> resolver(tmp, emptyHub.endpoint()).build().resolve(REPO))
                    .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("no weights");
        }
    }

    @Test
    void shardNamesThatWouldEscapeTheSnapshotAreRefused() throws IOException {
        Path evil = tmp.resolve("evil");
        Files.createDirectories(evil);
        Files.copy(source.resolve("config.json"), evil.resolve("config.json"));
        Files.writeString(evil.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"a\": \"../../../../escaped.safetensors\"}}");
        try (FakeHub evilHub = new FakeHub(REPO, evil)) {
            assertThatThrownBy(() -> resolver(tmp, evilHub.endpoint()).build().resolve(REPO))
                    .isInstanceOf(ModelDownloadException.class).hasMessageContaining("unsafe");
        }
        try (Stream<Path> all = Files.walk(tmp)) {
            assertThat(all).noneMatch(p -> p.getFileName().toString().equals("escaped.safetensors"));
        }
    }

    @Test
    void concurrentResolversOfOneModelShareTheCacheSafely() throws Exception {
        int threads = 4;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            var start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<Path>> results = new java.util.ArrayList<>();
            for (int i = 0; i < threads; i++) {
                ModelResolver own = resolver(tmp, hub.endpoint()).build();
                results.add(pool.submit(() -> {
                    start.await();
                    return own.resolve(REPO);
                }));
            }
            start.countDown();
            Path first = results.get(0).get(60, java.util.concurrent.TimeUnit.SECONDS);
            for (var result : results) {
                assertThat(result.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(first);
            }
            assertSnapshotMatchesSource(first, source);
            // the blob lock makes every file travel once, however many resolvers asked for it
            assertThat(hub.requests()).filteredOn(r -> r.server().equals("cdn")).hasSize(1);
        } finally {
            pool.shutdownNow();
        }
    }

    static void assertSnapshotMatchesSource(Path snapshot, Path source) throws IOException {
        try (Stream<Path> files = Files.walk(source)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Path copy = snapshot.resolve(source.relativize(file).toString());
                assertThat(copy).as("%s in snapshot", file.getFileName()).isRegularFile();
                assertThat(Files.mismatch(copy, file)).as("%s identical", file.getFileName()).isEqualTo(-1L);
            }
        }
    }

    private static long countFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).count();
        }
    }

    private static long totalBytes(Path dir) throws IOException {
        long total = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                total += Files.size(f);
            }
        }
        return total;
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] data = new byte[n];
        new java.util.Random(seed).nextBytes(data);
        return data;
    }
}
