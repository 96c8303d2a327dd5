package io.github.qwenvl.demo;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The demo: a web UI and an OpenAI-compatible API over the Qwen-VL starter's {@code ChatModel}. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class DemoApplication {

    public static void main(String[] args) {
        offlineDefaults();
        SpringApplication.run(DemoApplication.class, args);
    }

    /**
     * DJL must never download anything at run time (its native PyTorch library comes from the
     * pytorch-native-cpu jar on the class path) nor report usage; set unless the user chose otherwise.
     */
    static void offlineDefaults() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("OPT_OUT_TRACKING") == null && System.getenv("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }
}
