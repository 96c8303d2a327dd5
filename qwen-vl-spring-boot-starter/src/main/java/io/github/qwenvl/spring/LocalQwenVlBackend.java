package io.github.qwenvl.spring;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.GenerationListener;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.ModelInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.image.ImageSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** The engine in this JVM: a {@link QwenVlModelHolder}'s model (loaded at startup, or on first use when lazy). */
public final class LocalQwenVlBackend implements QwenVlBackend {

    private final QwenVlModelHolder holder;

    public LocalQwenVlBackend(QwenVlModelHolder holder) {
        this.holder = Objects.requireNonNull(holder, "holder");
    }

    public QwenVlModelHolder holder() {
        return holder;
    }

    @Override
    public String kind() {
        return "local";
    }

    @Override
    public String modelId() {
        return holder.modelId();
    }

    @Override
    public ModelArchitecture architecture() {
        return holder.get().architecture();
    }

    @Override
    public ImageInfo describeImage(ImageSource source, GenerationOptions options, int index) {
        return holder.get().describeImage(source, options, index);
    }

    @Override
    public GenerationResult call(GenerationRequest request, GenerationListener listener, CancellationToken token) {
        return holder.get().stream(request, listener, token);
    }

    @Override
    public GenerationResult stream(GenerationRequest request, GenerationListener listener, CancellationToken token) {
        return holder.get().stream(request, listener, token);
    }

    @Override
    public boolean isReady() {
        return holder.isLoaded();
    }

    @Override
    public Optional<RuntimeException> failure() {
        return holder.failure();
    }

    @Override
    public Optional<ModelInfo> info() {
        return holder.info();
    }

    @Override
    public Optional<io.github.qwenvl.generate.DecodeBatcher.Stats> decodeStats() {
        return holder.decodeStats();
    }

    @Override
    public Health health() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("backend", kind());
        details.put("model", holder.modelId());
        if (holder.failure().isPresent()) {
            details.put("error", holder.failure().get().getMessage());
            return new Health("DOWN", details);
        }
        if (!holder.isLoaded()) {
            details.put("loaded", false);
            return new Health("UNKNOWN", details);
        }
        ModelInfo info = holder.info().orElseThrow();
        details.put("loaded", true);
        details.put("architecture", info.architecture().architectureClass());
        details.put("device", info.device());
        details.put("precision", info.precision().name());
        details.put("parameters", info.parameters());
        details.put("weightBytes", info.weightBytes());
        details.put("contextLength", info.contextLength());
        return new Health("UP", details);
    }

    @Override
    public void close() {
        holder.close();
    }
}
