package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.QwenVlOptions;
import io.github.qwenvl.spring.QwenVlChatOptions;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.NestedConfigurationProperty;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code spring.ai.qwen-vl.*}, grouped by concern: the model and the backend at the top, then {@code hub.*} (download
 * and cache), {@code runtime.*} (how the engine computes), {@code serving.*} (admission, queue and limits),
 * {@code media.*} (where images may come from), {@code remote.*} (the OpenAI-compatible server of the remote backend)
 * and {@code chat.options.*} (the default options of every request).
 */
@ConfigurationProperties(QwenVlProperties.PREFIX)
public class QwenVlProperties {

    public static final String PREFIX = "spring.ai.qwen-vl";
    public static final String DEFAULT_MODEL = "Qwen/Qwen2-VL-2B-Instruct";

    /** Where generations run. */
    public enum Backend {
        /** In this JVM, on DJL's engine. */
        LOCAL,
        /** On an OpenAI-compatible server (vLLM, SGLang, llama.cpp server, Ollama), configured under remote.*. */
        REMOTE
    }

    /**
     * A local checkpoint directory, or a Hugging Face repo id such as Qwen/Qwen2-VL-2B-Instruct. With the remote
     * backend it names the checkpoint whose config.json, tokenizer and preprocessor_config.json describe the served
     * model; its weights are not loaded.
     */
    private String model = DEFAULT_MODEL;

    /**
     * Where generations run: local (in this JVM, on DJL's engine) or remote (an OpenAI-compatible server at
     * remote.base-url).
     */
    private Backend backend = Backend.LOCAL;

    @NestedConfigurationProperty
    private final Hub hub = new Hub();

    @NestedConfigurationProperty
    private final Runtime runtime = new Runtime();

    @NestedConfigurationProperty
    private final Serving serving = new Serving();

    @NestedConfigurationProperty
    private final Media media = new Media();

    @NestedConfigurationProperty
    private final Remote remote = new Remote();

    @NestedConfigurationProperty
    private final Chat chat = new Chat();

    /** Hugging Face download and cache settings for a repo id in {@code model}. */
    public static class Hub {
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
    }

    /** How the local engine loads the model and computes. */
    public static class Runtime {
        /** Where to compute: auto (a CUDA GPU when DJL finds one), cpu or gpu. */
        private QwenVlOptions.DeviceKind device = QwenVlOptions.DeviceKind.AUTO;
        /** float32 (default) or float16 (GPU only; norms and residual stream stay float32). */
        private QwenVlOptions.Precision precision = QwenVlOptions.Precision.FLOAT32;
        /** Intra-op threads of the engine (default: all cores). */
        private Integer threads;
        /** Load the model on the first request instead of at startup. */
        private boolean lazyLoad;
        /** Prompt + completion limit (default: the checkpoint's max_position_embeddings). */
        private Integer contextLength;
        /**
         * Token-by-token decoding: auto (Java over the memory-mapped 16-bit weights when the JVM runs with
         * --add-modules jdk.incubator.vector on a CPU, else the engine), engine, java, java-int8 (opt-in: Java over
         * 8-bit copies of the language model's matrices made at load, ~1.5x faster decode, approximate logits) or
         * java-int4 (opt-in: 4-bit copies, groups of 128 with a scale and offset each, an 8-bit LM head; about a third
         * of BF16's bytes per token, a larger logit error than java-int8).
         */
        private QwenVlOptions.DecodeMode decodeMode = QwenVlOptions.DecodeMode.AUTO;
        /**
         * Opt-in folder for float32 copies of BF16/F16 checkpoints: written on the first start (4 bytes per
         * parameter of disk), memory-mapped on later ones, so restarts load in about a second instead of widening
         * every weight again. Unset: no cache.
         */
        private Path weightCacheDir;
        /**
         * How the float32 weights of prefill and vision are held on the CPU: auto (widen-per-layer where possible,
         * else float32-copies), float32-copies (every matrix widened once at load) or widen-per-layer (each layer's
         * matrices widened from the memory-mapped BF16 checkpoint just before the layer runs); opt-in bf16-matmul
         * (the layers' matrices are the memory-mapped BF16 checkpoint itself, their products run in bfloat16:
         * faster on CPUs with bfloat16 instructions, not bit-identical to float32).
         */
        private QwenVlOptions.WeightMode weightMode = QwenVlOptions.WeightMode.AUTO;
        /**
         * Whole-heap garbage collections (30–60 ms each) when the model has loaded, when its first request is done,
         * and when it falls idle after a request that grew the heap by 64 MiB or more. Turn off for a service that
         * tunes its heap itself; a no-op under -XX:+DisableExplicitGC.
         */
        private boolean collectGarbage = true;

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

