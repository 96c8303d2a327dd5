package io.github.qwenvl.testing;

import io.github.qwenvl.nn.QueryRowBlocks;
import io.github.qwenvl.nn.RowBlocks;

/**
 * Runs a check with the decoders' prefill attention split into blocks of 16 query rows and their MLPs into blocks of
 * 16 rows (what long prompts use).
 */
public final class SmallBlocks {

    private SmallBlocks() {
    }

    public static void run(Runnable check) {
        long savedScores = QueryRowBlocks.scoreBlockElements;
        long savedIntermediates = RowBlocks.intermediateElements;
        QueryRowBlocks.scoreBlockElements = 1;
        RowBlocks.intermediateElements = 1;
        try {
            check.run();
        } finally {
            QueryRowBlocks.scoreBlockElements = savedScores;
            RowBlocks.intermediateElements = savedIntermediates;
        }
    }
}
