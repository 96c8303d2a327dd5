package io.github.qwenvl.bench;

import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.engine.DjlRuntime;

import java.nio.file.Path;

/** Development probe: one pass over a checkpoint's bytes, then model loads. {@code LoadProbe <dir> [loads] [weightCacheDir]} */
public final class LoadProbe {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int loads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        QwenVlOptions options = QwenVlOptions.defaults().withThreads(2)
                .withWeightCacheDir(args.length > 2 ? Path.of(args[2]) : null);
        DjlRuntime.start(2);
        for (int i = 0; i < 2; i++) {
            long t0 = System.nanoTime();
            long bytes = EngineBenchmark.readOnce(dir);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("one pass: %.2f GB in %.3f s = %.1f GB/s%n", bytes / 1e9, s, bytes / 1e9 / s);
        }
        for (int i = 0; i < loads; i++) {
            long t0 = System.nanoTime();
            try (QwenVlModel m = QwenVlModel.load(dir, options)) {
                System.out.printf("load: %.2f s, RSS %.2f GiB%n", (System.nanoTime() - t0) / 1e9,
                        EngineBenchmark.procStatusGiB("VmRSS"));
            }
            System.gc();
        }
        System.exit(0);
    }
}
