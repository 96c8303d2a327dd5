package io.github.qwenvl.testing;

import io.github.qwenvl.nn.QueryRowBlocks;
import io.github.qwenvl.nn.RowBlocks;
import io.github.qwenvl.qwen2vl.Qwen2JavaDecoder;

/**
 * Runs a check with the decoders' prefill attention split into blocks of 16 query rows and their MLPs into blocks of
 * 16 rows (what long prompts use), and the Java decoder's KV cache in pages of one token.
 */
public final class SmallBlocks {

    private SmallBlocks() {
    }

    public static void run(Runnable check) {
        long savedScores = QueryRowBlocks.scoreBlockElements;
        long savedIntermediates = RowBlocks.intermediateElements;
        int savedPage = Qwen2JavaDecoder.pageElements;
        QueryRowBlocks.scoreBlockElements = 1;
        RowBlocks.intermediateElements = 1;
        Qwen2JavaDecoder.pageElements = 1;
        try {
            check.run();
        } finally {
            QueryRowBlocks.scoreBlockElements = savedScores;
            RowBlocks.intermediateElements = savedIntermediates;
            Qwen2JavaDecoder.pageElements = savedPage;
        }
    }
}
