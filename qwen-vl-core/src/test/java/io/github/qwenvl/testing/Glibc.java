package io.github.qwenvl.testing;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;

/**
 * glibc's own account of native memory (the engine's tensors are malloc'd), for the leak test and the memory probes:
 * {@code mallinfo2} (glibc 2.33+) and {@code malloc_trim}. Linux with glibc only; the methods throw
 * {@link UnsatisfiedLinkError} elsewhere.
 */
public final class Glibc {

    interface C extends Library {
        int malloc_trim(long pad);

        MallInfo2.ByValue mallinfo2();
    }

    /** struct mallinfo2: every field a size_t. */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost"})
    public static class MallInfo2 extends Structure {
        public long arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;

        /** Bytes malloc has handed out and not had back: small-block arenas plus mmapped chunks. */
        public long inUseBytes() {
            return uordblks + hblkhd;
        }

        /** Bytes malloc holds from the system, in use or freed and kept. */
        public long heldBytes() {
            return arena + hblkhd;
        }

        public static class ByValue extends MallInfo2 implements Structure.ByValue {
        }
    }

    /** Loaded on first use (holder idiom). */
    private static final class Lib {
        static final C C = Native.load("c", Glibc.C.class);
    }

    private Glibc() {
    }

    /** Whether this process's C library is glibc 2.33 or later, i.e. has {@code mallinfo2}. */
    public static boolean available() {
        try {
            mallinfo2();
            return true;
        } catch (LinkageError e) { // UnsatisfiedLinkError without glibc; NoClassDefFoundError once its loading failed
            return false;
        }
    }

    /** glibc's counters now, summed over all arenas. */
    public static MallInfo2 mallinfo2() {
        return Lib.C.mallinfo2();
    }

    /** {@code malloc_trim(0)}: gives freed arena pages back to the system. */
    public static void trim() {
        Lib.C.malloc_trim(0);
    }
}
