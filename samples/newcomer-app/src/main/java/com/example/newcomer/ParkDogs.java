package com.example.newcomer;

import java.util.List;

import io.github.qwenvl.grounding.GroundingBox;
import io.github.qwenvl.grounding.GroundingResult;
import io.github.qwenvl.grounding.PixelBox;
import io.github.qwenvl.spring.QwenVlGrounding;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.core.io.FileSystemResource;
import org.springframework.util.MimeTypeUtils;

class ParkDogs {

    static String findDogs(ChatModel chatModel) {
        ChatResponse response = chatModel.call(new Prompt(UserMessage.builder()
                .text("Find all the dogs and give their boxes.")
                .media(List.of(new Media(MimeTypeUtils.IMAGE_JPEG, new FileSystemResource("park.jpg"))))
                .build()));

        GroundingResult grounding = QwenVlGrounding.from(response);
        for (GroundingBox box : grounding.boxes()) {
            PixelBox p = box.pixels();  // original-image pixels
            System.out.printf("%s on image %d: (%.0f, %.0f) - (%.0f, %.0f)%n",
                    box.label(), box.imageIndex(), p.x1(), p.y1(), p.x2(), p.y2());
        }
        return grounding.cleanText();   // the answer with markup removed, labels kept as text
    }
}
