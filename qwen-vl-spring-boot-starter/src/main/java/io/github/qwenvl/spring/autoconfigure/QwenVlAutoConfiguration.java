package io.github.qwenvl.spring.autoconfigure;

import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.hub.ModelResolver;
import io.github.qwenvl.spring.MediaResolver;
import io.github.qwenvl.spring.QwenVlChatModel;
import io.github.qwenvl.spring.QwenVlHealthIndicator;
import io.github.qwenvl.spring.QwenVlModelHolder;
import io.github.qwenvl.spring.RequestGate;
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
 * Auto-configures a {@link QwenVlChatModel} from {@code spring.ai.qwen-vl.*}. Active unless another
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
        ModelResolver.Builder b = ModelResolver.builder().revision(properties.getRevision());
        if (properties.getCacheDir() != null && !properties.getCacheDir().isBlank()) {
            b.cacheDir(java.nio.file.Path.of(properties.getCacheDir()));
        }
        if (properties.getEndpoint() != null && !properties.getEndpoint().isBlank()) {
            b.endpoint(properties.getEndpoint());
        }
        if (properties.getToken() != null && !properties.getToken().isBlank()) {
            b.token(properties.getToken());
        }
        if (properties.getOffline() != null) {
            b.offline(properties.getOffline(), QwenVlProperties.PREFIX + ".offline=" + properties.getOffline());
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
    public QwenVlModelHolder qwenVlModelHolder(QwenVlProperties properties, QwenVlModelSource source) {
        if (properties.isLazyLoad()) {
            source.validate(); // lazy loading defers the weights, not finding out that the model is wrong
        }
        return new QwenVlModelHolder(source.modelId(),
                () -> QwenVlModel.load(source.resolve(), properties.toEngineOptions()), properties.isLazyLoad());
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
    public QwenVlChatModel qwenVlChatModel(QwenVlProperties properties, QwenVlModelHolder holder,
                                           MediaResolver mediaResolver,
                                           ObjectProvider<ObservationRegistry> observationRegistry,
                                           ObjectProvider<ChatModelObservationConvention> observationConvention) {
        QwenVlChatModel chatModel = QwenVlChatModel.builder()
                .model(holder)
                .defaultOptions(properties.getChat().getOptions().copy())
                .observationRegistry(observationRegistry.getIfUnique(() -> ObservationRegistry.NOOP))
                .mediaResolver(mediaResolver)
                .requestGate(new RequestGate(properties.getMaxConcurrentRequests(), properties.getMaxQueuedRequests(),
                        properties.getQueueTimeout()))
                .requestTimeout(properties.getRequestTimeout())
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
        QwenVlHealthIndicator qwenVlHealthIndicator(QwenVlModelHolder holder, QwenVlChatModel chatModel) {
            return new QwenVlHealthIndicator(holder, chatModel.gate());
        }
    }
}
