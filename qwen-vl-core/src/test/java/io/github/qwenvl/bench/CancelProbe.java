package io.github.qwenvl.bench;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.RequestCancelledException;
import io.github.qwenvl.engine.DjlRuntime;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Development probe: how soon a cancelled image request gives its generation slot back.
 * {@code CancelProbe <model dir> <image, e.g. 1344x1008> <seconds before cancelling, e.g. 2> [runs]}: per run, one image
 * request (no image-token limit) is cancelled that long after it started; printed are the checkpoint it had last
 * passed and the time from {@code cancel} until {@code stream} returned (the slot is free from then on).
 */
public final class CancelProbe {

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int[] size = EngineBenchmark.Settings.parseImages(args[1]).get(0);
        long delayMillis = Math.round(Double.parseDouble(args[2]) * 1000);
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        DjlRuntime.start(2);
        try (QwenVlModel model = QwenVlModel.load(dir, QwenVlOptions.defaults().withThreads(2))) {
            model.generate(EngineBenchmark.imageRequest(EngineBenchmark.syntheticImage(56, 56), EngineBenchmark.forced(2)));
            for (int run = 0; run < runs; run++) {
                CancellationToken token = CancellationToken.create();
                String[] last = {"none"};
                token.observe((checkpoint, index) -> last[0] = checkpoint + " " + index);
                CompletableFuture<String> done = CompletableFuture.supplyAsync(() -> {
                    try {
                        model.stream(EngineBenchmark.imageRequest(EngineBenchmark.syntheticImage(size[0], size[1]),
                                EngineBenchmark.forced(1)), delta -> { }, token);
                        return "finished before the cancel";
                    } catch (RequestCancelledException e) {
                        return "cancelled (" + e.reason() + ")";
                    }
                });
                Thread.sleep(delayMillis);
                String at = last[0];
                long cancelled = System.nanoTime();
                token.cancel(RequestCancelledException.Reason.CLIENT);
                String outcome = done.get();
                System.out.printf("run %d: %dx%d cancelled %.1f s in, at %s: %s, slot free %.2f s after the cancel%n",
                        run + 1, size[0], size[1], delayMillis / 1000.0, at, outcome,
                        (System.nanoTime() - cancelled) / 1e9);
            }
        }
    }

    private CancelProbe() {
    }
}
