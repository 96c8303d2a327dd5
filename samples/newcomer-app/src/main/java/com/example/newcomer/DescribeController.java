package com.example.newcomer;

import java.io.IOException;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.util.MimeType;
import org.springframework.util.MimeTypeUtils;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

@RestController
class DescribeController {

    private final ChatClient chat;

    DescribeController(ChatClient.Builder builder) {
        this.chat = builder.build();
    }

    @PostMapping("/describe")
    String describe(@RequestParam MultipartFile image) throws IOException {
        MimeType type = MimeTypeUtils.parseMimeType(image.getContentType());
        ByteArrayResource bytes = new ByteArrayResource(image.getBytes());
        return chat.prompt()
                .user(u -> u.text("Describe this image.").media(type, bytes))
                .call()
                .content();
    }
}
