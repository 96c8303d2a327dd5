package io.github.qwenvl;

import io.github.qwenvl.testing.Glibc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's native memory: glibc's bytes in use ({@code mallinfo2}) and the resident set size (/proc, Linux). */
final class NativeMemory {

    private NativeMemory() {
    }

    /**
     * Bytes malloc has handed out and not had back (tensors, engine state): unlike the resident set, it does not move
     * with the Java heap, which G1 grows and shrinks as it likes. Falls back to the resident set size where the C
     * library has no {@code mallinfo2}.
     */
    static long mallocInUseBytes() {
        try {
            return Glibc.mallinfo2().inUseBytes();
        } catch (LinkageError e) { // no glibc (UnsatisfiedLinkError), or its loading failed before (NoClassDefFoundError)
            return residentBytes();
        }
    }

    static long residentBytes() {
        System.gc();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/self/status", e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
