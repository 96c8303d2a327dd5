package io.github.qwenvl.demo.model;

import io.github.qwenvl.hub.ModelResolver;
import io.github.qwenvl.spring.autoconfigure.QwenVlModelSource;
import io.github.qwenvl.spring.autoconfigure.QwenVlProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;

/** {@code --spring.profiles.active=tiny}: the bundled random-weight model, fully offline. */
@Configuration(proxyBeanMethods = false)
@Profile("tiny")
public class TinyProfileConfiguration {

    @Bean
    QwenVlModelSource tinyModelSource(QwenVlProperties properties, ModelResolver resolver) {
        return new TinyModelSource(properties, resolver);
    }
}
