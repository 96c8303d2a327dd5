package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.hub.ModelResolver;
import io.github.qwenvl.spring.LocalQwenVlBackend;
import io.github.qwenvl.spring.MediaResolver;
import io.github.qwenvl.spring.QwenVlBackend;
import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlHealthIndicator;
import io.github.qwenvl.spring.QwenVlModelHolder;
import io.github.qwenvl.spring.RequestGate;
import io.github.qwenvl.spring.remote.RemoteQwenVlBackend;
import io.github.qwenvl.spring.remote.RemoteSettings;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.model.SpringAIModelProperties;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

import java.util.HashSet;

/**
 * Auto-configures a {@link QwenVlChatModel} from {@code spring.ai.qwen-vl.*}, on the local engine or a remote
 * OpenAI-compatible server ({@code spring.ai.qwen-vl.backend}). Active unless another
 * chat model is selected with {@code spring.ai.model.chat}; every bean backs off when the application
 * defines its own.
 */
@AutoConfiguration
@ConditionalOnClass(QwenVlChatModel.class)
@ConditionalOnProperty(name = SpringAIModelProperties.CHAT_MODEL, havingValue = QwenVlAutoConfiguration.MODEL_NAME,
        matchIfMissing = true)
@EnableConfigurationProperties(QwenVlProperties.class)
public class QwenVlAutoConfiguration {

    /** The value of {@code spring.ai.model.chat} that selects this model. */
    public static final String MODEL_NAME = "qwen-vl";

    @Bean
    @ConditionalOnMissingBean
    public ModelResolver qwenVlModelResolver(QwenVlProperties properties) {
        QwenVlProperties.Hub hub = properties.getHub();
        ModelResolver.Builder b = ModelResolver.builder().revision(hub.getRevision());
        if (hub.getCacheDir() != null && !hub.getCacheDir().isBlank()) {
            b.cacheDir(java.nio.file.Path.of(hub.getCacheDir()));
        }
        if (hub.getEndpoint() != null && !hub.getEndpoint().isBlank()) {
            b.endpoint(hub.getEndpoint());
        }
        if (hub.getToken() != null && !hub.getToken().isBlank()) {
            b.token(hub.getToken());
        }
        if (hub.getOffline() != null) {
            b.offline(hub.getOffline(), QwenVlProperties.PREFIX + ".hub.offline=" + hub.getOffline());
        }
        return b.build();
    }

    @Bean
    @ConditionalOnMissingBean
    public QwenVlModelSource qwenVlModelSource(QwenVlProperties properties, ModelResolver resolver) {
        return new QwenVlModelSource(properties, resolver);
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    @ConditionalOnProperty(name = QwenVlProperties.PREFIX + ".backend", havingValue = "local", matchIfMissing = true)
    public QwenVlModelHolder qwenVlModelHolder(QwenVlProperties properties, QwenVlModelSource source) {
        if (properties.getRuntime().isLazyLoad()) {
            source.validate(); // lazy loading defers the weights, not finding out that the model is wrong
        }
        return new QwenVlModelHolder(source.modelId(),
                () -> QwenVlModel.load(source.resolve(), properties.toEngineOptions()), properties.getRuntime().isLazyLoad());
    }

    /**
     * Where generations run: the local engine ({@code backend=local}) or an OpenAI-compatible server
     * ({@code backend=remote}, configured under {@code remote.*}; the checkpoint only describes the served model).
     */
    @Bean
    @ConditionalOnMissingBean
    public QwenVlBackend qwenVlBackend(QwenVlProperties properties, QwenVlModelSource source,
                                       ObjectProvider<QwenVlModelHolder> holder) {
        if (properties.getBackend() == QwenVlProperties.Backend.REMOTE) {
            QwenVlProperties.Remote r = properties.getRemote();
            QwenVlProperties.Serving serving = properties.getServing();
            RemoteSettings settings = new RemoteSettings(r.getBaseUrl(), r.getApiKey(), r.getModel(),
                    r.getConnectTimeout(), r.getReadTimeout(), r.getMaxRetries(), r.getRetryBackoff(),
                    r.getLoadBalancing() == QwenVlProperties.Remote.LoadBalancing.ROUND_ROBIN, r.getMinPixels(),
                    r.getMaxPixels(), r.isDownscaleImages(), serving.getMaxImages(), serving.getMaxImagePixels());
            String modelId = r.getModel() != null && !r.getModel().isBlank() ? r.getModel() : source.modelId();
            RemoteQwenVlBackend remote = new RemoteQwenVlBackend(settings, modelId, source::resolveDescription);
            return properties.getRuntime().isLazyLoad() ? remote : remote.load();
        }
        return new LocalQwenVlBackend(holder.getObject());
    }

    @Bean
    @ConditionalOnMissingBean
    public MediaResolver qwenVlMediaResolver(QwenVlProperties properties) {
        QwenVlProperties.Media m = properties.getMedia();
        return new MediaResolver(m.isAllowFileUrls(), new HashSet<>(m.getAllowedHosts()), m.getMaxDownloadBytes(),
                m.getDownloadTimeout());
    }

    @Bean
    @ConditionalOnMissingBean
    public QwenVlChatModel qwenVlChatModel(QwenVlProperties properties, QwenVlBackend backend,
                                           MediaResolver mediaResolver,
                                           ObjectProvider<ObservationRegistry> observationRegistry,
                                           ObjectProvider<ChatModelObservationConvention> observationConvention) {
        QwenVlProperties.Serving serving = properties.getServing();
        QwenVlChatModel chatModel = QwenVlChatModel.builder()
                .backend(backend)
                .defaultOptions(properties.getChat().getOptions().copy())
                .observationRegistry(observationRegistry.getIfUnique(() -> ObservationRegistry.NOOP))
                .mediaResolver(mediaResolver)
                // unset max-concurrent-requests: max-batch-size generations together where the loaded model batches
                // its decode steps, one at a time where it does not (engine decode, Qwen-VL, a GPU)
                .requestGate(new RequestGate(properties.concurrentRequests(), serving.getMaxQueuedRequests(),
                        serving.getQueueTimeout(), serving.getMaxConcurrentRequests() != null
                        ? () -> true : () -> backend.decodeStats().isPresent()))
                .requestTimeout(serving.getRequestTimeout())
                .build();
        observationConvention.ifAvailable(chatModel::setObservationConvention);
        return chatModel;
    }

    /** Actuator health, when Spring Boot's health module is on the class path. */
    @org.springframework.context.annotation.Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
    static class HealthConfiguration {

        @Bean
        @ConditionalOnMissingBean(name = "qwenVlHealthIndicator")
        QwenVlHealthIndicator qwenVlHealthIndicator(QwenVlBackend backend, QwenVlChatModel chatModel) {
            return new QwenVlHealthIndicator(backend, chatModel.gate());
        }
    }
}
