package io.github.qwenvl.spring;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.grounding.GroundingParser;
import io.github.qwenvl.grounding.GroundingResult;

import java.util.List;
import java.util.Optional;

/** Parses the grounding markup of a final answer for the response metadata. */
final class GroundingSupport {

    private final GroundingParser parser = new GroundingParser();

    Optional<GroundingResult> parse(ModelArchitecture architecture, String text, List<ImageInfo> images) {
        return Optional.of(parser.parse(text, architecture, images));
    }
}
