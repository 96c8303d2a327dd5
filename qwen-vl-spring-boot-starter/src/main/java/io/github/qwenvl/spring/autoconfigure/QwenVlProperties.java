package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.spring.QwenVlChatOptions;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.NestedConfigurationProperty;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** {@code spring.ai.qwen-vl.*}: which model to load, where, how, and the default chat options. */
@ConfigurationProperties(QwenVlProperties.PREFIX)
public class QwenVlProperties {

    public static final String PREFIX = "spring.ai.qwen-vl";
    public static final String DEFAULT_MODEL = "Qwen/Qwen2-VL-2B-Instruct";

    /** A local checkpoint directory, or a Hugging Face repo id such as Qwen/Qwen2-VL-2B-Instruct. */
    private String model = DEFAULT_MODEL;

    /** Hugging Face revision (branch, tag or commit) for a repo id. */
    private String revision = "main";

    /** Hugging Face cache directory (default: $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub). */
    private String cacheDir;

    /** Never download; use only checkpoints already in the cache (default: $HF_HUB_OFFLINE). */
    private Boolean offline;

    /** Hugging Face endpoint (default: $HF_ENDPOINT or https://huggingface.co). */
    private String endpoint;

    /** Hugging Face token for gated or private models (default: $HF_TOKEN). */
    private String token;

    /** Where to compute: auto (a CUDA GPU when DJL finds one), cpu or gpu. */
    private QwenVlOptions.DeviceKind device = QwenVlOptions.DeviceKind.AUTO;

    /** float32 (default) or float16 (GPU only; norms and residual stream stay float32). */
    private QwenVlOptions.Precision precision = QwenVlOptions.Precision.FLOAT32;

    /** Intra-op threads of the engine (default: all cores). */
    private Integer threads;

    /** Load the model on the first request instead of at startup. */
    private boolean lazyLoad;

    /** Generations that run at once; more wait in a queue. */
    private int maxConcurrentRequests = 1;

    /** Requests that may wait for a slot; more are refused at once as "busy". */
    private int maxQueuedRequests = 16;

    /** Longest wait for a generation slot. */
    private Duration queueTimeout = Duration.ofMinutes(2);

    /** Longest generation; a request past it is stopped and fails. */
    private Duration requestTimeout = Duration.ofMinutes(10);

    /** Images per request. */
    private int maxImages = QwenVlOptions.DEFAULT_MAX_IMAGES;

    /** Largest decoded image (pixels), checked from the header before decoding. */
    private long maxImagePixels = QwenVlOptions.DEFAULT_MAX_IMAGE_PIXELS;

    /** Prompt + completion limit (default: the checkpoint's max_position_embeddings). */
    private Integer contextLength;

    /**
     * Token-by-token decoding: auto (Java over the memory-mapped 16-bit weights when the JVM runs with
     * --add-modules jdk.incubator.vector on a CPU, else the engine), engine, java, or java-int8 (opt-in: Java over
     * 8-bit copies of the language model's matrices made at load, ~1.5x faster decode, approximate logits).
     */
    private QwenVlOptions.DecodeMode decodeMode = QwenVlOptions.DecodeMode.AUTO;

    /**
     * Opt-in folder for float32 copies of BF16/F16 checkpoints: written on the first start (4 bytes per
     * parameter of disk), memory-mapped on later ones, so restarts load in about a second instead of widening
     * every weight again. Unset: no cache.
     */
    private java.nio.file.Path weightCacheDir;

    /**
     * How the float32 weights of prefill and vision are held on the CPU: auto (widen-per-layer where possible, else
     * float32-copies), float32-copies (every matrix widened once at load: fastest prefill, 4 more bytes per parameter
     * held, slower start), or widen-per-layer (the layers' matrices widened from the memory-mapped BF16 checkpoint into
     * one reusable layer just before each runs: exact, starts in about a second, about half the memory, the widening
     * costing ~2 % of a vision pass and ~5 % of a short prefill).
     */
    private QwenVlOptions.WeightMode weightMode = QwenVlOptions.WeightMode.AUTO;

    /**
     * Whole-heap garbage collections (30–60 ms each) when the model has loaded, when its first request is done, and
     * when it falls idle after a request that grew the heap by 64 MiB or more: lets G1 give back the heap that the
     * load's short-lived objects, the first request's JIT warm-up and a long prompt's KV cache made it grow
     * (Qwen2-VL-2B: ~1 GiB committed after the load, 0.2–0.5 GiB after the first request, +0.16 GiB for a 1344×1008
     * image; ~30 MB live). Turn off for a service that tunes its heap itself; a no-op under -XX:+DisableExplicitGC.
     */
    private boolean collectGarbage = true;

    @NestedConfigurationProperty
    private final Media media = new Media();

    @NestedConfigurationProperty
    private final Chat chat = new Chat();

    /** Where images may come from besides bytes and data: URLs. */
    public static class Media {
        /** Read file: image URLs named in prompts (off: an application passing a user's URL into Media would let the user read server files). */
        private boolean allowFileUrls = false;
        /** Hosts http(s) image URLs may be fetched from; empty = none (the default). */
        private List<String> allowedHosts = new ArrayList<>();
        /** Largest image download in bytes. */
        private long maxDownloadBytes = 20L << 20;
        /** Deadline of an image download: connecting, the response headers and the whole body together. */
        private Duration downloadTimeout = Duration.ofSeconds(30);

