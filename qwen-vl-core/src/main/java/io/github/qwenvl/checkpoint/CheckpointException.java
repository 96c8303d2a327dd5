package io.github.qwenvl.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint that cannot be used: missing files, unreadable or corrupt safetensors, unsupported
 * architectures or dtypes. The message names the file (and the tensor, where one is involved).
 */
public class CheckpointException extends io.github.qwenvl.QwenVlException {

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }

    static CheckpointException corrupt(Path file, String tensor, String what) {
        return new CheckpointException("Corrupt safetensors file " + file
                + (tensor == null ? "" : " (tensor '" + tensor + "')") + ": " + what);
    }
}
