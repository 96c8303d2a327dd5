package io.github.qwenvl.spring.web;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;

/**
 * In a Spring MVC or WebFlux application, registers {@link QwenVlErrorHandler}: this library's exceptions
 * become 400 / 413 / 429 / 503 / 504 problem responses instead of 500. A bean of that type of the
 * application's own replaces it; excluding this auto-configuration turns it off.
 */
@AutoConfiguration
@ConditionalOnWebApplication
@ConditionalOnClass(name = {"org.springframework.http.ProblemDetail",
        "org.springframework.web.bind.annotation.RestControllerAdvice"})
public class QwenVlWebErrorsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    public QwenVlErrorHandler qwenVlErrorHandler() {
        return new QwenVlErrorHandler();
    }
}
