package io.github.qwenvl.spring;

import io.github.qwenvl.ModelInfo;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Health of the local model: UP with architecture, device, parameters and memory once loaded;
 * UNKNOWN while a lazily loaded model waits for its first request; DOWN with the reason when loading failed.
 */
public class QwenVlHealthIndicator extends AbstractHealthIndicator {

    private final QwenVlModelHolder holder;
    private final RequestGate gate;

    public QwenVlHealthIndicator(QwenVlModelHolder holder, RequestGate gate) {
        super("Qwen-VL health check failed");
        this.holder = holder;
        this.gate = gate;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        builder.withDetail("model", holder.modelId());
        if (holder.failure().isPresent()) {
            builder.down().withDetail("error", holder.failure().get().getMessage());
            return;
        }
        if (!holder.isLoaded()) {
            builder.unknown().withDetail("loaded", false);
            return;
        }
        ModelInfo info = holder.info().orElseThrow();
        Runtime rt = Runtime.getRuntime();
        builder.up()
                .withDetail("loaded", true)
                .withDetail("architecture", info.architecture().architectureClass())
                .withDetail("device", info.device())
                .withDetail("precision", info.precision().name())
                .withDetail("parameters", info.parameters())
                .withDetail("weightBytes", info.weightBytes())
                .withDetail("contextLength", info.contextLength())
                .withDetail("runningRequests", gate.running())
                .withDetail("queuedRequests", gate.waiting())
                .withDetail("jvmHeapUsedBytes", rt.totalMemory() - rt.freeMemory());
    }
}
