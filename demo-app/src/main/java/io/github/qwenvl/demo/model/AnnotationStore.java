package io.github.qwenvl.demo.model;

import io.github.qwenvl.demo.DemoProperties;
import io.github.qwenvl.grounding.GroundingBox;
import org.springframework.stereotype.Component;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The images and boxes of the last few grounded answers, in memory only (never on disk), so
 * "download annotated image" can draw them server-side with {@code BoxRenderer}. Bounded: the oldest
 * answer is dropped first.
 */
@Component
public class AnnotationStore {

    /** What one answer grounded. */
    public record Entry(List<UploadedImage> images, List<GroundingBox> boxes) {
    }

    private final Map<String, Entry> entries;

    public AnnotationStore(DemoProperties properties) {
        int capacity = Math.max(1, properties.getAnnotationCacheSize());
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > capacity;
            }
        };
    }

    public synchronized void put(String id, List<UploadedImage> images, List<GroundingBox> boxes) {
        if (!boxes.isEmpty()) {
            entries.put(id, new Entry(List.copyOf(images), List.copyOf(boxes)));
        }
    }

    public synchronized Optional<Entry> get(String id) {
        return Optional.ofNullable(entries.get(id));
    }
}