        public Path getWeightCacheDir() {
            return weightCacheDir;
        }

        public void setWeightCacheDir(Path weightCacheDir) {
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
    }

    /** Admission, queueing, timeouts and request limits. */
    public static class Serving {
        /**
         * Generations that run at once; more wait in a queue (unset: max-batch-size where decode steps can be
         * batched, that is with the local backend on a CPU and a decode-mode other than engine, and used together only
         * while the loaded model batches its steps, one at a time otherwise; else 1).
         */
        private Integer maxConcurrentRequests;
        /**
         * Most running generations that share one decode step (continuous batching: each step reads the weights once
         * for all of them). Where decode steps run in Java: Qwen2-VL, Qwen2.5-VL and Qwen3-VL on a CPU, decode-mode
         * auto or java; elsewhere every generation decodes alone.
         */
        private int maxBatchSize = io.github.qwenvl.ServingLimits.DEFAULT_MAX_BATCH_SIZE;
        /** Requests that may wait for a slot; more are refused at once as "busy". */
        private int maxQueuedRequests = 16;
        /** Longest wait for a generation slot. */
        private Duration queueTimeout = Duration.ofMinutes(2);
        /**
         * Longest request, its wait for a slot included; a request past it is stopped within one block of the vision
         * tower or the prefill, or one token, and fails with RequestTimeoutException.
         */
        private Duration requestTimeout = Duration.ofMinutes(10);
        /** Images per request. */
        private int maxImages = QwenVlOptions.DEFAULT_MAX_IMAGES;
        /** Largest decoded image (pixels), checked from the header before decoding. */
        private long maxImagePixels = QwenVlOptions.DEFAULT_MAX_IMAGE_PIXELS;
        /**
         * Most tokens per image: a larger image is scaled down as the reference processor does with max_pixels =
         * this x 28^2 (unset: 384 on a CPU, the checkpoint's preprocessor_config.json bounds on a GPU).
         */
        private Integer maxImageTokens;
        /** Most prompt tokens per request, image tokens included; a request over it is refused at once (unset: none). */
        private Integer maxPromptTokens;
        /**
         * Read every special token written in message text as that token (trusted callers only); by default the chat
         * template's own tokens in text are plain text and only grounding markup is special.
         */
        private boolean allowSpecialTokens = false;

        public Integer getMaxImageTokens() {
            return maxImageTokens;
        }

        public void setMaxImageTokens(Integer maxImageTokens) {
            this.maxImageTokens = maxImageTokens;
        }

        public Integer getMaxPromptTokens() {
            return maxPromptTokens;
        }

        public void setMaxPromptTokens(Integer maxPromptTokens) {
            this.maxPromptTokens = maxPromptTokens;
        }

        public boolean isAllowSpecialTokens() {
            return allowSpecialTokens;
        }

        public void setAllowSpecialTokens(boolean allowSpecialTokens) {
            this.allowSpecialTokens = allowSpecialTokens;
        }

        public Integer getMaxConcurrentRequests() {
            return maxConcurrentRequests;
        }

        public void setMaxConcurrentRequests(Integer maxConcurrentRequests) {
            this.maxConcurrentRequests = maxConcurrentRequests;
        }

        public int getMaxBatchSize() {
            return maxBatchSize;
        }

        public void setMaxBatchSize(int maxBatchSize) {
            this.maxBatchSize = maxBatchSize;
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
    }

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

    /** The OpenAI-compatible server(s) of the remote backend ({@code backend=remote}). */
    public static class Remote {
        /**
         * Server root(s): requests go to {base-url}/v1/chat/completions. Several (comma-separated) are used in turn
         * and fail over to each other.
         */
        private List<String> baseUrl = new ArrayList<>();
        /** API key, sent as "Authorization: Bearer ..." (vLLM --api-key, llama.cpp --api-key). */
        private String apiKey;
        /** The served model name (vLLM --served-model-name, an Ollama tag); default: the only entry of GET /v1/models. */
        private String model;
        /** Connection timeout. */
        private Duration connectTimeout = Duration.ofSeconds(5);
        /** Longest wait for a non-streamed answer, or between two chunks of a streamed one. */
        private Duration readTimeout = Duration.ofMinutes(5);
        /**
         * Further attempts after a connection error or HTTP 429, 502, 503 or 504 before the answer starts, each on
         * the next base URL.
         */
        private int maxRetries = 2;
        /** Wait before retrying a base URL already tried; doubles per round, at most 10 s. */
        private Duration retryBackoff = Duration.ofMillis(500);
        /** round-robin: each request starts on the next base URL; fail-over: always on the first that answers. */
        private LoadBalancing loadBalancing = LoadBalancing.ROUND_ROBIN;
        /**
         * The server's min_pixels when it overrides the checkpoint's preprocessor_config.json (vLLM
         * --mm-processor-kwargs); default: the checkpoint's. Needed to map Qwen2.5-VL boxes back exactly.
         */
        private Integer minPixels;
        /** The server's max_pixels when it overrides the checkpoint's preprocessor_config.json; default: the checkpoint's. */
        private Integer maxPixels;
        /**
         * Send images already resized (PNG) to the size the server would resize them to, instead of their original
         * bytes: less to upload, but resized here rather than by the server's own resampler.
         */
        private boolean downscaleImages;

