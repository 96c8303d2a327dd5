package io.github.qwenvl.spring;

import io.github.qwenvl.ModelInfo;
import io.github.qwenvl.QwenVlModel;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * Holds the loaded engine model: loaded at once (eager, the default: a bad checkpoint fails the
 * application start with a clear message) or on the first request (lazy). Closing it frees the
 * weights.
 */
public final class QwenVlModelHolder implements AutoCloseable {

    private final Supplier<QwenVlModel> loader;
    private final String modelId;
    private volatile QwenVlModel model;
    private volatile RuntimeException failure;

    public QwenVlModelHolder(String modelId, Supplier<QwenVlModel> loader, boolean lazy) {
        this.modelId = modelId;
        this.loader = loader;
        if (!lazy) {
            get();
        }
    }

    /** Wraps an already loaded model. */
    public static QwenVlModelHolder of(String modelId, QwenVlModel model) {
        return new QwenVlModelHolder(modelId, () -> model, false);
    }

    /** The model, loading it on first use; a failed load is remembered and rethrown. */
    public QwenVlModel get() {
        QwenVlModel m = model;
        if (m != null) {
            return m;
        }
        synchronized (this) {
            if (model == null) {
                if (failure != null) {
                    throw failure;
                }
                try {
                    model = loader.get();
                } catch (RuntimeException e) {
                    failure = e;
                    throw e;
                }
            }
            return model;
        }
    }

    public String modelId() {
        return modelId;
    }

    public boolean isLoaded() {
        return model != null;
    }

    public Optional<ModelInfo> info() {
        QwenVlModel m = model;
        return m == null ? Optional.empty() : Optional.of(m.info());
    }

    public Optional<RuntimeException> failure() {
        return Optional.ofNullable(failure);
    }

    @Override
    public synchronized void close() {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