        public boolean isAllowFileUrls() {
            return allowFileUrls;
        }

        public void setAllowFileUrls(boolean allowFileUrls) {
            this.allowFileUrls = allowFileUrls;
        }

        public List<String> getAllowedHosts() {
            return allowedHosts;
        }

        public void setAllowedHosts(List<String> allowedHosts) {
            this.allowedHosts = allowedHosts;
        }

        public long getMaxDownloadBytes() {
            return maxDownloadBytes;
        }

        public void setMaxDownloadBytes(long maxDownloadBytes) {
            this.maxDownloadBytes = maxDownloadBytes;
        }

        public Duration getDownloadTimeout() {
            return downloadTimeout;
        }

        public void setDownloadTimeout(Duration downloadTimeout) {
            this.downloadTimeout = downloadTimeout;
        }
    }

    /** Chat defaults. */
    public static class Chat {
        /** Default options of every request; per-request options override them field by field. */
        @NestedConfigurationProperty
        private QwenVlChatOptions options = QwenVlChatOptions.builder().build();

        public QwenVlChatOptions getOptions() {
            return options;
        }

        public void setOptions(QwenVlChatOptions options) {
            this.options = options;
        }
    }

    public String getModel() {
        return model;
    }

    public void setModel(String model) {
        this.model = model;
    }

    public String getRevision() {
        return revision;
    }

    public void setRevision(String revision) {
        this.revision = revision;
    }

    public String getCacheDir() {
        return cacheDir;
    }

    public void setCacheDir(String cacheDir) {
        this.cacheDir = cacheDir;
    }

    public Boolean getOffline() {
        return offline;
    }

    public void setOffline(Boolean offline) {
        this.offline = offline;
    }

    public String getEndpoint() {
        return endpoint;
    }

    public void setEndpoint(String endpoint) {
        this.endpoint = endpoint;
    }

    public String getToken() {
        return token;
    }

    public void setToken(String token) {
        this.token = token;
    }

    public QwenVlOptions.DeviceKind getDevice() {
        return device;
    }

    public void setDevice(QwenVlOptions.DeviceKind device) {
        this.device = device;
    }

    public QwenVlOptions.Precision getPrecision() {
        return precision;
    }

    public void setPrecision(QwenVlOptions.Precision precision) {
        this.precision = precision;
    }

    public Integer getThreads() {
        return threads;
    }

    public void setThreads(Integer threads) {
        this.threads = threads;
    }

    public boolean isLazyLoad() {
        return lazyLoad;
    }

    public void setLazyLoad(boolean lazyLoad) {
        this.lazyLoad = lazyLoad;
    }

    public int getMaxConcurrentRequests() {
        return maxConcurrentRequests;
    }

    public void setMaxConcurrentRequests(int maxConcurrentRequests) {
        this.maxConcurrentRequests = maxConcurrentRequests;
    }

    public int getMaxQueuedRequests() {
        return maxQueuedRequests;
    }

    public void setMaxQueuedRequests(int maxQueuedRequests) {
        this.maxQueuedRequests = maxQueuedRequests;
    }

    public Duration getQueueTimeout() {
        return queueTimeout;
    }

    public void setQueueTimeout(Duration queueTimeout) {
        this.queueTimeout = queueTimeout;
    }

    public Duration getRequestTimeout() {
        return requestTimeout;
    }

    public void setRequestTimeout(Duration requestTimeout) {
        this.requestTimeout = requestTimeout;
    }

    public int getMaxImages() {
        return maxImages;
    }

    public void setMaxImages(int maxImages) {
        this.maxImages = maxImages;
    }

    public long getMaxImagePixels() {
        return maxImagePixels;
    }

    public void setMaxImagePixels(long maxImagePixels) {
        this.maxImagePixels = maxImagePixels;
    }

    public Integer getContextLength() {
        return contextLength;
    }

    public void setContextLength(Integer contextLength) {
        this.contextLength = contextLength;
    }

    public QwenVlOptions.DecodeMode getDecodeMode() {
        return decodeMode;
    }

    public void setDecodeMode(QwenVlOptions.DecodeMode decodeMode) {
        this.decodeMode = decodeMode;
    }

    public java.nio.file.Path getWeightCacheDir() {
        return weightCacheDir;
    }

    public void setWeightCacheDir(java.nio.file.Path weightCacheDir) {
        this.weightCacheDir = weightCacheDir;
    }

    public QwenVlOptions.WeightMode getWeightMode() {
        return weightMode;
    }

    public void setWeightMode(QwenVlOptions.WeightMode weightMode) {
        this.weightMode = weightMode;
    }

    public boolean isCollectGarbage() {
        return collectGarbage;
    }

    public void setCollectGarbage(boolean collectGarbage) {
        this.collectGarbage = collectGarbage;
    }

    public Media getMedia() {
        return media;
    }

    public Chat getChat() {
        return chat;
    }

    /** The engine's load options. */
    public QwenVlOptions toEngineOptions() {
        return new QwenVlOptions(device, precision, threads, maxImagePixels, maxImages, contextLength, decodeMode,
                weightCacheDir, weightMode, collectGarbage);
    }
}
