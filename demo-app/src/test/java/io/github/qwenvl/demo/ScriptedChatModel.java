package io.github.qwenvl.demo;

import io.github.qwenvl.spring.ModelBusyException;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.MessageType;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.publisher.Flux;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A deterministic {@link ChatModel} for the browser tests: grounded answers in Qwen2-VL markup, streamed in small
 * chunks, so the UI (streaming, boxes, hover, region, compare, stop, errors) can be checked exactly.
 */
class ScriptedChatModel implements ChatModel {

    static final String GROUNDED = "I found <|object_ref_start|>the bright square<|object_ref_end|>"
            + "<|box_start|>(250,250),(750,750)<|box_end|> in the middle and "
            + "<|object_ref_start|>the top-left corner<|object_ref_end|><|box_start|>(0,0),(200,100)<|box_end|>.";
    static final String COMPARED = "The first picture is plain. In Image 2, <|object_ref_start|>a new shape<|object_ref_end|>"
            + "<|box_start|>(100,200),(500,700)<|box_end|> appeared.";

    final AtomicReference<Prompt> lastPrompt = new AtomicReference<>();
    final AtomicBoolean cancelled = new AtomicBoolean();

    @Override
    public ChatResponse call(Prompt prompt) {
        lastPrompt.set(prompt);
        return response(answer(prompt), "STOP");
    }

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        lastPrompt.set(prompt);
        String question = question(prompt);
        if (question.contains("busy")) {
            return Flux.error(new ModelBusyException("all 1 generation slots are taken and 16 requests wait"));
        }
        String answer = answer(prompt);
        boolean slow = question.contains("long story");
        List<String> chunks = new ArrayList<>();
        for (int i = 0; i < answer.length(); i += 6) {
            chunks.add(answer.substring(i, Math.min(answer.length(), i + 6)));
        }
        return Flux.fromIterable(chunks)
                .delayElements(Duration.ofMillis(slow ? 150 : 25))
                .map(c -> response(c, null))
                .concatWith(Flux.just(response("", "STOP")))
                .doOnCancel(() -> cancelled.set(true));
    }

    private static String question(Prompt prompt) {
        List<Message> messages = prompt.getInstructions();
        Message last = messages.get(messages.size() - 1);
        return last.getText() == null ? "" : last.getText();
    }

    static String answer(Prompt prompt) {
        String q = question(prompt);
        long userTurns = prompt.getInstructions().stream().filter(m -> m.getMessageType() == MessageType.USER).count();
        int images = prompt.getInstructions().stream().filter(m -> m instanceof UserMessage)
                .mapToInt(m -> ((UserMessage) m).getMedia().size()).sum();
        if (q.contains("long story")) {
            return "Once upon a time ".repeat(200);
        }
        if (q.contains("<|box_start|>")) {
            String box = q.substring(q.indexOf("<|box_start|>") + 13, q.indexOf("<|box_end|>"));
            return "You asked about the region " + box + ": it shows <|object_ref_start|>this region<|object_ref_end|>"
                    + "<|box_start|>" + box + "<|box_end|>.";
        }
        if (q.contains("changed")) {
            return COMPARED;
        }
        if (q.startsWith("Find") || q.startsWith("框出") || q.startsWith("Detect")) {
            return GROUNDED;
        }
        return "Round " + userTurns + ": I see " + images + " image" + (images == 1 ? "" : "s") + " so far. "
                + "This answer is streamed token by token.";
    }

    private static ChatResponse response(String text, String finish) {
        ChatGenerationMetadata metadata = finish == null ? ChatGenerationMetadata.NULL
                : ChatGenerationMetadata.builder().finishReason(finish).build();
        return new ChatResponse(List.of(new Generation(new AssistantMessage(text), metadata)));
    }
}
