package com.example.newcomer;

import java.nio.file.Path;

import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.GenerationResult;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.image.ImageSource;

class EngineOnly {

    public static void main(String[] args) {
        try (QwenVlModel model = QwenVlModel.load(Path.of(args[0]))) {   // e.g. /models/Qwen2-VL-2B-Instruct
            GenerationResult r = model.stream(GenerationRequest.of(ChatMessage.user(
                    Content.image(ImageSource.of(Path.of(args[1]))), Content.text("What is this?"))),
                    System.out::print);
            System.out.println();
            System.out.println(r.usage() + " " + r.timings());
        }
    }
}
