package com.example.newcomer;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.core.io.Resource;
import org.springframework.stereotype.Service;
import org.springframework.util.MimeTypeUtils;

@Service
class InvoiceReader {

    private final ChatClient chat;

    InvoiceReader(ChatClient.Builder builder) {
        this.chat = builder.build();
    }

    String totalOf(Resource scan) {
        return chat.prompt()
                .user(u -> u.text("What is the invoice total?").media(MimeTypeUtils.IMAGE_PNG, scan))
                .call()
                .content();
    }
}
