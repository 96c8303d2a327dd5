package io.github.qwenvl.spring.web;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.http.MediaType;
import org.springframework.test.context.ContextConfiguration;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.ResultActions;

import java.util.stream.Stream;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * Spring MVC slice: a controller throwing each exception of the table gets its status and a problem body.
 * The error handler arrives in the slice by itself (the starter registers it for {@code @WebMvcTest}).
 */
@WebMvcTest(ErrorCases.ThrowingController.class)
@ContextConfiguration(classes = ErrorCases.App.class)
class QwenVlErrorHandlerMvcTest {

    @Autowired
    MockMvc mvc;

    @TestFactory
    Stream<DynamicTest> everyExceptionHasItsStatus() {
        return ErrorCases.CASES.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
            ErrorCases.Case c = e.getValue();
            ResultActions r = mvc.perform(get("/fail/" + e.getKey()))
                    .andExpect(status().is(c.status()))
                    .andExpect(content().contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON))
                    .andExpect(jsonPath("$.status").value(c.status()))
                    .andExpect(jsonPath("$.code").value(c.code()))
                    .andExpect(jsonPath("$.detail").value(org.hamcrest.Matchers.containsString(
                            c.error().get().getMessage().substring(0, 10))));
            if (c.param() != null) {
                r.andExpect(jsonPath("$.param").value(c.param()));
            } else {
                r.andExpect(jsonPath("$.param").doesNotExist());
            }
            if (c.status() == 429 || c.status() == 503 && !c.code().equals("model_unavailable") && !c.code().equals("cancelled")) {
                r.andExpect(header().string("Retry-After", "5"));
            } else {
                r.andExpect(header().doesNotExist("Retry-After"));
            }
        }));
    }

    @Test
    void aWrappedExceptionIsFoundByItsCause() throws Exception {
        mvc.perform(get("/fail-wrapped"))
                .andExpect(status().isTooManyRequests())
                .andExpect(header().string("Retry-After", "5"))
                .andExpect(jsonPath("$.code").value("model_busy"));
    }

    /** A valid PNG sent with a non-image content type reaches the real MediaResolver: 400 naming the type. */
    @Test
    void aPngSentAsOctetStreamIsABadRequest() throws Exception {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10};
        mvc.perform(post("/media").contentType(MediaType.APPLICATION_OCTET_STREAM).content(png))
                .andExpect(status().isBadRequest())
                .andExpect(jsonPath("$.code").value("unsupported_content"))
                .andExpect(jsonPath("$.detail").value(org.hamcrest.Matchers.containsString("application/octet-stream")));
    }
}
