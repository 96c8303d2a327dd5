package io.github.qwenvl.demo.model;

import io.github.qwenvl.demo.api.ApiTypes;
import org.springframework.stereotype.Component;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** The last finished request's numbers, for the status page. */
@Component
public class RequestStats {

    /** @param at when it finished */
    public record Last(Instant at, String endpoint, ApiTypes.Usage usage, ApiTypes.Timings timings, String finishReason,
                       int images, int boxes) {
    }

    private final AtomicReference<Last> last = new AtomicReference<>();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    public void record(String endpoint, ApiTypes.ChatResult result) {
        last.set(new Last(Instant.now(), endpoint, result.usage(), result.timings(), result.finishReason(),
                result.images().size(), result.boxes().size()));
        completed.incrementAndGet();
    }

    public void failed() {
        failed.incrementAndGet();
    }

    public Last last() {
        return last.get();
    }

    public long completed() {
        return completed.get();
    }

    public long failedCount() {
        return failed.get();
    }
}
