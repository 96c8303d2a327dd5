package io.github.qwenvl.config;

/**
 * The architecture-specific part of a {@link ModelConfig}, parsed by the architecture's own
 * {@link io.github.qwenvl.engine.ArchitectureSupport} (e.g. a decoder and a vision tower config).
 */
public interface ArchitectureConfig {

    /** Longest sequence the model was trained for ({@code max_position_embeddings}), or 0 when unknown. */
    default int maxPositionEmbeddings() {
        return 0;
    }
}
