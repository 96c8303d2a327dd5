package io.github.qwenvl.testing;

import io.github.qwenvl.EngineTuning;

/**
 * Runs a check on networks loaded with small blocks: the decoders' prefill attention in blocks of 16 query rows and
 * their MLPs in blocks of 16 rows (what long prompts use), and the Java decoder's KV cache in pages of one token. The
 * tuning is fixed when a network is loaded, so the suites' network caches ({@code LoadedNetworks}, {@code QwenVlSets})
 * load one network per tuning: {@link #current()} is the tuning of the check running on this thread.
 */
public final class SmallBlocks {

    /** 16-row MLP and attention blocks, one-token KV pages (the vision tower's attention keeps its default). */
    public static final EngineTuning TUNING = EngineTuning.DEFAULTS.withMlpBlockElements(1).withAttentionBlockElements(1)
            .withKvPageElements(1);

    private static final ThreadLocal<EngineTuning> CURRENT = new ThreadLocal<>();

    private SmallBlocks() {
    }

    /** The tuning networks are loaded with for the check running on this thread ({@link EngineTuning#DEFAULTS} outside {@link #run}). */
    public static EngineTuning current() {
        EngineTuning t = CURRENT.get();
        return t != null ? t : EngineTuning.DEFAULTS;
    }

    public static void run(Runnable check) {
        run(TUNING, check);
    }

    /** Runs {@code check} on networks loaded with {@code tuning}. */
    public static void run(EngineTuning tuning, Runnable check) {
        EngineTuning saved = CURRENT.get();
        CURRENT.set(tuning);
        try {
            check.run();
        } finally {
            CURRENT.set(saved);
        }
    }
}
