package com.example.newcomer;

import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.bean.override.mockito.MockitoBean;

import static org.assertj.core.api.Assertions.assertThat;

@SpringBootTest(properties = "spring.ai.model.chat=none")
class NoModelTest {

    @MockitoBean
    ChatModel chatModel;

    @Autowired
    InvoiceReader invoiceReader;

    @Test
    void contextStartsWithoutLoadingAModel() {
        assertThat(invoiceReader).isNotNull();
    }
}
