package io.github.qwenvl.spring;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

/**
 * Health of the backend, with the requests running (admitted by the gate) and queued; where decode steps are batched
 * also the current shared step's size ({@code batchedRequests}), the requests decoding ({@code decodingRequests},
 * the others run their vision tower or prefill) and {@code maxBatchSize}. Local: UP with architecture, device,
 * parameters and memory once loaded; UNKNOWN while a lazily loaded model waits for its first request; DOWN with the reason when loading failed. Remote: UP when a
 * server lists its models ({@code GET /v1/models}), DOWN with each server's error otherwise.
 */
public class QwenVlHealthIndicator extends AbstractHealthIndicator {

    private final QwenVlBackend backend;
    private final RequestGate gate;

    public QwenVlHealthIndicator(QwenVlBackend backend, RequestGate gate) {
        super("Qwen-VL health check failed");
        this.backend = backend;
        this.gate = gate;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        QwenVlBackend.Health health = backend.health();
        builder.status(new Status(health.status())).withDetails(health.details());
        if ("UP".equals(health.status())) {
            Runtime rt = Runtime.getRuntime();
            builder.withDetail("runningRequests", gate.running())
                    .withDetail("queuedRequests", gate.waiting());
            backend.decodeStats().ifPresent(s -> builder.withDetail("batchedRequests", s.batchSize())
                    .withDetail("decodingRequests", s.decoding())
                    .withDetail("maxBatchSize", s.maxBatchSize()));
            builder.withDetail("jvmHeapUsedBytes", rt.totalMemory() - rt.freeMemory());
        }
    }
}
