package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.QwenVlException;
import io.github.qwenvl.checkpoint.CheckpointException;
import io.github.qwenvl.hub.InvalidModelIdException;
import io.github.qwenvl.hub.ModelAccessDeniedException;
import io.github.qwenvl.hub.ModelDownloadException;
import io.github.qwenvl.hub.ModelNotFoundException;
import io.github.qwenvl.hub.ModelOfflineException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.env.Environment;
import org.springframework.core.io.DefaultResourceLoader;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a model that cannot be loaded at startup into Spring Boot's one-screen "APPLICATION FAILED TO START"
 * report: what failed (the model, the property it came from, the cause) and what to do, instead of a long
 * stack trace. Covers a missing model, offline mode or an unreachable Hub without a cached copy, access denied,
 * a failed download, a corrupt or incomplete checkpoint, an unsupported architecture, and a libtorch that does not
 * load on this platform.
 */
public class QwenVlFailureAnalyzer extends AbstractFailureAnalyzer<QwenVlException> {

    static final String MODEL = QwenVlProperties.PREFIX + ".model";
    static final String OFFLINE = QwenVlProperties.PREFIX + ".hub.offline";
    static final String TOKEN = QwenVlProperties.PREFIX + ".hub.token";
    static final String ENDPOINT = QwenVlProperties.PREFIX + ".hub.endpoint";

    private final Environment environment;

    public QwenVlFailureAnalyzer(Environment environment) {
        this.environment = environment;
    }

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, QwenVlException cause) {
        String model = environment.getProperty(MODEL, QwenVlProperties.DEFAULT_MODEL);
        String what;
        List<String> actions = new ArrayList<>();
        if (cause instanceof ModelOfflineException) {
            boolean unreachable = hasCause(cause, java.io.IOException.class);
            what = unreachable
                    ? "The model '" + model + "' (" + MODEL + ") must be downloaded from the Hugging Face Hub, which"
                    + " cannot be reached, and it is not in the local cache."
                    : "The model '" + model + "' (" + MODEL + ") is not in the local Hugging Face cache and offline"
                    + " mode is on.";
            actions.add("use a checkpoint directory on this machine: --" + MODEL + "=/path/to/checkpoint");
            tinyProfile().ifPresent(actions::add);
            actions.add(unreachable
                    ? "start once with access to the Hub (" + hubEndpoint() + ") so the model is downloaded into the"
                    + " cache, or download it with `huggingface-cli download " + model + "`"
                    : "start once online (" + OFFLINE + "=false and no HF_HUB_OFFLINE=1) so the model is downloaded"
                    + " into the cache, or download it with `huggingface-cli download " + model + "`");
        } else if (cause instanceof ModelNotFoundException || cause instanceof InvalidModelIdException) {
            what = "The model '" + model + "' (" + MODEL + ") was not found.";
            actions.add("set " + MODEL + " to a checkpoint directory (holding config.json, the tokenizer files and"
                    + " the weights) or to a Hugging Face repo id such as " + QwenVlProperties.DEFAULT_MODEL
                    + ": --" + MODEL + "=/path/to/checkpoint");
            tinyProfile().ifPresent(actions::add);
        } else if (cause instanceof ModelAccessDeniedException) {
            what = "The Hugging Face Hub refused access to the model '" + model + "' (" + MODEL + ").";
            actions.add("accept the model's terms on its Hub page and set a token: " + TOKEN + "=hf_... (or HF_TOKEN)");
            actions.add("or use a checkpoint directory: --" + MODEL + "=/path/to/checkpoint");
        } else if (cause instanceof ModelDownloadException) {
            what = "Downloading the model '" + model + "' (" + MODEL + ") failed.";
            actions.add("start again: completed files are kept and a partial download resumes");
            actions.add("or download it with `huggingface-cli download " + model + "`, or point " + MODEL
                    + " at a checkpoint directory");
        } else if (cause instanceof CheckpointException) {
            boolean architecture = String.valueOf(cause.getMessage()).startsWith("Unsupported model");
            what = architecture
                    ? "The model '" + model + "' (" + MODEL + ") is not a Qwen vision-language architecture this"
                    + " library runs."
                    : "The checkpoint of '" + model + "' (" + MODEL + ") cannot be used: a file is missing, incomplete"
                    + " or corrupt.";
            if (architecture) {
                actions.add("choose a checkpoint of a supported architecture (the cause lists them; docs/model-support.md):"
                        + " --" + MODEL + "=" + QwenVlProperties.DEFAULT_MODEL);
            } else {
                actions.add("download the checkpoint again (a Hub model: delete its folder in the Hugging Face cache"
                        + " and start online), or point " + MODEL + " at a complete checkpoint directory");
            }
            tinyProfile().ifPresent(actions::add);
        } else if (String.valueOf(cause.getMessage()).startsWith("Cannot start DJL's PyTorch engine")) {
            what = "libtorch, the native library the model computes with, did not load on this machine ("
                    + System.getProperty("os.name") + ", " + System.getProperty("os.arch") + ").";
            actions.add("build the application on the platform it runs on, or choose the libtorch classifier"
                    + " explicitly (docs/platforms.md)");
        } else {
            return null;
        }
        StringBuilder description = new StringBuilder(what).append(System.lineSeparator())
                .append(System.lineSeparator()).append("Cause: ").append(cause.getMessage());
        StringBuilder action = new StringBuilder("Do one of these:");
        for (String a : actions) {
            action.append(System.lineSeparator()).append("  - ").append(a);
        }
        return new FailureAnalysis(description.toString(), action.toString(), cause);
    }

    /** The demo's way to run without a model: suggested when the application has an application-tiny profile. */
    private java.util.Optional<String> tinyProfile() {
        DefaultResourceLoader loader = new DefaultResourceLoader();
        for (String name : List.of("application-tiny.properties", "application-tiny.yml", "application-tiny.yaml")) {
            if (loader.getResource("classpath:" + name).exists()) {
                return java.util.Optional.of("run with this application's tiny profile (no download):"
                        + " --spring.profiles.active=tiny");
            }
        }
        return java.util.Optional.empty();
    }

    private String hubEndpoint() {
        String endpoint = environment.getProperty(ENDPOINT);
        if (endpoint == null || endpoint.isBlank()) {
            endpoint = System.getenv("HF_ENDPOINT");
        }
        return endpoint == null || endpoint.isBlank() ? "https://huggingface.co" : endpoint;
    }

    private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }
}
