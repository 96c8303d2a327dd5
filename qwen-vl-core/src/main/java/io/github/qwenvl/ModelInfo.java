package io.github.qwenvl;

import io.github.qwenvl.config.ModelArchitecture;

import java.nio.file.Path;

/**
 * What is loaded.
 *
 * @param directory      checkpoint directory
 * @param architecture   detected architecture
 * @param device         e.g. "cpu()" or "gpu(0)"
 * @param precision      compute precision
 * @param parameters     parameter count
 * @param weightBytes    bytes of weights held
 * @param contextLength  prompt + completion limit
 * @param loadMillis     load time
 */
public record ModelInfo(Path directory, ModelArchitecture architecture, String device, QwenVlOptions.Precision precision,
                        long parameters, long weightBytes, int contextLength, double loadMillis) {
}
