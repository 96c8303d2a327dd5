package io.github.qwenvl.spring;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The gate admits its slots together only while the model shares decode steps; otherwise one generation at a time,
 * within the same queue and wait limits, and a request that gives up waiting frees its slot.
 */
class RequestGateTest {

    @Test
    void slotsAreSharedWhileDecodeStepsAre() {
        RequestGate gate = new RequestGate(3, 4, Duration.ofSeconds(5), () -> true);
        try (RequestGate.Permit a = gate.acquire(); RequestGate.Permit b = gate.acquire();
             RequestGate.Permit c = gate.acquire()) {
            assertThat(gate.running()).isEqualTo(3);
            assertThat(gate.waiting()).isZero();
        }
        assertThat(gate.running()).isZero();
    }

    @Test
    void generationsRunOneAtATimeWhileDecodeStepsAreNotShared() throws Exception {
        AtomicBoolean shares = new AtomicBoolean(false);
        RequestGate gate = new RequestGate(3, 4, Duration.ofSeconds(10), shares::get);
        RequestGate.Permit first = gate.acquire();
        CountDownLatch admitted = new CountDownLatch(1);
        CompletableFuture<Void> second = CompletableFuture.runAsync(() -> {
            try (RequestGate.Permit ignored = gate.acquire()) {
                admitted.countDown();
            }
        });
        assertThat(admitted.await(300, TimeUnit.MILLISECONDS)).as("second generation waits for the first").isFalse();
        assertThat(gate.running()).isEqualTo(1);
        assertThat(gate.waiting()).isEqualTo(1);
        first.close();
        assertThat(admitted.await(5, TimeUnit.SECONDS)).isTrue();
        second.get(5, TimeUnit.SECONDS);
        assertThat(gate.running()).isZero();
        assertThat(gate.waiting()).isZero();

        // once the model batches its steps (loaded, Java decode), the same gate admits generations together
        shares.set(true);
        try (RequestGate.Permit a = gate.acquire(); RequestGate.Permit b = gate.acquire()) {
            assertThat(gate.running()).isEqualTo(2);
        }
    }

    @Test
    void aRequestThatWaitsTooLongForItsTurnFreesItsSlot() {
        RequestGate gate = new RequestGate(2, 4, Duration.ofMillis(200), () -> false);
        try (RequestGate.Permit first = gate.acquire()) {
            assertThatThrownBy(gate::acquire).isInstanceOf(ModelBusyException.class)
                    .hasMessageContaining("no generation slot became free");
            assertThat(gate.running()).isEqualTo(1);
            assertThat(gate.waiting()).isZero();
        }
        try (RequestGate.Permit again = gate.acquire()) { // both slots are free again
            assertThat(gate.running()).isEqualTo(1);
        }
    }
}
