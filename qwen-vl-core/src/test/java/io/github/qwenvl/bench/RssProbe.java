package io.github.qwenvl.bench;

import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.engine.DjlRuntime;
import io.github.qwenvl.testing.Glibc;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Path;
import java.util.List;

/**
 * Development probe: where the resident memory of a sequence of image requests goes.
 * {@code RssProbe <model dir> <images, e.g. 448x448,1344x1008 or none> [trim] [int8]}: after the load, one request per
 * image, each printed with its own peak (VmHWM reset before it), the resident set after it split into anonymous and
 * file pages, and the JVM heap; with {@code trim}, glibc's {@code malloc_trim(0)} is called after every request;
 * with {@code int8}, the model decodes with {@code JAVA_INT8}; with {@code copies}, it holds float32 copies of every weight
 * ({@code FLOAT32_COPIES}) instead of widening the layers as they run; with {@code mlp-one-pass}, the model is loaded with
 * its MLPs in one pass instead of {@code RowBlocks}' row blocks (compare with a run without it); with {@code timeline}, see {@link #startTimeline}.
 * With {@code -Dqwenvl.probe.smaps=DIR}, a copy of {@code /proc/self/smaps} is written to DIR at every line printed.
 */
public final class RssProbe {

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        List<int[]> images = EngineBenchmark.Settings.parseImages(args[1]);
        List<String> flags = List.of(args).subList(Math.min(2, args.length), args.length);
        boolean trim = flags.contains("trim");
        if (flags.contains("timeline")) {
            startTimeline();
        }
        QwenVlOptions.DecodeMode mode = flags.contains("int8") ? QwenVlOptions.DecodeMode.JAVA_INT8
                : QwenVlOptions.DecodeMode.AUTO;
        DjlRuntime.start(2);
        QwenVlOptions.WeightMode weightMode = flags.contains("copies") ? QwenVlOptions.WeightMode.FLOAT32_COPIES
                : QwenVlOptions.WeightMode.AUTO;
        long loadStart = System.nanoTime();
        io.github.qwenvl.EngineTuning tuning = flags.contains("mlp-one-pass")
                ? io.github.qwenvl.EngineTuning.DEFAULTS.withMlpBlockElements(Long.MAX_VALUE / 64)
                : io.github.qwenvl.EngineTuning.DEFAULTS;
        try (QwenVlModel model = QwenVlModel.load(dir, QwenVlOptions.defaults().withThreads(2)
                .withDecodeMode(mode).withWeightMode(weightMode).withTuning(tuning))) {
            print("load (" + weightMode + ")", (System.nanoTime() - loadStart) / 1_000_000);
            model.generate(EngineBenchmark.imageRequest(EngineBenchmark.syntheticImage(56, 56), EngineBenchmark.forced(2)));
            print("warm-up", 0);
            for (int i = 0; i < images.size(); i++) {
                int[] size = images.get(i);
                EngineBenchmark.resetPeakRss();
                GenerationResult r = model.generate(EngineBenchmark.imageRequest(
                        EngineBenchmark.syntheticImage(size[0], size[1]), EngineBenchmark.forced(1)));
                long ms = Math.round(r.timings().firstTokenMillis());
                print(String.format("%dx%d v%.1f p%.1f s", size[0], size[1], r.timings().visionMillis() / 1000,
                        r.timings().prefillMillis() / 1000), ms);
                if (trim) {
                    long t0 = System.nanoTime();
                    Glibc.trim();
                    print("  malloc_trim " + (System.nanoTime() - t0) / 1_000_000 + " ms", 0);
                }
            }
        }
        System.exit(0);
    }

    /**
     * With {@code timeline}: every second, the largest RSS / anonymous / heap-committed / glibc malloc (in use, held
     * from the system) figures sampled every 100 ms.
     */
    private static void startTimeline() {
        long start = System.nanoTime();
        Thread t = new Thread(() -> {
            double rss = 0, anon = 0, heap = 0, used = 0, held = 0;
            int n = 0;
            while (true) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
                rss = Math.max(rss, EngineBenchmark.procStatusGiB("VmRSS"));
                anon = Math.max(anon, EngineBenchmark.procStatusGiB("RssAnon"));
                heap = Math.max(heap, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1073741824.0);
                Glibc.MallInfo2 malloc = Glibc.mallinfo2();
                used = Math.max(used, malloc.inUseBytes() / 1073741824.0);
                held = Math.max(held, malloc.heldBytes() / 1073741824.0);
                if (++n % 10 == 0) {
                    System.out.printf("  t %6.1f s  rss %.2f  anon %.2f  heap committed %.2f  malloc in use %.2f held %.2f GiB%n",
                            (System.nanoTime() - start) / 1e9, rss, anon, heap, used, held);
                    rss = anon = heap = used = held = 0;
                }
            }
        }, "rss-timeline");
        t.setDaemon(true);
        t.start();
    }

    private static int smapsCount;

    private static void print(String what, long ms) {
        String smapsDir = System.getProperty("qwenvl.probe.smaps");
        if (smapsDir != null) { // a copy of /proc/self/smaps per line printed, to compare mappings between two points
            try {
                java.nio.file.Files.copy(Path.of("/proc/self/smaps"), Path.of(smapsDir, "smaps-" + (smapsCount++) + ".txt"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        System.out.printf("%-28s %7d ms  peak %.2f  rss %.2f  anon %.2f  file %.2f GiB  heap used %.2f committed %.2f GiB%n",
                what, ms, EngineBenchmark.procStatusGiB("VmHWM"), EngineBenchmark.procStatusGiB("VmRSS"),
                EngineBenchmark.procStatusGiB("RssAnon"), EngineBenchmark.procStatusGiB("RssFile"),
                heap.getUsed() / 1073741824.0, heap.getCommitted() / 1073741824.0);
    }
}
