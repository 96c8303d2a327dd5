package io.github.qwenvl.hub;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class LoggingProgressListenerTest {

    @Test
    void logsAtMostEveryTenPercentWhenFast() {
        AtomicLong clock = new AtomicLong();
        LoggingProgressListener listener = new LoggingProgressListener(Duration.ofSeconds(5), clock::get);

        for (long done = 0; done <= 1000; done++) {
            listener.onProgress("model.safetensors", done, 1000);
        }

        assertThat(listener.progressLines()).isEqualTo(11); // 0 %, 10 %, ..., 100 %
    }

    @Test
    void logsSlowDownloadsEveryIntervalEvenWithinOneStep() {
        AtomicLong clock = new AtomicLong();
        LoggingProgressListener listener = new LoggingProgressListener(Duration.ofSeconds(5), clock::get);

        for (int second = 0; second <= 20; second++) {
            clock.set(Duration.ofSeconds(second).toNanos());
            listener.onProgress("model.safetensors", second, 1_000_000);
        }

        assertThat(listener.progressLines()).isEqualTo(5); // t = 0, 5, 10, 15, 20 s
    }

    @Test
    void unknownTotalsAreThrottledByTime() {
        AtomicLong clock = new AtomicLong();
        LoggingProgressListener listener = new LoggingProgressListener(Duration.ofSeconds(5), clock::get);

        for (int i = 0; i < 100; i++) {
            listener.onProgress("x", i, -1);
        }

        assertThat(listener.progressLines()).isEqualTo(1);
        assertThat(LoggingProgressListener.human(1536)).isEqualTo("1.5 KiB");
    }
}
