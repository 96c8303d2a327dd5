package io.github.qwenvl.generate;

import io.github.qwenvl.QwenVlException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The scheduler alone, over a step whose "logits" name the state, token and position it was given: joining and
 * leaving, batch limits, failures, interrupts, close, and the CPU turns of prefill work. The batchers here wait a
 * minute for a joined sequence that is not back, so a step that waited for a sequence that left, or will never come,
 * would hang the test (each runs under a timeout) instead of passing by luck.
 */
class DecodeBatcherTest {

    private static final long LONG_GRACE = TimeUnit.MINUTES.toNanos(1);
    private static final Duration LIMIT = Duration.ofSeconds(30);

    /** A sequence's state: its id and the tokens it was stepped with. */
    static final class FakeState {
        final int id;
        final List<Integer> tokens = new CopyOnWriteArrayList<>();
        final float[] logits = new float[3];

        FakeState(int id) {
            this.id = id;
        }
    }

    /** Logits {id, token, position}, in the state's own array (the batcher must copy it). */
    static final class FakeStep implements DecodeBatcher.Step<FakeState> {
        final List<Integer> sizes = new CopyOnWriteArrayList<>();

        @Override
        public float[][] step(List<FakeState> states, int[] tokens, long[] positions) {
            sizes.add(states.size());
            float[][] out = new float[states.size()][];
            for (int i = 0; i < states.size(); i++) {
                FakeState s = states.get(i);
                s.tokens.add(tokens[i]);
                s.logits[0] = s.id;
                s.logits[1] = tokens[i];
                s.logits[2] = positions[i];
                out[i] = s.logits;
            }
            return out;
        }
    }

    private static CompletableFuture<Void> decode(DecodeBatcher<FakeState>.Sequence seq, FakeState state, int count,
                                                  CountDownLatch start) {
        return CompletableFuture.runAsync(() -> {
            try {
                start.await();
                for (int t = 0; t < count; t++) {
                    float[] logits = seq.next(100 * state.id + t, 1000 + t);
                    assertThat(logits).containsExactly(state.id, 100 * state.id + t, 1000 + t);
                }
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            } finally {
                seq.close();
            }
        }, r -> new Thread(r).start());
    }

