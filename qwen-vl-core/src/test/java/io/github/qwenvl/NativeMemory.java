package io.github.qwenvl;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's native memory: glibc's bytes in use ({@code mallinfo2}) and the resident set size (/proc, Linux). */
final class NativeMemory {

    interface C extends Library {
        MallInfo2.ByValue mallinfo2();
    }

    /** glibc's struct mallinfo2 (2.33+): every field a size_t. */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost"})
    public static class MallInfo2 extends Structure {
        public long arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;

        public static class ByValue extends MallInfo2 implements Structure.ByValue {
        }
    }

    private NativeMemory() {
    }

    /**
     * Bytes malloc has handed out and not had back (tensors, engine state): unlike the resident set, it does not move
     * with the Java heap, which G1 grows and shrinks as it likes. Falls back to the resident set size where the C
     * library has no {@code mallinfo2}.
     */
    static long mallocInUseBytes() {
        try {
            MallInfo2 m = Native.load("c", C.class).mallinfo2();
            return m.uordblks + m.hblkhd;
        } catch (UnsatisfiedLinkError e) {
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
