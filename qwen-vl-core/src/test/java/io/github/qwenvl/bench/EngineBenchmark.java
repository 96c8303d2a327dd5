package io.github.qwenvl.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.checkpoint.SafetensorsCheckpoint;
import io.github.qwenvl.engine.DjlRuntime;
import io.github.qwenvl.generate.LogitsSampler;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.nn.Ops;
import io.github.qwenvl.nn.cpu.Kernels;
import io.github.qwenvl.nn.cpu.WeightMatrix;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Times the engine on a full-size random-weight checkpoint ({@link RandomCheckpoint}): load, peak RSS, image
 * preprocessing and vision tower, prefill, time to first token and decode, and puts decode next to the
 * machine's measured matrix-vector bandwidth (the bound for a memory-bound decoder: every weight of the
 * language model, tied embedding as LM head included, is read once per token).
 *
 * <pre>
 * mvn -o -q -pl qwen-vl-core test -Dtest=EngineBenchmarkLauncher -Dqwenvl.bench.model=qwen2-vl-2b
 * </pre>
 *
 * Prints a plain-text table and appends one JSON line to {@code target/bench-results.jsonl}
 * ({@code -Dqwenvl.bench.results}). Settings (system properties): {@code qwenvl.bench.threads} (default: available
 * processors), {@code qwenvl.bench.dir} (checkpoint cache), {@code qwenvl.bench.decodeTokens} (32),
 * {@code qwenvl.bench.decodeRuns} (3), {@code qwenvl.bench.images} ("448x448,1344x1008"; "none"),
 * {@code qwenvl.bench.imageRuns} (3), {@code qwenvl.bench.bandwidthDim} (8192), {@code qwenvl.bench.matmulDim}
 * (1024), {@code qwenvl.bench.decodeContexts} ("1,128,1024"; empty skips it) and {@code qwenvl.bench.sweepTokens} (16)
 * for the decode-mode sweep ({@link #decodeSweep}: ENGINE, JAVA and JAVA_INT8 decode steps at each context),
 * {@code qwenvl.bench.copies} (true), {@code qwenvl.bench.weightCacheDir} ("target/weight-cache"; "none"),
 * {@code qwenvl.bench.device} and {@code qwenvl.bench.precision} (cpu, float32), {@code qwenvl.bench.weightMode} (auto;
 * BF16_MATMUL times the model with its layer products in bfloat16). docs/performance.md describes them
 * and the figures.
 */
public final class EngineBenchmark {

    /** What to run. */
    public record Settings(String model, int threads, Path cacheRoot, Path fixtures, Path results, int decodeTokens,
                           int decodeRuns, List<int[]> images, int bandwidthDim, int matmulDim,
                           List<Integer> decodeContexts, int sweepTokens, int imageRuns, Path weightCacheDir) {

        /** Without the decode-mode sweep settings: contexts 1 and 16, 4 tokens each (for the tiny CI models). */
        public Settings(String model, int threads, Path cacheRoot, Path fixtures, Path results, int decodeTokens,
                        int decodeRuns, List<int[]> images, int bandwidthDim, int matmulDim) {
            this(model, threads, cacheRoot, fixtures, results, decodeTokens, decodeRuns, images, bandwidthDim, matmulDim,
                    List.of(1, 16), 4, 1, null);
        }

        public static Settings fromSystemProperties(String model) {
            return new Settings(model,
                    intProperty("qwenvl.bench.threads", Runtime.getRuntime().availableProcessors()),
                    RandomCheckpoint.cacheRoot(),
                    RandomCheckpoint.fixtureRoot(),
                    Paths.get(System.getProperty("qwenvl.bench.results", "target/bench-results.jsonl")).toAbsolutePath(),
                    intProperty("qwenvl.bench.decodeTokens", 32),
                    intProperty("qwenvl.bench.decodeRuns", 3),
                    parseImages(System.getProperty("qwenvl.bench.images", "448x448,1344x1008")),
                    intProperty("qwenvl.bench.bandwidthDim", 8192),
                    intProperty("qwenvl.bench.matmulDim", 1024),
                    parseInts(System.getProperty("qwenvl.bench.decodeContexts", "1,128,1024")),
                    intProperty("qwenvl.bench.sweepTokens", 16),
                    intProperty("qwenvl.bench.imageRuns", 3),
                    weightCacheDir(System.getProperty("qwenvl.bench.weightCacheDir", "target/weight-cache")));
        }

        private static Path weightCacheDir(String spec) {
            return spec.isBlank() || spec.equalsIgnoreCase("none") ? null : Paths.get(spec).toAbsolutePath();
        }

        private static int intProperty(String key, int fallback) {
            String v = System.getProperty(key);
            return v == null || v.isBlank() || Integer.parseInt(v.trim()) <= 0 ? fallback : Integer.parseInt(v.trim());
        }

        static List<Integer> parseInts(String spec) {
            List<Integer> values = new ArrayList<>();
            for (String v : spec.split(",")) {
                if (!v.isBlank()) {
                    values.add(Integer.parseInt(v.trim()));
                }
            }
            return List.copyOf(values);
        }

        static List<int[]> parseImages(String spec) {
            List<int[]> sizes = new ArrayList<>();
            if (spec.trim().equalsIgnoreCase("none")) {
                return sizes;
            }
            for (String s : spec.split(",")) {
                if (!s.isBlank()) {
                    String[] wh = s.trim().toLowerCase(Locale.ROOT).split("x");
                    sizes.add(new int[] {Integer.parseInt(wh[0]), Integer.parseInt(wh[1])});
                }
            }
            return sizes;
        }
    }

    /** One image request (maxNewTokens 1: preprocessing, vision tower, prefill, first token). */
    public record ImageRun(int width, int height, int resizedWidth, int resizedHeight, int imageTokens,
                           int promptTokens, double preprocessMillis, double visionMillis, double prefillMillis,
                           double firstTokenMillis) {
        /** The run of a one-image request for a width × height image, from its result. */
        static ImageRun of(int width, int height, GenerationResult r) {
            ImageInfo info = r.images().get(0);
            GenerationResult.Timings t = r.timings();
            return new ImageRun(width, height, info.resizedWidth(), info.resizedHeight(), info.tokens(),
                    r.usage().promptTokens(), t.preprocessMillis(), t.visionMillis(), t.prefillMillis(),
                    t.firstTokenMillis());
        }

        public double prefillTokensPerSecond() {
            return promptTokens * 1000.0 / prefillMillis;
        }
    }

    /** One text request of decodeTokens forced tokens. */
    public record DecodeRun(int promptTokens, int completionTokens, double prefillMillis, double firstTokenMillis,
                            double decodeMillis, double tokensPerSecond) {
    }

    /**
     * Decode steps of one mode at one context: a prompt of {@code context} random ids prefilled on the engine,
     * 2 untimed steps, then {@code tokens} timed steps. {@code bytesPerToken}: weights read per step (f32 copies
     * on the engine, the stored BF16 in Java) plus the KV cache at that context (f32).
     */
    public record SweepRun(String mode, int context, int tokens, double seconds, long bytesPerToken) {
        public double tokensPerSecond() {
            return tokens / seconds;
        }

        public double effectiveGBs() {
            return bytesPerToken * tokensPerSecond() / 1e9;
        }
    }

    /**
     * Loads with the opt-in float32 weight cache ({@code QwenVlOptions.weightCacheDir}): the first load (writes the
     * entry unless an earlier run did), a second load (maps it), and the first 448×448 request right after that load
     * (it pays for faulting the mapped weights in).
     */
    public record WeightCacheRun(double firstLoadSeconds, boolean written, double loadSeconds,
                                 double firstRequestFirstTokenMillis) {
    }

    /**
     * The same model held as float32 copies of every weight ({@code WeightMode.FLOAT32_COPIES}, the alternative to the
     * default per-layer widening), loaded after the default model's phases and the sweep: its load, RSS after it and
     * peak over 448×448 requests, and those requests.
     */
    public record CopiesRun(double loadSeconds, double rssAfterLoadGiB, double peakRssGiB, List<ImageRun> images) {
    }

    /** Everything measured. */
    public record Report(String model, String architecture, int threads, String cpu, int processors,
                         boolean checkpointGenerated, double checkpointSeconds, long checkpointBytes,
                         double engineStartSeconds, double onePassSeconds, double loadSeconds, long parameters,
                         long weightBytes,
                         long decodeBytesPerToken, double rssAfterLoadGiB, double peakRssGiB,
                         List<ImageRun> images, List<String> skippedImages, List<DecodeRun> decodes,
                         double bandwidthGBs, double matmulGflops, double javaBandwidthGBs, String javaKernels,
                         double javaQ8BandwidthGBs, List<SweepRun> sweep, WeightCacheRun weightCache, Map<String, Double> peakRssByPhase,
                         String device, CopiesRun copies) {

        /** Decode tok/s of a mode at a context in the sweep (NaN if not run). */
        public double sweepTokensPerSecond(String mode, int context) {
            return sweep.stream().filter(r -> r.mode().equals(mode) && r.context() == context)
                    .mapToDouble(SweepRun::tokensPerSecond).findFirst().orElse(Double.NaN);
        }

        public double medianDecodeTokensPerSecond() {
            return median(decodes.stream().mapToDouble(DecodeRun::tokensPerSecond).toArray());
        }

        /** Decode tokens/s if every weight byte streamed at the measured matrix-vector bandwidth. */
        public double boundTokensPerSecond() {
            return bandwidthGBs * 1e9 / decodeBytesPerToken;
        }

        public double decodePercentOfBound() {
            return 100.0 * medianDecodeTokensPerSecond() / boundTokensPerSecond();
        }

        /** The runs of one image size, in order. */
        public List<ImageRun> imageRuns(int width, int height) {
            return images.stream().filter(i -> i.width() == width && i.height() == height).toList();
        }

        public double medianTextFirstTokenMillis() {
            return median(decodes.stream().mapToDouble(DecodeRun::firstTokenMillis).toArray());
        }
    }

    private EngineBenchmark() {
    }

    public static void main(String[] args) {
        String model = args.length > 0 ? args[0] : System.getProperty("qwenvl.bench.model", Qwen2VlSpec.QWEN2_VL_2B.name());
        Settings settings = Settings.fromSystemProperties(model);
        Report report = run(settings, System.out);
        print(report, System.out);
        appendJson(report, settings.results());
        System.out.println("appended to " + settings.results());
        System.exit(0); // DJL / PyTorch keep non-daemon threads in some versions
    }

    public static Report run(Settings s, PrintStream log) {
        ModelSpec spec = ModelSpec.named(s.model());
        log.printf("[bench] checkpoint %s under %s%n", spec.name(), s.cacheRoot());
        RandomCheckpoint.Prepared prepared = RandomCheckpoint.ensure(spec, s.cacheRoot(), s.fixtures());
        log.printf("[bench] %s (%.2f GB%s)%n", prepared.directory(), prepared.bytes() / 1e9,
                prepared.generated() ? String.format(Locale.ROOT, ", written in %.1f s", prepared.seconds()) : ", cached");

        long t0 = System.nanoTime();
        Engine engine = DjlRuntime.start(s.threads());
        double engineStart = seconds(t0);
        // -Dqwenvl.bench.device=gpu / -Dqwenvl.bench.precision=float16: the same phases on CUDA (the Java decode and
        // the float32 weight cache are CPU features: the sweep then times ENGINE steps only, the cache run is skipped)
        QwenVlOptions.DeviceKind deviceKind = QwenVlOptions.DeviceKind.valueOf(
                System.getProperty("qwenvl.bench.device", "cpu").trim().toUpperCase(Locale.ROOT));
        QwenVlOptions.Precision precision = QwenVlOptions.Precision.valueOf(
                System.getProperty("qwenvl.bench.precision", "float32").trim().toUpperCase(Locale.ROOT));
        Device device = DjlRuntime.device(engine, deviceKind);
        String deviceName = device.isGpu() ? device + " " + precision.name().toLowerCase(Locale.ROOT) : "cpu";
        int threads = Integer.parseInt(System.getProperty("ai.djl.pytorch.num_threads", String.valueOf(s.threads())));

        log.printf("[bench] kernels: %d threads, %dx%d f32 matrix x vector, %d^3 matmul%n", threads,
                s.bandwidthDim(), s.bandwidthDim(), s.matmulDim());
        double bandwidth = matVecBandwidth(engine, device, s.bandwidthDim());
        double gflops = matMulGflops(engine, device, s.matmulDim());
        // the Java kernel on the same number of bytes: (n, 2n) BF16 = (n, n) f32
        double javaBandwidth = JavaMatVecBandwidth.gbPerSecond(WeightMatrix.Format.BF16, s.bandwidthDim(),
                2 * s.bandwidthDim(), threads, 3, 15);
        // the int8 kernel on a matrix of the same element count (its bytes: 1 per element plus the scales)
        double javaQ8Bandwidth = JavaMatVecBandwidth.gbPerSecond(WeightMatrix.Format.Q8, s.bandwidthDim(),
                2 * s.bandwidthDim(), threads, 3, 15);
        log.printf("[bench] mat-vec: engine f32 %.1f GB/s, Java %s BF16 %.1f GB/s, Q8 %.1f GB/s%n", bandwidth,
                Kernels.get().name(), javaBandwidth, javaQ8Bandwidth);
        Map<String, Double> phases = new LinkedHashMap<>();
        long decodeBytes = decodeBytesPerToken(prepared.directory(), 4);
        // the kernel measurements' matrices (256 MB direct buffers among them) are garbage now: collect them so that
        // the phases below count the model's memory, not the harness's
        System.gc();
        // the checkpoint bytes once, right before the load (from the page cache, as the load then reads them)
        readOnce(prepared.directory());
        t0 = System.nanoTime();
        long passBytes = readOnce(prepared.directory());
        double onePass = seconds(t0);
        log.printf("[bench] one pass over %.2f GB of checkpoint: %.2f s; loading %s%n", passBytes / 1e9, onePass,
                prepared.directory());
        resetPeakRss();
        t0 = System.nanoTime();
        List<ImageRun> images = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        List<DecodeRun> decodes = new ArrayList<>();
        double rssAfterLoad;
        double load;
        long parameters;
        long weightBytes;
        String architecture;
        // -Dqwenvl.bench.weightMode=BF16_MATMUL: the model's layer products in bfloat16 (default AUTO)
        QwenVlOptions.WeightMode weightMode = QwenVlOptions.WeightMode.valueOf(
                System.getProperty("qwenvl.bench.weightMode", "auto").trim().toUpperCase(Locale.ROOT));
        if (weightMode != QwenVlOptions.WeightMode.AUTO) {
            deviceName += ", weight mode " + weightMode; // in the printed table and the JSON line
        }
        try (QwenVlModel model = QwenVlModel.load(prepared.directory(), QwenVlOptions.defaults().withThreads(threads)
                .withDevice(deviceKind).withPrecision(precision).withWeightMode(weightMode))) {
            load = seconds(t0);
            rssAfterLoad = procStatusGiB("VmRSS");
            parameters = model.info().parameters();
            weightBytes = model.info().weightBytes();
            architecture = model.info().architecture().toString();
            log.printf("[bench] loaded in %.1f s, RSS %.2f GiB; warm-up%n", load, rssAfterLoad);
            phases.put("load", procStatusGiB("VmHWM"));
            resetPeakRss();

            // warm-up: first-call costs (kernel selection, allocator growth) of both towers, not timed
            model.generate(imageRequest(syntheticImage(56, 56), forced(2)));

            for (int[] size : s.images()) {
                double needGiB = predictedVisionAttentionBytes(spec, size[0], size[1]) / (1024.0 * 1024 * 1024);
                double availableGiB = memAvailableGiB();
                if (needGiB > availableGiB) {
                    String why = String.format(Locale.ROOT, "%dx%d skipped: the vision tower would hold ~%.0f GiB of"
                            + " attention matrices, %.1f GiB available", size[0], size[1], needGiB, availableGiB);
                    skipped.add(why);
                    log.printf("[bench] %s%n", why);
                    continue;
                }
                for (int run = 1; run <= s.imageRuns(); run++) {
                    log.printf("[bench] image %dx%d, run %d/%d%n", size[0], size[1], run, s.imageRuns());
                    images.add(ImageRun.of(size[0], size[1],
                            model.generate(imageRequest(syntheticImage(size[0], size[1]), forced(1)))));
                    log.printf("[bench]   %s%n", images.get(images.size() - 1));
                }
            }
            phases.put("image requests", procStatusGiB("VmHWM"));
            resetPeakRss();
            for (int i = 0; i < s.decodeRuns(); i++) {
                log.printf("[bench] decode run %d/%d (%d tokens)%n", i + 1, s.decodeRuns(), s.decodeTokens());
                GenerationResult r = model.generate(GenerationRequest.of(ChatMessage.user(
                        "Write a long story about a lighthouse keeper who finds a message in a bottle.")).withOptions(
                        forced(s.decodeTokens())));
                GenerationResult.Timings t = r.timings();
                int completion = r.usage().completionTokens();
                decodes.add(new DecodeRun(r.usage().promptTokens(), completion, t.prefillMillis(), t.firstTokenMillis(),
                        t.decodeMillis(), t.decodeTokensPerSecond(completion)));
                log.printf("[bench]   %s%n", decodes.get(decodes.size() - 1));
            }
            phases.put("text requests (decode)", procStatusGiB("VmHWM"));
        }
        // the model's own peak: its load and requests (the sweep and weight-cache phases below load further
        // networks into the same process; their peaks are listed per phase)
        double peakRss = phases.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        // The decode-mode sweep loads its own network, after the model above is closed: the load and the requests
        // above are then those of a fresh process (a service's first load, no other network's allocation history
        // in glibc's heap or the JVM's), as for a user.
        resetPeakRss();
        List<SweepRun> sweep = spec.qwen2Decoder()
                ? decodeSweep(prepared.directory(), threads, s.decodeContexts(), s.sweepTokens(), device,
                        precision == QwenVlOptions.Precision.FLOAT16 ? ai.djl.ndarray.types.DataType.FLOAT16
                                : ai.djl.ndarray.types.DataType.FLOAT32, log)
                : List.of(); // the engine/Java decode-mode sweep is a Qwen2-family feature
        // the sweep's network is closed; its BF16 mappings go away only when their buffers are collected
        System.gc();
        phases.put("decode sweep (its own network)", procStatusGiB("VmHWM"));

        CopiesRun copies = null;
        if (spec.qwen2Decoder() && !device.isGpu() && Boolean.parseBoolean(System.getProperty("qwenvl.bench.copies", "true"))) {
            resetPeakRss();
            copies = copiesRun(prepared.directory(), threads, s.imageRuns(), log);
            phases.put("float32 copies: load + 448x448 requests", procStatusGiB("VmHWM"));
        }
        WeightCacheRun cacheRun = null;
        if (s.weightCacheDir() != null && !device.isGpu()) {
            resetPeakRss();
            cacheRun = weightCacheRun(prepared.directory(), threads, s.weightCacheDir(), log);
            phases.put("weight-cache loads + one request", procStatusGiB("VmHWM"));
        }
        return new Report(spec.name(), architecture, threads, cpuModel(), Runtime.getRuntime().availableProcessors(),
                prepared.generated(), prepared.seconds(), prepared.bytes(), engineStart, onePass, load, parameters,
                weightBytes,
                decodeBytes, rssAfterLoad, peakRss, List.copyOf(images), List.copyOf(skipped),
                List.copyOf(decodes),
                bandwidth, gflops, javaBandwidth, Kernels.get().name(), javaQ8Bandwidth, sweep, cacheRun, phases,
                deviceName, copies);
    }

    /**
     * Resets VmHWM (Linux: writing 5 to /proc/self/clear_refs), so the next reading is the peak of one phase. Where
     * that is not possible the readings are cumulative peaks, which only overstates later phases.
     */
    static void resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // not Linux, or not allowed
        }
    }

    /** See {@link CopiesRun}; the models measured before are closed. */
    static CopiesRun copiesRun(Path dir, int threads, int runs, PrintStream log) {
        System.gc();
        long t0 = System.nanoTime();
        try (QwenVlModel model = QwenVlModel.load(dir, QwenVlOptions.defaults().withThreads(threads)
                .withWeightMode(QwenVlOptions.WeightMode.FLOAT32_COPIES))) {
            double load = seconds(t0);
            double rss = procStatusGiB("VmRSS");
            log.printf("[bench] float32 copies: loaded in %.1f s, RSS %.2f GiB%n", load, rss);
            model.generate(imageRequest(syntheticImage(56, 56), forced(2)));
            List<ImageRun> images = new ArrayList<>();
            for (int run = 1; run <= runs; run++) {
                images.add(ImageRun.of(448, 448, model.generate(imageRequest(syntheticImage(448, 448), forced(1)))));
                log.printf("[bench]   float32 copies %s%n", images.get(images.size() - 1));
            }
            return new CopiesRun(load, rss, procStatusGiB("VmHWM"), List.copyOf(images));
        }
    }

    /** See {@link WeightCacheRun}; the model measured above is closed, so at most one copy is held. */
    static WeightCacheRun weightCacheRun(Path dir, int threads, Path cacheDir, PrintStream log) {
        QwenVlOptions options = QwenVlOptions.defaults().withThreads(threads).withWeightCacheDir(cacheDir);
        boolean existed;
        try (var entries = Files.list(cacheDir)) {
            existed = entries.anyMatch(e -> e.getFileName().toString().startsWith(dir.getFileName() + "-"));
        } catch (IOException e) {
            existed = false;
        }
        System.gc();
        long t0 = System.nanoTime();
        try (QwenVlModel model = QwenVlModel.load(dir, options)) {
            model.info();
        }
        double first = seconds(t0);
        System.gc();
        log.printf("[bench] weight cache %s: first load %.1f s (%s)%n", cacheDir, first, existed ? "entry reused" : "entry written");
        t0 = System.nanoTime();
        try (QwenVlModel model = QwenVlModel.load(dir, options)) {
            double load = seconds(t0);
            GenerationResult r = model.generate(imageRequest(syntheticImage(448, 448), forced(1)));
            log.printf("[bench] weight cache: load %.2f s, first 448x448 request first token %.0f ms%n", load,
                    r.timings().firstTokenMillis());
            return new WeightCacheRun(first, !existed, load, r.timings().firstTokenMillis());
        }
    }

    /**
     * Decode tok/s of ENGINE and JAVA steps at each context, on one network loaded here (and closed before the
     * model-level measurements load the model again), sessions opened directly with a forced decode mode.
     */
    static List<SweepRun> decodeSweep(Path dir, int threads, List<Integer> contexts, int tokens, Device device,
                                      ai.djl.ndarray.types.DataType matrixType, PrintStream log) {
        List<SweepRun> runs = new ArrayList<>();
        if (contexts.isEmpty()) {
            return runs;
        }
        ModelConfig config = ModelConfig.load(dir);
        long engineWeights = decodeBytesPerToken(dir, 4);
        // one network for ENGINE and JAVA (BF16) steps, then one loaded with JAVA_INT8 for the int8 steps (CPU only)
        List<QwenVlOptions.DecodeMode> loads = device.isGpu() ? List.of(QwenVlOptions.DecodeMode.AUTO)
                : List.of(QwenVlOptions.DecodeMode.AUTO, QwenVlOptions.DecodeMode.JAVA_INT8);
        for (QwenVlOptions.DecodeMode loadMode : loads) {
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
                 NDManager manager = NDManager.newBaseManager(device)) {
                long t0 = System.nanoTime();
                // ENGINE steps run every layer on the engine: its network holds float32 copies (widening every layer
                // at every step is what WIDEN_PER_LAYER is not for); the int8 network is loaded as a service would be
                SweepNetwork net = SweepNetwork.load(config, ckpt, manager, matrixType, loadMode, threads,
                        loadMode == QwenVlOptions.DecodeMode.AUTO ? QwenVlOptions.WeightMode.FLOAT32_COPIES
                                : QwenVlOptions.WeightMode.AUTO);
                log.printf("[bench] sweep: network loaded (%s) in %.1f s; Java decoder: %s%n", loadMode, seconds(t0),
                        net.javaDecoder() == null ? "none" : net.javaDecoder().kernels().name() + ", "
                                + net.javaDecoder().weightFormat());
                List<QwenVlOptions.DecodeMode> modes = loadMode == QwenVlOptions.DecodeMode.JAVA_INT8
                        ? List.of(QwenVlOptions.DecodeMode.JAVA_INT8)
                        : List.of(QwenVlOptions.DecodeMode.ENGINE, QwenVlOptions.DecodeMode.JAVA);
                try {
                    var text = net.text();
                    java.util.Random random = new java.util.Random(11);
                    for (int context : contexts) {
                        int[] ids = new int[context];
                        for (int i = 0; i < context; i++) {
                            ids[i] = random.nextInt(Math.min(text.vocabSize(), 151643));
                        }
                        long kvBytes = 2L * text.numLayers() * text.numKeyValueHeads() * text.headDim() * 4 * context;
                        for (QwenVlOptions.DecodeMode mode : modes) {
                            if (mode != QwenVlOptions.DecodeMode.ENGINE && net.javaDecoder() == null) {
                                continue;
                            }
                            long weights = mode != QwenVlOptions.DecodeMode.ENGINE
                                    ? net.javaDecoder().bytesPerToken() : engineWeights;
                            try (io.github.qwenvl.generate.DecodingSession session = net.open(manager, ids,
                                    context + tokens + 2, mode)) {
                                long p0 = System.nanoTime();
                                float[] logits = session.prefill();
                                double prefill = seconds(p0);
                                int next = LogitsSampler.argmax(logits);
                                for (int i = 0; i < 2; i++) {
                                    next = LogitsSampler.argmax(session.next(next));
                                }
                                long d0 = System.nanoTime();
                                for (int i = 0; i < tokens; i++) {
                                    next = LogitsSampler.argmax(session.next(next));
                                }
                                SweepRun run = new SweepRun(mode.name(), context, tokens, seconds(d0),
                                        weights + kvBytes);
                                runs.add(run);
                                log.printf(Locale.ROOT, "[bench]   %s context %d: prefill %.1f s, decode %.2f tok/s"
                                                + " (%.1f GB/s effective)%n",
                                        mode, context, prefill, run.tokensPerSecond(), run.effectiveGBs());
                            }
                        }
                    }
                } finally {
                    net.close();
                }
            }
        }
        return runs;
    }

    /**
     * The vision tower's peak attention working set for one image: blocks free their intermediates as they
     * end and attention runs in query-row blocks of about 4M scores (at least 64 rows), so the peak is three
     * (heads, rows, L) f32 tensors (scores, scaled, softmax) of the largest segment — the whole image in a
     * full-attention block. Used to skip an image that would get the process OOM-killed. Qwen-VL's tower does not
     * split the rows: its whole (heads, 1024, 1024) scores count (three tensors bound its two, scores and
     * softmax); its input size never changes it.
     */
    static long predictedVisionAttentionBytes(ModelSpec spec, int width, int height) {
        long patches = spec.visionPatches(width, height);
        boolean anyFull = !spec.qwen25() || spec.fullAttention().length > 0;
        long window = spec.qwen25() ? (long) (spec.windowSize() / ModelSpec.PATCH) * (spec.windowSize() / ModelSpec.PATCH) : 0;
        long segment = anyFull ? patches : Math.min(window, patches);
        long rows = spec.qwen2Decoder()
                ? Math.min(segment, Math.max(64, (4L << 20) / ((long) spec.visionHeads() * segment)))
                : segment;
        return 3L * 4 * spec.visionHeads() * rows * segment;
    }

    /** MemAvailable of /proc/meminfo in GiB (+infinity where unknown). */
    static double memAvailableGiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.substring(13).trim().split("\\s+")[0]) / (1024.0 * 1024.0);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return Double.POSITIVE_INFINITY;
    }

    /** Greedy, exactly n new tokens (minNewTokens keeps eos from ending it early). */
    static GenerationOptions forced(int n) {
        return GenerationOptions.builder().temperature(0.0).repetitionPenalty(1.0).maxNewTokens(n).minNewTokens(n).build();
    }

    static GenerationRequest imageRequest(BufferedImage image, GenerationOptions options) {
        return new GenerationRequest(List.of(ChatMessage.user(Content.image(ImageSource.of(image)),
                Content.text("Describe this image."))), options);
    }

    /** A deterministic RGB pattern: gradients, a checkerboard and a diagonal stripe (no flat areas). */
    static BufferedImage syntheticImage(int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int r = x * 255 / Math.max(1, width - 1);
                int g = y * 255 / Math.max(1, height - 1);
                int b = ((x / 32 + y / 32) & 1) == 0 ? 40 : 220;
                if (Math.abs(x - y) < 12) {
                    r = 255 - r;
                    g = 255 - g;
                }
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return img;
    }

    /**
     * Bytes read per decoded token: every language-model weight once (layers, final norm, and the LM head —
     * the tied embedding matrix when there is no lm_head.weight), at {@code bytesPerElement} (4: float32 on CPU).
     * The vision tower is not touched while decoding; the embedding lookup reads one row (ignored). Qwen2 names
     * ({@code model.*}) and Qwen-VL names ({@code transformer.h.*}, {@code transformer.ln_f}; its
     * {@code transformer.visual.*} is the vision tower).
     */
    static long decodeBytesPerToken(Path dir, int bytesPerElement) {
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            long elements = 0;
            // Qwen3-VL nests the decoder under model.language_model. and the vision tower under model.visual.
            String embed = ckpt.contains("model.language_model.embed_tokens.weight")
                    ? "model.language_model.embed_tokens.weight" : "model.embed_tokens.weight";
            String head = ckpt.contains("lm_head.weight") ? "lm_head.weight" : embed;
            for (String name : ckpt.names()) {
                boolean lmBody = (name.startsWith("model.") && !name.startsWith("model.visual.") && !name.equals(embed))
                        || (name.startsWith("transformer.") && !name.startsWith("transformer.visual.")
                        && !name.equals("transformer.wte.weight"));
                if (lmBody || name.equals(head)) {
                    elements += ckpt.info(name).elementCount();
                }
            }
            return elements * bytesPerElement;
        }
    }

    /**
     * One pass over the checkpoint's bytes: every weight file read sequentially through a 64 MiB buffer (from
     * the page cache when the files were read recently, as they are right before a load). The load target is
     * expressed against this time.
     */
    static long readOnce(Path dir) {
        java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocateDirect(64 << 20);
        long total = 0;
        try (var files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".safetensors") || f.toString().endsWith(".bin"))
                    .sorted().toList()) {
                try (var channel = java.nio.channels.FileChannel.open(file, StandardOpenOption.READ)) {
                    int n;
                    while ((n = channel.read(buffer.clear())) > 0) {
                        total += n;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return total;
    }

    /** GB/s of a (1, n) x (n, n)^T f32 product through the engine's own linear op (the decode kernel). */
    static double matVecBandwidth(Engine engine, Device device, int n) {
        try (NDManager m = engine.newBaseManager(device)) {
            NDArray w = m.randomUniform(-1f, 1f, new Shape(n, n));
            NDArray x = m.randomUniform(-1f, 1f, new Shape(1, n));
            double seconds = medianSeconds(3, 15, () -> Ops.linear(x, w, null));
            return (double) n * n * 4 / seconds / 1e9;
        }
    }

    /** GFLOP/s of an n x n x n f32 matrix product. */
    static double matMulGflops(Engine engine, Device device, int n) {
        try (NDManager m = engine.newBaseManager(device)) {
            NDArray a = m.randomUniform(-1f, 1f, new Shape(n, n));
            NDArray b = m.randomUniform(-1f, 1f, new Shape(n, n));
            double seconds = medianSeconds(2, 9, () -> a.matMul(b));
            return 2.0 * n * n * n / seconds / 1e9;
        }
    }

    private static double medianSeconds(int warmup, int runs, Supplier<NDArray> op) {
        for (int i = 0; i < warmup; i++) {
            op.get().close();
        }
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            NDArray r = op.get();
            if (r.getDevice().isGpu()) {
                // CUDA ops return before they ran: reading one element waits for the product
                try (NDArray one = r.flatten().get(0)) {
                    one.getFloat();
                }
            }
            t[i] = (System.nanoTime() - start) / 1e9; // CPU ops run eagerly: the product is done on return
            r.close();
        }
        return median(t);
    }

    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** A /proc/self/status memory field (VmRSS, VmHWM) in GiB; NaN where /proc is missing. */
    static double procStatusGiB(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    String kb = line.substring(field.length() + 1).trim().split("\\s+")[0];
                    return Long.parseLong(kb) / (1024.0 * 1024.0);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return Double.NaN;
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    public static void print(Report r, PrintStream out) {
        out.println();
        out.printf("Engine benchmark: %s (%s, random BF16 weights, default weight and decode modes), %s%n", r.model(), r.architecture(),
                OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS));
        out.printf("Machine: %s, %d processors, %d engine threads; device %s%n", r.cpu(), r.processors(), r.threads(),
                r.device());
        out.println("-".repeat(78));
        row(out, "parameters", String.format(Locale.ROOT, "%s (%s held)", count(r.parameters()), bytes(r.weightBytes())));
        if (r.checkpointGenerated()) {
            row(out, "checkpoint written", String.format(Locale.ROOT, "%.1f s (%s)", r.checkpointSeconds(),
                    bytes(r.checkpointBytes())));
        }
        row(out, "engine start", String.format(Locale.ROOT, "%.2f s", r.engineStartSeconds()));
        row(out, "checkpoint one pass", String.format(Locale.ROOT, "%.2f s (%s read once, page cache warm)",
                r.onePassSeconds(), bytes(r.checkpointBytes())));
        row(out, "load", String.format(Locale.ROOT, "%.1f s = %.1f x one pass", r.loadSeconds(),
                r.loadSeconds() / r.onePassSeconds()));
        if (r.weightCache() != null) {
            WeightCacheRun c = r.weightCache();
            row(out, "load, float32 weight cache", String.format(Locale.ROOT,
                    "%.2f s = %.1f x one pass (entry %s: first load %.1f s); first 448x448 request after it %.0f ms",
                    c.loadSeconds(), c.loadSeconds() / r.onePassSeconds(), c.written() ? "written" : "reused",
                    c.firstLoadSeconds(), c.firstRequestFirstTokenMillis()));
        }
        row(out, "RSS after load", String.format(Locale.ROOT, "%.2f GiB", r.rssAfterLoadGiB()));
        if (r.copies() != null) {
            CopiesRun c = r.copies();
            List<ImageRun> ours = r.imageRuns(448, 448);
            row(out, "float32 copies: load", String.format(Locale.ROOT, "%.1f s = %.1f x one pass (a later load in the"
                    + " process); RSS after it %.2f GiB, peak with 448x448 requests %.2f GiB", c.loadSeconds(),
                    c.loadSeconds() / r.onePassSeconds(), c.rssAfterLoadGiB(), c.peakRssGiB()));
            double vision = median(c.images(), ImageRun::visionMillis);
            double prefill = median(c.images(), ImageRun::prefillMillis);
            double first = median(c.images(), ImageRun::firstTokenMillis);
            String ratios = ours.isEmpty() ? "" : String.format(Locale.ROOT, "; default / copies: %.2f, %.2f, %.2f",
                    median(ours, ImageRun::visionMillis) / vision,
                    median(ours, ImageRun::prefillMillis) / prefill,
                    median(ours, ImageRun::firstTokenMillis) / first);
            row(out, "float32 copies: 448x448", String.format(Locale.ROOT,
                    "vision %.0f ms, prefill %.0f ms, first token %.0f ms (medians of %d)%s", vision, prefill, first,
                    c.images().size(), ratios));
        }
        row(out, "peak RSS (VmHWM)", String.format(Locale.ROOT, "%.2f GiB (load, image and text requests)", r.peakRssGiB()));
        r.peakRssByPhase().forEach((phase, gib) -> row(out, "  peak RSS, " + phase, String.format(Locale.ROOT, "%.2f GiB", gib)));
        List<String> sizes = r.images().stream().map(i -> i.width() + "x" + i.height()).distinct().toList();
        for (String size : sizes) {
            String[] wh = size.split("x");
            List<ImageRun> runs = r.imageRuns(Integer.parseInt(wh[0]), Integer.parseInt(wh[1]));
            ImageRun i = runs.get(0);
            String label = "image " + size;
            double flops = visionFlops(r, i);
            row(out, label + " size", String.format(Locale.ROOT, "resized %dx%d, %d image tokens, prompt %d tokens",
                    i.resizedWidth(), i.resizedHeight(), i.imageTokens(), i.promptTokens()));
            row(out, label + " preprocess", medianOf(runs, ImageRun::preprocessMillis, "ms"));
            double vision = median(runs, ImageRun::visionMillis);
            row(out, label + " vision", medianOf(runs, ImageRun::visionMillis, "ms")
                    + (flops > 0 ? String.format(Locale.ROOT, " = %.0f GFLOP/s, %.0f %% of matmul", flops / vision / 1e6,
                    100 * flops / vision / 1e6 / r.matmulGflops()) : ""));
            double prefill = median(runs, ImageRun::prefillMillis);
            row(out, label + " prefill", medianOf(runs, ImageRun::prefillMillis, "ms")
                    + String.format(Locale.ROOT, " = %.1f tok/s", i.promptTokens() * 1000.0 / prefill));
            row(out, label + " first token", medianOf(runs, ImageRun::firstTokenMillis, "ms"));
        }
        for (String why : r.skippedImages()) {
            row(out, "image " + why.substring(0, why.indexOf(' ')), why.substring(why.indexOf(' ') + 1));
        }
        if (!r.decodes().isEmpty()) {
            DecodeRun first = r.decodes().get(0);
            row(out, "text prompt first token", String.format(Locale.ROOT, "%.0f ms (median; prompt %d tokens)",
                    r.medianTextFirstTokenMillis(), first.promptTokens()));
            row(out, "decode", String.format(Locale.ROOT, "%.2f tok/s (median of %d x %d tokens: %s)",
                    r.medianDecodeTokensPerSecond(), r.decodes().size(), first.completionTokens(),
                    r.decodes().stream().map(d -> String.format(Locale.ROOT, "%.2f", d.tokensPerSecond())).toList()));
        }
        row(out, "mat-vec bandwidth", String.format(Locale.ROOT, "%.1f GB/s (f32, median)", r.bandwidthGBs()));
        row(out, "matmul", String.format(Locale.ROOT, "%.1f GFLOP/s (f32, median)", r.matmulGflops()));
        row(out, "Java mat-vec bandwidth", String.format(Locale.ROOT, "%.1f GB/s (BF16, %s, median)",
                r.javaBandwidthGBs(), r.javaKernels()));
        row(out, "Java mat-vec bandwidth Q8", String.format(Locale.ROOT, "%.1f GB/s (int8 + scales, median)",
                r.javaQ8BandwidthGBs()));
        row(out, "decode bytes / token", String.format(Locale.ROOT, "%s (LM weights incl. LM head, f32)",
                bytes(r.decodeBytesPerToken())));
        row(out, "decode bound", String.format(Locale.ROOT, "%.2f tok/s at the measured bandwidth",
                r.boundTokensPerSecond()));
        if (!r.decodes().isEmpty()) {
            row(out, "decode vs bound", String.format(Locale.ROOT, "%.0f %% (default decode mode; f32 bytes)",
                    r.decodePercentOfBound()));
        }
        if (!r.sweep().isEmpty()) {
            out.println("decode by mode and context (bound = bytes/token at the engine's f32 | the Java mat-vec GB/s of"
                    + " the mode's format, BF16 or Q8):");
            out.printf("  %-9s %7s %9s %10s %10s %13s %13s %9s%n", "mode", "context", "tok/s", "GB/token", "GB/s eff",
                    "% bound(eng)", "% bound(java)", "vs ENGINE");
            for (SweepRun run : r.sweep()) {
                double engineBound = r.bandwidthGBs() * 1e9 / run.bytesPerToken();
                double javaBound = (run.mode().equals("JAVA_INT8") ? r.javaQ8BandwidthGBs() : r.javaBandwidthGBs())
                        * 1e9 / run.bytesPerToken();
                out.printf(Locale.ROOT, "  %-9s %7d %9.2f %10.3f %10.1f %12.0f%% %12.0f%% %8.2fx%n", run.mode(), run.context(),
                        run.tokensPerSecond(), run.bytesPerToken() / 1e9, run.effectiveGBs(),
                        100 * run.tokensPerSecond() / engineBound, 100 * run.tokensPerSecond() / javaBound,
                        run.tokensPerSecond() / r.sweepTokensPerSecond("ENGINE", run.context()));
            }
        }
        out.println("-".repeat(78));
    }


    /** The median of one figure of {@code runs}. */
    static double median(List<ImageRun> runs, java.util.function.ToDoubleFunction<ImageRun> figure) {
        return median(runs.stream().mapToDouble(figure).toArray());
    }

    private static String medianOf(List<ImageRun> runs, java.util.function.ToDoubleFunction<ImageRun> f, String unit) {
        double[] v = runs.stream().mapToDouble(f).toArray();
        return String.format(Locale.ROOT, "%.0f %s (median of %d: %s)", median(v), unit, v.length,
                Arrays.stream(v).mapToObj(x -> String.format(Locale.ROOT, "%.0f", x)).toList());
    }

    /**
     * Multiply-adds ×2 of the vision tower for one image (the matrix products: patch embedding, q/k/v, scores,
     * weighted sum, projection, MLP, then the merger or Qwen-VL's resampler), see {@link ModelSpec#visionFlops}.
     * Used for "% of matmul".
     */
    static double visionFlops(Report r, ImageRun i) {
        ModelSpec spec = ModelSpec.named(r.model());
        return spec.visionFlops(i.resizedWidth() / spec.patch(), i.resizedHeight() / spec.patch());
    }

    private static String count(long n) {
        return n >= 1e9 ? String.format(Locale.ROOT, "%.3f B", n / 1e9) : String.format(Locale.ROOT, "%.3f M", n / 1e6);
    }

    private static String bytes(long n) {
        return n >= 1e9 ? String.format(Locale.ROOT, "%.2f GB", n / 1e9) : String.format(Locale.ROOT, "%.2f MB", n / 1e6);
    }

    private static void row(PrintStream out, String label, String value) {
        out.printf("%-30s %s%n", label, value);
    }

    public static JsonObject toJson(Report r) {
        JsonObject j = new JsonObject();
        j.addProperty("date", OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
        j.addProperty("model", r.model());
        j.addProperty("architecture", r.architecture());
        j.addProperty("cpu", r.cpu());
        j.addProperty("processors", r.processors());
        j.addProperty("threads", r.threads());
        j.addProperty("device", r.device());
        j.addProperty("parameters", r.parameters());
        j.addProperty("weightBytes", r.weightBytes());
        j.addProperty("engineStartSeconds", round(r.engineStartSeconds()));
        j.addProperty("onePassSeconds", round(r.onePassSeconds()));
        j.addProperty("loadSeconds", round(r.loadSeconds()));
        if (r.weightCache() != null) {
            j.addProperty("weightCacheFirstLoadSeconds", round(r.weightCache().firstLoadSeconds()));
            j.addProperty("weightCacheWritten", r.weightCache().written());
            j.addProperty("weightCacheLoadSeconds", round(r.weightCache().loadSeconds()));
            j.addProperty("weightCacheFirstRequestFirstTokenMillis", round(r.weightCache().firstRequestFirstTokenMillis()));
        }
        if (r.copies() != null) {
            j.addProperty("float32CopiesLoadSeconds", round(r.copies().loadSeconds()));
            j.addProperty("float32CopiesRssAfterLoadGiB", round(r.copies().rssAfterLoadGiB()));
            j.addProperty("float32CopiesPeakRssGiB", round(r.copies().peakRssGiB()));
            j.addProperty("float32Copies448VisionMillis",
                    round(median(r.copies().images(), ImageRun::visionMillis)));
            j.addProperty("float32Copies448PrefillMillis",
                    round(median(r.copies().images(), ImageRun::prefillMillis)));
            j.addProperty("float32Copies448FirstTokenMillis",
                    round(median(r.copies().images(), ImageRun::firstTokenMillis)));
        }
        j.addProperty("rssAfterLoadGiB", round(r.rssAfterLoadGiB()));
        j.addProperty("peakRssGiB", round(r.peakRssGiB()));
        JsonObject phaseRss = new JsonObject();
        r.peakRssByPhase().forEach((phase, gib) -> phaseRss.addProperty(phase, round(gib)));
        j.add("peakRssGiBByPhase", phaseRss);
        JsonArray images = new JsonArray();
        for (ImageRun i : r.images()) {
            JsonObject o = new JsonObject();
            o.addProperty("width", i.width());
            o.addProperty("height", i.height());
            o.addProperty("resizedWidth", i.resizedWidth());
            o.addProperty("resizedHeight", i.resizedHeight());
            o.addProperty("imageTokens", i.imageTokens());
            o.addProperty("promptTokens", i.promptTokens());
            o.addProperty("preprocessMillis", round(i.preprocessMillis()));
            o.addProperty("visionMillis", round(i.visionMillis()));
            o.addProperty("prefillMillis", round(i.prefillMillis()));
            o.addProperty("prefillTokensPerSecond", round(i.prefillTokensPerSecond()));
            o.addProperty("firstTokenMillis", round(i.firstTokenMillis()));
            images.add(o);
        }
        j.add("images", images);
        JsonArray skipped = new JsonArray();
        r.skippedImages().forEach(skipped::add);
        j.add("skippedImages", skipped);
        JsonArray decodes = new JsonArray();
        for (DecodeRun d : r.decodes()) {
            JsonObject o = new JsonObject();
            o.addProperty("promptTokens", d.promptTokens());
            o.addProperty("completionTokens", d.completionTokens());
            o.addProperty("prefillMillis", round(d.prefillMillis()));
            o.addProperty("firstTokenMillis", round(d.firstTokenMillis()));
            o.addProperty("decodeMillis", round(d.decodeMillis()));
            o.addProperty("tokensPerSecond", round(d.tokensPerSecond()));
            decodes.add(o);
        }
        j.add("decodes", decodes);
        j.addProperty("decodeTokensPerSecond", round(r.medianDecodeTokensPerSecond()));
        j.addProperty("textFirstTokenMillis", round(r.medianTextFirstTokenMillis()));
        j.addProperty("matVecBandwidthGBs", round(r.bandwidthGBs()));
        j.addProperty("matMulGflops", round(r.matmulGflops()));
        j.addProperty("decodeBytesPerToken", r.decodeBytesPerToken());
        j.addProperty("decodeBoundTokensPerSecond", round(r.boundTokensPerSecond()));
        j.addProperty("decodePercentOfBound", round(r.decodePercentOfBound()));
        j.addProperty("javaMatVecBandwidthGBs", round(r.javaBandwidthGBs()));
        j.addProperty("javaKernels", r.javaKernels());
        j.addProperty("javaQ8MatVecBandwidthGBs", round(r.javaQ8BandwidthGBs()));
        JsonArray sweep = new JsonArray();
        for (SweepRun run : r.sweep()) {
            JsonObject o = new JsonObject();
            o.addProperty("mode", run.mode());
            o.addProperty("context", run.context());
            o.addProperty("tokens", run.tokens());
            o.addProperty("seconds", round(run.seconds()));
            o.addProperty("tokensPerSecond", round(run.tokensPerSecond()));
            o.addProperty("bytesPerToken", run.bytesPerToken());
            sweep.add(o);
        }
        j.add("decodeSweep", sweep);
        return j;
    }

    private static double round(double v) {
        return Double.isFinite(v) ? Math.round(v * 1000) / 1000.0 : -1;
    }

    public static void appendJson(Report r, Path file) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            Files.writeString(file, new Gson().toJson(toJson(r)) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot append to " + file + ": " + e.getMessage(), e);
        }
    }
}
