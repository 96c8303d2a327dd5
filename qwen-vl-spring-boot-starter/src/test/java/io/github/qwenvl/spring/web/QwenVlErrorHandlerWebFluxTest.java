package io.github.qwenvl.spring.web;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webflux.test.autoconfigure.WebFluxTest;
import org.springframework.http.MediaType;
import org.springframework.test.context.ContextConfiguration;
import org.springframework.test.web.reactive.server.WebTestClient;

import java.util.stream.Stream;

/** WebFlux slice: the same table as {@link QwenVlErrorHandlerMvcTest}, through WebTestClient. */
@WebFluxTest(ErrorCases.ThrowingController.class)
@ContextConfiguration(classes = ErrorCases.App.class)
class QwenVlErrorHandlerWebFluxTest {

    @Autowired
    WebTestClient client;

    @TestFactory
    Stream<DynamicTest> everyExceptionHasItsStatus() {
        return ErrorCases.CASES.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
            ErrorCases.Case c = e.getValue();
            WebTestClient.ResponseSpec r = client.get().uri("/fail/" + e.getKey()).exchange();
            r.expectStatus().isEqualTo(c.status());
            if (c.status() == 429 || c.status() == 503 && !c.code().equals("model_unavailable") && !c.code().equals("cancelled")) {
                r.expectHeader().valueEquals("Retry-After", "5");
            } else {
                r.expectHeader().doesNotExist("Retry-After");
            }
            r.expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON);
            WebTestClient.BodyContentSpec body = r.expectBody()
                    .jsonPath("$.status").isEqualTo(c.status())
                    .jsonPath("$.code").isEqualTo(c.code());
            if (c.param() != null) {
                body.jsonPath("$.param").isEqualTo(c.param());
            } else {
                body.jsonPath("$.param").doesNotExist();
            }
        }));
    }

    @Test
    void aPngSentAsOctetStreamIsABadRequest() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10};
        client.post().uri("/media").contentType(MediaType.APPLICATION_OCTET_STREAM).bodyValue(png).exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.code").isEqualTo("unsupported_content");
    }
}
