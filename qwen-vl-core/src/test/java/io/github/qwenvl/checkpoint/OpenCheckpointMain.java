package io.github.qwenvl.checkpoint;

import java.nio.file.Path;

/** Run in a child JVM whose working directory is a sharded checkpoint: opens it as {@code "."}. */
public final class OpenCheckpointMain {

    private OpenCheckpointMain() {
    }

    public static void main(String[] args) {
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(Path.of(args[0]))) {
            System.out.println("tensors=" + c.names().size() + " bytes=" + c.storedBytes());
        }
    }
}
