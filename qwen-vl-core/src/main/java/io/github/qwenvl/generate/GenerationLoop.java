package io.github.qwenvl.generate;

import java.util.Arrays;

/**
 * The token loop shared by every architecture: prefill, then sample / feed back one token at a time
 * until an eos id, the token limit, or the callback says stop (stop sequence, cancellation).
 */
public final class GenerationLoop {

    /** Sees each new token; returns the reason to stop after it, or null to go on. */
    @FunctionalInterface
    public interface TokenCallback {
        FinishReason onToken(int token, int index);
    }

    /** Observes raw logits before sampling (tests, debugging). */
    @FunctionalInterface
    public interface LogitsObserver {
        void onLogits(int step, float[] logits);
    }

    /**
     * @param tokens       generated ids, including a final eos id when that ended generation
     * @param finishReason why it ended
     * @param prefillNanos time of the prompt forward pass
     * @param decodeNanos  time of all following steps
     */
    public record Outcome(int[] tokens, FinishReason finishReason, long prefillNanos, long decodeNanos) {
    }

    private GenerationLoop() {
    }

    public static Outcome run(DecodingSession session, SamplingParams params, TokenCallback callback,
                              LogitsObserver observer) {
        int[] prompt = session.promptIds();
        int[] history = Arrays.copyOf(prompt, prompt.length + params.maxNewTokens());
        int count = prompt.length;
        LogitsSampler sampler = new LogitsSampler(params);
        long start = System.nanoTime();
        float[] logits = session.prefill();
        long prefillNanos = System.nanoTime() - start;
        long decodeStart = System.nanoTime();
        int generated = 0;
        FinishReason reason = FinishReason.LENGTH;
        while (true) {
            if (observer != null) {
                observer.onLogits(generated, logits.clone());
            }
            int token = sampler.next(logits, history, count, generated);
            history[count++] = token;
            generated++;
            FinishReason stop = callback == null ? null : callback.onToken(token, generated - 1);
            if (params.isEos(token)) {
                reason = FinishReason.EOS;
                break;
            }
            if (stop != null) {
                reason = stop;
                break;
            }
            if (generated >= params.maxNewTokens()) {
                reason = FinishReason.LENGTH;
                break;
            }
            if (Thread.currentThread().isInterrupted()) {
                reason = FinishReason.CANCELLED;
                break;
            }
            try {
                logits = session.next(token);
            } catch (DecodeBatcher.Withdrawn withdrawn) { // interrupted while waiting for a shared decode step
                reason = FinishReason.CANCELLED;
                break;
            }
        }
        return new Outcome(Arrays.copyOfRange(history, prompt.length, count), reason, prefillNanos,
                System.nanoTime() - decodeStart);
    }
}
