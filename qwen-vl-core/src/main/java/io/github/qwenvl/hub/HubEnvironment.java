package io.github.qwenvl.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The defaults huggingface_hub takes from its environment variables, read from a given map. */
final class HubEnvironment {

    static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");

    private final Map<String, String> env;

    HubEnvironment(Map<String, String> env) {
        this.env = env;
    }

    /** {@code HF_HUB_CACHE}, else the legacy {@code HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub}. */
    Path cacheDir() {
        String hubCache = nonBlank("HF_HUB_CACHE");
        if (hubCache == null) {
            hubCache = nonBlank("HUGGINGFACE_HUB_CACHE");
        }
        return hubCache != null ? expandHome(hubCache) : hfHome().resolve("hub");
    }

    /** {@code HF_HOME}, else {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface}. */
    Path hfHome() {
        String home = nonBlank("HF_HOME");
        if (home != null) {
            return expandHome(home);
        }
        String xdg = nonBlank("XDG_CACHE_HOME");
        return (xdg != null ? expandHome(xdg) : userHome().resolve(".cache")).resolve("huggingface");
    }

    String endpoint() {
        String endpoint = nonBlank("HF_ENDPOINT");
        return endpoint != null ? endpoint : DEFAULT_ENDPOINT;
    }

    boolean offline() {
        String value = nonBlank("HF_HUB_OFFLINE");
        return value != null && TRUE_VALUES.contains(value.toUpperCase(Locale.ROOT));
    }

    /** {@code HF_TOKEN}, else the legacy {@code HUGGING_FACE_HUB_TOKEN}, else the token file {@code huggingface-cli login} writes. */
    String token() {
        String token = nonBlank("HF_TOKEN");
        if (token == null) {
            token = nonBlank("HUGGING_FACE_HUB_TOKEN");
        }
        if (token != null) {
            return token;
        }
        String tokenPath = nonBlank("HF_TOKEN_PATH");
        Path file = tokenPath != null ? expandHome(tokenPath) : hfHome().resolve("token");
        try {
            if (Files.isRegularFile(file)) {
                String stored = Files.readString(file, StandardCharsets.UTF_8).trim();
                return stored.isEmpty() ? null : stored;
            }
        } catch (IOException ignored) {
            // an unreadable token file is the same as none: public models still work
        }
        return null;
    }

    private String nonBlank(String name) {
        String value = env.get(name);
        return value == null || value.isBlank() ? null : value.trim();
    }

    static Path expandHome(String path) {
        if (path.equals("~") || path.startsWith("~/")) {
            return userHome().resolve(path.substring(Math.min(2, path.length())));
        }
        return Paths.get(path);
    }

    private static Path userHome() {
        return Paths.get(System.getProperty("user.home"));
    }
}
