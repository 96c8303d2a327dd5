package io.github.qwenvl.hub;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RepoIdTest {

    @Test
    void parsesRealRepoIds() {
        RepoId id = RepoId.parse("Qwen/Qwen2-VL-2B-Instruct");

        assertThat(id.owner()).isEqualTo("Qwen");
        assertThat(id.name()).isEqualTo("Qwen2-VL-2B-Instruct");
        assertThat(id.cacheFolderName()).isEqualTo("models--Qwen--Qwen2-VL-2B-Instruct");
        assertThat(RepoId.isValid("Qwen/Qwen2.5-VL-7B-Instruct")).isTrue();
        assertThat(RepoId.isValid("some_user/model_v1.0")).isTrue();
    }

    @Test
    void rejectsAnythingThatCouldLeaveTheCache() {
        for (String bad : new String[] {"../x", "a/b/c", "/abs/path", "x", "org/..", "../..", "org/a..b",
                ".org/x", "org/.x", "org/x/", "org\\x", "org/x\u0000", "", "org/ x", "org/x%2F..",
                "a".repeat(97) + "/x"}) {
            assertThat(RepoId.isValid(bad)).as(bad).isFalse();
            assertThatThrownBy(() -> RepoId.parse(bad)).as(bad).isInstanceOf(InvalidModelIdException.class);
        }
        assertThatThrownBy(() -> new RepoId("..", "x")).isInstanceOf(InvalidModelIdException.class);
    }

    @Test
    void revisionsAndServerNamesAreChecked() {
        assertThat(Revisions.requireValidRevision("refs/pr/1")).isEqualTo("refs/pr/1");
        assertThat(Revisions.requireValidRevision("v1.0")).isEqualTo("v1.0");
        for (String bad : new String[] {"..", "a/../b", "/main", "main/", "a//b", "ma in", ""}) {
            assertThatThrownBy(() -> Revisions.requireValidRevision(bad)).as(bad)
                    .isInstanceOf(InvalidModelIdException.class);
        }
        assertThat(Revisions.requireSafeRepoFile("sub/model-00001-of-00002.safetensors")).isNotNull();
        for (String bad : new String[] {"../x", "/etc/passwd", "a/./b", "a\\b", "C:x", "a//b"}) {
            assertThatThrownBy(() -> Revisions.requireSafeRepoFile(bad)).as(bad)
                    .isInstanceOf(ModelDownloadException.class);
        }
        assertThatThrownBy(() -> Revisions.requireSafeEtag("../x", "test")).isInstanceOf(ModelDownloadException.class);
        assertThatThrownBy(() -> Revisions.requireCommitHash("main", "test")).isInstanceOf(ModelDownloadException.class);
    }

    @Test
    void etagsAreNormalizedLikeHuggingfaceHub() {
        assertThat(HubHttp.normalizeEtag("W/\"abc\"")).isEqualTo("abc");
        assertThat(HubHttp.normalizeEtag("\"abc\"")).isEqualTo("abc");
        assertThat(HubHttp.encode("refs/pr/1")).isEqualTo("refs%2Fpr%2F1");
    }
}
