package com.example.newcomer;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.spring.QwenVlResponseMetadata;
import org.springframework.ai.chat.model.ChatResponse;

class ResponseDetails {

    static String summary(ChatResponse response) {
        QwenVlResponseMetadata meta = QwenVlResponseMetadata.of(response);
        StringBuilder s = new StringBuilder();
        meta.architecture().map(ModelArchitecture::name).ifPresent(s::append);   // e.g. QWEN2_VL
        for (ImageInfo image : meta.images()) {   // each image as the model saw it
            s.append(String.format(" image %d: %dx%d resized to %dx%d, %d tokens", image.index(),
                    image.originalWidth(), image.originalHeight(), image.resizedWidth(), image.resizedHeight(),
                    image.tokens()));
        }
        meta.timings().ifPresent(t -> s.append(String.format(" in %.0f ms (first token after %.0f ms)",
                t.totalMillis(), t.firstTokenMillis())));
        s.append(" boxes: ").append(meta.grounding().boxes().size());
        return s.toString();
    }
}
