package io.github.qwenvl.spring;

import io.github.qwenvl.ModelInfo;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.RequestCancelledException;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * Holds the loaded engine model: loaded at once (eager, the default: a bad checkpoint fails the
 * application start with a clear message) or on the first request (lazy). Closing it (or stopping it as a Spring
 * lifecycle bean, when the application context closes) refuses new requests, cancels those in flight, waits for them
 * to leave the engine and then frees the weights.
 */
public final class QwenVlModelHolder implements AutoCloseable, org.springframework.context.SmartLifecycle {

    private final Supplier<QwenVlModel> loader;
    private final String modelId;
    private volatile QwenVlModel model;
    private volatile RuntimeException failure;
    private volatile boolean closed;

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
            if (closed) {
                throw new RequestCancelledException(RequestCancelledException.Reason.SHUTDOWN,
                        "The model is shutting down and accepts no new requests");
            }
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

    /** The loaded model's decode scheduler's figures, if it is loaded and batches its decode steps. */
    public Optional<io.github.qwenvl.generate.DecodeBatcher.Stats> decodeStats() {
        QwenVlModel m = model;
        return m == null || m.isClosing() ? Optional.empty() : Optional.ofNullable(m.decodeStats());
    }

    public Optional<RuntimeException> failure() {
        return Optional.ofNullable(failure);
    }

    @Override
    public void start() {
        // the model is loaded by the constructor (eager) or the first request (lazy)
    }

    /**
     * Called when the application context closes, before the web server's graceful shutdown waits for the requests
     * it is serving (this bean's phase is higher): the model is closed, so those requests end within one block.
     */
    @Override
    public void stop() {
        close();
    }

    @Override
    public boolean isRunning() {
        return !closed;
    }

    /**
     * Shuts the model down: new requests are refused ({@link RequestCancelledException}, reason SHUTDOWN), those in
     * flight are cancelled and waited for (they leave within one block of the vision tower or the prefill), then the
     * weights and all native memory are freed (see {@link QwenVlModel#close()}).
     */
    @Override
    public void close() {
        QwenVlModel loaded;
        synchronized (this) {
            closed = true;
            loaded = model;
        }
        if (loaded != null) {
            loaded.close();
        }
    }
}
