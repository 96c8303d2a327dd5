package io.github.qwenvl.demo;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * The demo's own limits ({@code demo.*}); the model's limits are the starter's
 * ({@code spring.ai.qwen-vl.serving.max-image-pixels}, {@code spring.ai.qwen-vl.serving.max-images}) and the
 * multipart ones Spring Boot's ({@code spring.servlet.multipart.*}).
 */
@ConfigurationProperties("demo")
public class DemoProperties {

    /** Most images in one request (the whole conversation that is sent). */
    private int maxImages = 8;

    /** Largest single image (encoded bytes, after base64 decoding). */
    private DataSize maxImageSize = DataSize.ofMegabytes(10);

    /** Largest request body of the JSON APIs (data URLs included). */
    private DataSize maxRequestSize = DataSize.ofMegabytes(48);

    /** Longest text of one message, in characters. */
    private int maxTextLength = 20_000;

    /** Most messages in one request. */
    private int maxMessages = 64;

    /** Answers kept in memory for "download annotated image" (oldest dropped first). */
    private int annotationCacheSize = 16;

    /** True when the model has random weights (the tiny profile): the pages say so. */
    private boolean randomWeights;

    public int getMaxImages() {
        return maxImages;
    }

    public void setMaxImages(int maxImages) {
        this.maxImages = maxImages;
    }

    public DataSize getMaxImageSize() {
        return maxImageSize;
    }

    public void setMaxImageSize(DataSize maxImageSize) {
        this.maxImageSize = maxImageSize;
    }

    public DataSize getMaxRequestSize() {
        return maxRequestSize;
    }

    public void setMaxRequestSize(DataSize maxRequestSize) {
        this.maxRequestSize = maxRequestSize;
    }

    public int getMaxTextLength() {
        return maxTextLength;
    }

    public void setMaxTextLength(int maxTextLength) {
        this.maxTextLength = maxTextLength;
    }

    public int getMaxMessages() {
        return maxMessages;
    }

    public void setMaxMessages(int maxMessages) {
        this.maxMessages = maxMessages;
    }

    public int getAnnotationCacheSize() {
        return annotationCacheSize;
    }

    public void setAnnotationCacheSize(int annotationCacheSize) {
        this.annotationCacheSize = annotationCacheSize;
    }

    public boolean isRandomWeights() {
        return randomWeights;
    }

    public void setRandomWeights(boolean randomWeights) {
        this.randomWeights = randomWeights;
    }
}
