package io.github.qwenvl.spring;

import io.github.qwenvl.CancellationToken;
import io.github.qwenvl.GenerationOptions;
import io.github.qwenvl.GenerationRequest;
import io.github.qwenvl.QwenVlModel;
import io.github.qwenvl.RequestCancelledException;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.spring.autoconfigure.QwenVlAutoConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Run in its own JVM by {@link ShutdownDuringRequestTest}: starts an application context on a tiny model, starts a
 * request, and closes the context while the request is inside the vision tower. Prints what the request ended with
 * and exits 0 only when it ended with a shutdown cancellation and a later request was refused the same way.
 *
 * <p>Arguments: model directory, image.
 */
public final class ShutdownDuringRequestMain {

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(QwenVlAutoConfiguration.class)
    static class App {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        Path image = Path.of(args[1]);
        ConfigurableApplicationContext context = new SpringApplicationBuilder(App.class)
                .web(WebApplicationType.NONE)
                .properties("spring.ai.qwen-vl.model=" + model)
                .run();
        QwenVlModel engine = context.getBean(QwenVlModelHolder.class).get();
        CountDownLatch inside = new CountDownLatch(1);
        // block 0: the context is closed while the block runs; block 1: the request waits until the close began,
        // so that the close always meets it inside the tower
        CancellationToken token = CancellationToken.create().observe((checkpoint, index) -> {
            if (checkpoint == CancellationToken.Checkpoint.VISION_BLOCK) {
                System.out.println("vision block " + index);
                if (index == 0) {
                    inside.countDown();
                } else {
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (!engine.isClosing() && System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                }
            }
        });
        GenerationRequest request = new GenerationRequest(List.of(ChatMessage.user(
                Content.image(ImageSource.of(image)), Content.text("Describe the picture."))),
                GenerationOptions.builder().maxNewTokens(4).build());
        AtomicReference<Throwable> ended = new AtomicReference<>();
        Thread requestThread = new Thread(() -> {
            try {
                engine.stream(request, delta -> {
                }, token);
                System.out.println("request completed");
            } catch (Throwable e) {
                ended.set(e);
            }
        }, "request");
        requestThread.start();
        if (!inside.await(120, TimeUnit.SECONDS)) {
            System.out.println("the request never reached the vision tower");
            System.exit(2);
        }
        context.close();
        requestThread.join(TimeUnit.SECONDS.toMillis(120));
        Throwable e = ended.get();
        System.out.println("request ended with " + e);
        boolean cancelled = e instanceof RequestCancelledException c && c.reason() == RequestCancelledException.Reason.SHUTDOWN;
        boolean refused;
        try {
            context.getBean(QwenVlChatModel.class);
            refused = false;
        } catch (IllegalStateException closedContext) {
            refused = true; // a closed context hands out no beans; the engine refuses below
        }
        try {
            engine.generate(request);
            refused = false;
            System.out.println("a request after the close ran");
        } catch (RequestCancelledException c) {
            refused &= c.reason() == RequestCancelledException.Reason.SHUTDOWN;
            System.out.println("a request after the close was refused: " + c.getMessage());
        }
        System.out.println(cancelled && refused ? "CLEAN SHUTDOWN" : "UNEXPECTED");
        System.exit(cancelled && refused ? 0 : 3);
    }

    private ShutdownDuringRequestMain() {
    }
}