    @Test
    void sequencesShareStepsAndTheLongerGoesOnAloneAfterTheOtherLeaves() {
        assertTimeoutPreemptively(LIMIT, () -> {
            FakeStep step = new FakeStep();
            try (DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 8, LONG_GRACE, step)) {
                FakeState a = new FakeState(1);
                FakeState b = new FakeState(2);
                // both join before either steps: every step waits for every joined sequence
                var sa = batcher.join(a);
                var sb = batcher.join(b);
                CountDownLatch start = new CountDownLatch(1);
                var fa = decode(sa, a, 5, start);
                var fb = decode(sb, b, 12, start);
                start.countDown();
                fa.get();
                fb.get();
                assertThat(a.tokens).containsExactly(100, 101, 102, 103, 104);
                assertThat(b.tokens).hasSize(12);
                // the first five steps take both; after a has left b runs alone, not waiting for it
                assertThat(step.sizes).hasSize(12).startsWith(2, 2, 2, 2, 2).endsWith(1, 1, 1, 1, 1, 1, 1);
                DecodeBatcher.Stats stats = batcher.stats();
                assertThat(stats.decoding()).isZero();
                assertThat(stats.batchSize()).isZero();
                assertThat(stats.largestBatch()).isEqualTo(2);
                assertThat(stats.steps()).isEqualTo(12);
                assertThat(stats.tokens()).isEqualTo(17);
            }
        });
    }

    @Test
    void aStepDoesNotWaitForASequenceThatLeavesWithoutAnotherToken() {
        assertTimeoutPreemptively(LIMIT, () -> {
            AtomicBoolean aLeft = new AtomicBoolean();
            FakeStep inner = new FakeStep();
            DecodeBatcher.Step<FakeState> step = (states, tokens, positions) -> {
                assertThat(aLeft).as("the step waited for the joined sequence until it left").isTrue();
                return inner.step(states, tokens, positions);
            };
            try (DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 8, LONG_GRACE, step)) {
                var sa = batcher.join(new FakeState(1));
                FakeState b = new FakeState(2);
                var sb = batcher.join(b);
                CompletableFuture<float[]> fb = CompletableFuture.supplyAsync(() -> sb.next(7, 0));
                Thread.sleep(50);
                assertThat(fb).isNotDone();
                aLeft.set(true);
                sa.close(); // finished or cancelled between steps
                assertThat(fb.get()).containsExactly(2, 7, 0);
                assertThat(inner.sizes).containsExactly(1);
                sb.close();
            }
        });
    }

    @Test
    void stepsTakeAtMostTheBatchSizeOldestFirst() {
        assertTimeoutPreemptively(LIMIT, () -> {
            FakeStep step = new FakeStep();
            try (DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 2, LONG_GRACE, step)) {
                CountDownLatch start = new CountDownLatch(1);
                List<CompletableFuture<Void>> runs = new java.util.ArrayList<>();
                List<FakeState> states = new java.util.ArrayList<>();
                for (int i = 1; i <= 5; i++) {
                    FakeState s = new FakeState(i);
                    states.add(s);
                    runs.add(decode(batcher.join(s), s, 6, start));
                }
                start.countDown();
                for (var r : runs) {
                    r.get();
                }
                assertThat(step.sizes).allMatch(n -> n >= 1 && n <= 2);
                assertThat(step.sizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(30);
                for (FakeState s : states) {
                    assertThat(s.tokens).hasSize(6);
                }
                assertThat(batcher.stats().largestBatch()).isEqualTo(2);
            }
        });
    }

    @Test
    void aFailingStepFailsItsSequencesAndTheBatcherGoesOn() {
        assertTimeoutPreemptively(LIMIT, () -> {
            FakeStep inner = new FakeStep();
            AtomicInteger calls = new AtomicInteger();
            DecodeBatcher.Step<FakeState> step = (states, tokens, positions) -> {
                if (calls.incrementAndGet() == 1) {
                    throw new IllegalStateException("KV cache full");
                }
                return inner.step(states, tokens, positions);
            };
            try (DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 8, LONG_GRACE, step)) {
                var sa = batcher.join(new FakeState(1));
                var sb = batcher.join(new FakeState(2));
                var fa = CompletableFuture.supplyAsync(() -> sa.next(1, 0));
                var fb = CompletableFuture.supplyAsync(() -> sb.next(2, 0));
                for (var f : List.of(fa, fb)) {
                    assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class)
                            .cause().isInstanceOf(QwenVlException.class).hasMessageContaining("KV cache full")
                            .cause().isInstanceOf(IllegalStateException.class);
                }
                sa.close();
                sb.close();
                FakeState c = new FakeState(3);
                try (var sc = batcher.join(c)) {
                    assertThat(sc.next(5, 9)).containsExactly(3, 5, 9);
                }
            }
        });
    }

    @Test
    void anInterruptedWaitWithdrawsTheTokenBeforeAnyStepTakesIt() {
        assertTimeoutPreemptively(LIMIT, () -> {
            FakeStep step = new FakeStep();
            try (DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 8, LONG_GRACE, step)) {
                var sa = batcher.join(new FakeState(1)); // joined, never back: b waits for it
                var sb = batcher.join(new FakeState(2));
                AtomicReference<Throwable> thrown = new AtomicReference<>();
                AtomicBoolean interruptKept = new AtomicBoolean();
                Thread t = new Thread(() -> {
                    try {
                        sb.next(3, 0);
                    } catch (Throwable e) {
                        thrown.set(e);
                        interruptKept.set(Thread.currentThread().isInterrupted());
                    }
                });
                t.start();
                Thread.sleep(50);
                t.interrupt();
                t.join();
                assertThat(thrown.get()).isInstanceOf(DecodeBatcher.Withdrawn.class);
                assertThat(interruptKept).isTrue();
                sb.close();
                sa.close();
                assertThat(step.sizes).isEmpty();
                // the withdrawn token left nothing behind: a new sequence steps alone
                try (var sc = batcher.join(new FakeState(3))) {
                    assertThat(sc.next(4, 1)).containsExactly(3, 4, 1);
                }
                assertThat(step.sizes).containsExactly(1);
            }
        });
    }

    @Test
    void closeFailsWaitingTokensAndRefusesNewSequences() {
        assertTimeoutPreemptively(LIMIT, () -> {
            DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 8, LONG_GRACE, new FakeStep());
            batcher.join(new FakeState(1)); // never back
            var sb = batcher.join(new FakeState(2));
            var fb = CompletableFuture.supplyAsync(() -> sb.next(1, 0));
            Thread.sleep(50);
            batcher.close();
            assertThatThrownBy(fb::get).cause().isInstanceOf(QwenVlException.class).hasMessageContaining("closed");
            assertThatThrownBy(() -> batcher.join(new FakeState(3))).isInstanceOf(IllegalStateException.class);
            batcher.close(); // idempotent
        });
    }

    @Test
    void prefillWorkWaitsAtItsCheckpointsForTheDueStep() {
        assertTimeoutPreemptively(LIMIT, () -> {
            AtomicInteger started = new AtomicInteger();
            FakeStep inner = new FakeStep(); // its sizes: the steps done
            CountDownLatch stepStarted = new CountDownLatch(1);
            DecodeBatcher.Step<FakeState> step = (states, tokens, positions) -> {
                started.incrementAndGet();
                stepStarted.countDown();
                try {
                    Thread.sleep(30);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                return inner.step(states, tokens, positions);
            };
            try (DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 8, LONG_GRACE, step)) {
                FakeState a = new FakeState(1);
                var decoding = decode(batcher.join(a), a, 6, new CountDownLatch(0));
                stepStarted.await();
                // a checkpoint of another request's prefill, reached while a step runs: it returns once the step is done
                for (int chunk = 0; chunk < 5; chunk++) {
                    int startedBefore = started.get(); // at least one step runs (this sequence always has one due)
                    batcher.yieldToDecode();
                    assertThat(inner.sizes.size()).as("steps done after the checkpoint")
                            .isGreaterThanOrEqualTo(startedBefore);
                    Thread.sleep(5); // the next block
                }
                decoding.get();
                assertThat(inner.sizes).hasSize(6);
            }
        });
    }

    @Test
    void aPrefillThatHasComputedForAStepsTimeLetsTheDueStepThrough() {
        assertTimeoutPreemptively(LIMIT, () -> {
            AtomicInteger started = new AtomicInteger();
            FakeStep inner = new FakeStep();
            DecodeBatcher.Step<FakeState> step = (states, tokens, positions) -> {
                started.incrementAndGet();
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                return inner.step(states, tokens, positions);
            };
            try (DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 8, LONG_GRACE, step)) {
                FakeState a = new FakeState(1);
                var decoding = decode(batcher.join(a), a, 8, new CountDownLatch(0));
                while (inner.sizes.isEmpty()) { // one step done: the share's turn is about that long
                    Thread.sleep(1);
                }
                DecodeBatcher<FakeState>.PrefillShare share = batcher.prefillShare();
                for (int block = 0; block < 3; block++) {
                    Thread.sleep(30); // a block longer than a step: every checkpoint lets the due step through
                    int startedBefore = started.get();
                    share.checkpoint();
                    assertThat(inner.sizes.size()).isGreaterThanOrEqualTo(startedBefore);
                }
                decoding.get();
                share.checkpoint(); // nothing decodes: returns at once
            }
        });
    }

    @Test
    void aCheckpointNeverWaitsWithoutRunningSequences() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (DecodeBatcher<FakeState> batcher = new DecodeBatcher<>("t", 8, LONG_GRACE, new FakeStep())) {
                for (int i = 0; i < 100; i++) {
                    batcher.yieldToDecode();
                }
                var joined = batcher.join(new FakeState(1)); // decoding but not waiting for a step: nothing is due
                for (int i = 0; i < 100; i++) {
                    batcher.yieldToDecode();
                }
                joined.close();
            }
        });
    }
}