        /** How requests are spread over several base URLs. */
        public enum LoadBalancing { ROUND_ROBIN, FAIL_OVER }

        public List<String> getBaseUrl() {
            return baseUrl;
        }

        public void setBaseUrl(List<String> baseUrl) {
            this.baseUrl = baseUrl;
        }

        public String getApiKey() {
            return apiKey;
        }

        public void setApiKey(String apiKey) {
            this.apiKey = apiKey;
        }

        public String getModel() {
            return model;
        }

        public void setModel(String model) {
            this.model = model;
        }

        public Duration getConnectTimeout() {
            return connectTimeout;
        }

        public void setConnectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
        }

        public Duration getReadTimeout() {
            return readTimeout;
        }

        public void setReadTimeout(Duration readTimeout) {
            this.readTimeout = readTimeout;
        }

        public int getMaxRetries() {
            return maxRetries;
        }

        public void setMaxRetries(int maxRetries) {
            this.maxRetries = maxRetries;
        }

        public Duration getRetryBackoff() {
            return retryBackoff;
        }

        public void setRetryBackoff(Duration retryBackoff) {
            this.retryBackoff = retryBackoff;
        }

        public LoadBalancing getLoadBalancing() {
            return loadBalancing;
        }

        public void setLoadBalancing(LoadBalancing loadBalancing) {
            this.loadBalancing = loadBalancing;
        }

        public Integer getMinPixels() {
            return minPixels;
        }

        public void setMinPixels(Integer minPixels) {
            this.minPixels = minPixels;
        }

        public Integer getMaxPixels() {
            return maxPixels;
        }

        public void setMaxPixels(Integer maxPixels) {
            this.maxPixels = maxPixels;
        }

        public boolean isDownscaleImages() {
            return downscaleImages;
        }

        public void setDownscaleImages(boolean downscaleImages) {
            this.downscaleImages = downscaleImages;
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

    public Backend getBackend() {
        return backend;
    }

    public void setBackend(Backend backend) {
        this.backend = backend;
    }

    public Hub getHub() {
        return hub;
    }

    public Runtime getRuntime() {
        return runtime;
    }

    public Serving getServing() {
        return serving;
    }

    public Media getMedia() {
        return media;
    }

    public Remote getRemote() {
        return remote;
    }

    public Chat getChat() {
        return chat;
    }

    /**
     * Generations admitted at once: {@code serving.max-concurrent-requests} when set; else {@code serving.max-batch-size}
     * where decode steps can be batched (the local backend, not on a GPU, decode-mode not engine), so that the batch
     * can fill (the gate then runs them one at a time while the loaded model does not batch its steps: Qwen-VL, a
     * GPU); else 1 (generations that cannot share steps only share the cores: queueing keeps each one fast).
     */
    public int concurrentRequests() {
        if (serving.maxConcurrentRequests != null) {
            return serving.maxConcurrentRequests;
        }
        boolean batched = backend == Backend.LOCAL && runtime.device != QwenVlOptions.DeviceKind.GPU
                && runtime.decodeMode != QwenVlOptions.DecodeMode.ENGINE;
        return batched ? serving.maxBatchSize : 1;
    }

    /** The engine's load options. */
    public QwenVlOptions toEngineOptions() {
        return new QwenVlOptions(runtime.device, runtime.precision, runtime.threads, serving.maxImagePixels,
                serving.maxImages, runtime.contextLength, runtime.decodeMode, runtime.weightCacheDir,
                runtime.weightMode, runtime.collectGarbage).withServing(new io.github.qwenvl.ServingLimits(
                serving.maxImageTokens != null ? serving.maxImageTokens : io.github.qwenvl.ServingLimits.AUTO,
                serving.maxPromptTokens, serving.allowSpecialTokens, serving.maxBatchSize));
    }
}
