package com.example.newcomer;

import java.util.List;

import io.github.qwenvl.grounding.GroundingBox;
import io.github.qwenvl.spring.QwenVlGrounding;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.core.io.Resource;
import org.springframework.stereotype.Service;
import org.springframework.util.MimeTypeUtils;

@Service
class SignatureFinder {

    private final ChatModel chatModel;

    SignatureFinder(ChatModel chatModel) {
        this.chatModel = chatModel;
    }

    List<GroundingBox> signatures(Resource contractScan) {
        ChatResponse response = chatModel.call(new Prompt(UserMessage.builder()
                .text("Find the signature and give its box.")
                .media(List.of(new Media(MimeTypeUtils.IMAGE_JPEG, contractScan)))
                .build()));
        for (GroundingBox box : QwenVlGrounding.boxes(response)) {
            System.out.println(box.label() + " " + box.pixels());   // original-image pixels
        }
        return QwenVlGrounding.boxes(response);
    }
}
