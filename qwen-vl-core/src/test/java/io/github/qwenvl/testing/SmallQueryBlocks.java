package io.github.qwenvl.testing;

import io.github.qwenvl.nn.QueryRowBlocks;

/** Runs a check with the decoders' prefill attention split into blocks of 16 query rows (what long prompts use). */
public final class SmallQueryBlocks {

    private SmallQueryBlocks() {
    }

    public static void run(Runnable check) {
        long saved = QueryRowBlocks.scoreBlockElements;
        QueryRowBlocks.scoreBlockElements = 1;
        try {
            check.run();
        } finally {
            QueryRowBlocks.scoreBlockElements = saved;
        }
    }
}
