package io.github.qwenvl.grounding;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static io.github.qwenvl.config.ModelArchitecture.QWEN2_5_VL;
import static io.github.qwenvl.config.ModelArchitecture.QWEN2_VL;
import static io.github.qwenvl.config.ModelArchitecture.QWEN_VL;
import static io.github.qwenvl.grounding.GroundingBox.Kind.BOX;
import static io.github.qwenvl.grounding.GroundingBox.Kind.POINT;
import static io.github.qwenvl.grounding.GroundingBox.Kind.QUAD;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.within;

class GroundingParserTest {

    /** 640×480 photo that Qwen2-VL's smart_resize made 644×476 (multiples of 28). */
    static final ImageInfo PHOTO = new ImageInfo(0, 640, 480, 644, 476, 391);
    static final ImageInfo SECOND = new ImageInfo(1, 1000, 500, 1008, 504, 648);

    private final GroundingParser parser = new GroundingParser();

    /** One expected box: label, kind, image, and its original-pixel corners. */
    record Expected(String label, GroundingBox.Kind kind, int image, double x1, double y1, double x2, double y2) {
    }

    static Expected box(String label, double x1, double y1, double x2, double y2) {
        return new Expected(label, BOX, 0, x1, y1, x2, y2);
    }

    static Arguments row(String name, ModelArchitecture arch, List<ImageInfo> images, String text, String clean,
                         Expected... expected) {
        return Arguments.of(name, arch, images, text, clean, List.of(expected));
    }

    static Stream<Arguments> answers() {
        List<ImageInfo> one = List.of(PHOTO);
        return Stream.of(
                row("qwen-vl ref+box", QWEN_VL, one, "<ref>the dog</ref><box>(120,340),(560,880)</box>", "the dog",
                        box("the dog", 76.8, 163.2, 358.4, 422.4)),
                // Qwen-VL-Chat's _fetch_all_box_with_ref labels only the box right after the ref
                row("qwen-vl two boxes after one ref", QWEN_VL, one,
                        "两只猫：<ref>猫</ref><box>(0,0),(500,500)</box><box>(500,500),(1000,1000)</box>。",
                        "两只猫：猫。", box("猫", 0, 0, 320, 240), box(null, 320, 240, 640, 480)),
                row("qwen-vl a space between ref and box: no label", QWEN_VL, one,
                        "<ref>a hat</ref> <box>(0,0),(500,500)</box>", "a hat ", box(null, 0, 0, 320, 240)),
                row("qwen-vl ref, box, quad: one labelled object", QWEN_VL, one,
                        "<ref>the car</ref><box>(12,34),(56,78)</box><quad>(1,2),(3,4),(5,6),(7,8)</quad>", "the car",
                        box("the car", 7.68, 16.32, 35.84, 37.44), new Expected(null, QUAD, 0, 0.64, 0.96, 4.48, 3.84)),
                row("qwen-vl ref, quad, box: the quad is labelled, the box is not", QWEN_VL, one,
                        "<ref>sign</ref><quad>(1,2),(3,4),(5,6),(7,8)</quad><box>(12,34),(56,78)</box>", "sign",
                        new Expected("sign", QUAD, 0, 0.64, 0.96, 4.48, 3.84), box(null, 7.68, 16.32, 35.84, 37.44)),
                row("qwen2-vl run of boxes after a ref, then a quad", QWEN2_VL, one,
                        "<|object_ref_start|>cats<|object_ref_end|><|box_start|>(0,0),(500,500)<|box_end|>, "
                                + "<|box_start|>(500,500),(1000,1000)<|box_end|><|quad_start|>(1,2),(3,4),(5,6),(7,8)"
                                + "<|quad_end|>", "cats, ",
                        box("cats", 0, 0, 320, 240), box("cats", 320, 240, 640, 480),
                        new Expected(null, QUAD, 0, 0.64, 0.96, 4.48, 3.84)),
                row("qwen-vl box without ref", QWEN_VL, one, "Here <box>(0,0),(1000,1000)</box> it is",
                        "Here  it is", box(null, 0, 0, 640, 480)),
                row("qwen-vl text between ref and later box ends the label", QWEN_VL, one,
                        "<ref>hat</ref><box>(0,0),(500,500)</box> and <box>(500,500),(1000,1000)</box>", "hat and ",
                        box("hat", 0, 0, 320, 240), box(null, 320, 240, 640, 480)),
                row("qwen-vl quad", QWEN_VL, one,
                        "<ref>OCR</ref><quad>(100,100),(900,120),(880,300),(90,280)</quad>", "OCR",
                        new Expected("OCR", QUAD, 0, 57.6, 48, 576, 144)),
                row("qwen-vl whitespace and swapped corners", QWEN_VL, one,
                        "<ref> cup </ref><box>( 500 , 500 ) , ( 250 ,250 )</box>", " cup ",
                        box("cup", 160, 120, 320, 240)),
                row("out of range is clamped", QWEN_VL, one, "<box>(-20,0),(1200,1000)</box>", "",
                        box(null, 0, 0, 640, 480)),
                row("malformed numbers drop the box", QWEN_VL, one,
                        "<ref>a</ref><box>(12a,3),(4,5)</box><ref>b</ref><box>(0,0),(1000,1000)</box>", "ab",
                        box("b", 0, 0, 640, 480)),
                row("wrong count drops the box", QWEN_VL, one, "<box>(1,2),(3)</box>", ""),
                row("stray closer removed", QWEN_VL, one, "a</box>b", "ab"),
                row("qwen2-vl ref+box", QWEN2_VL, one,
                        "<|object_ref_start|>红色的车<|object_ref_end|><|box_start|>(250,500),(750,1000)<|box_end|>",
                        "红色的车", box("红色的车", 160, 240, 480, 480)),
                row("qwen2-vl quad", QWEN2_VL, one,
                        "<|quad_start|>(0,0),(1000,0),(1000,500),(0,500)<|quad_end|>", "",
                        new Expected(null, QUAD, 0, 0, 0, 640, 240)),
                row("qwen2.5-vl writes tag boxes in resized pixels", QWEN2_5_VL, one,
                        "<|object_ref_start|>dog<|object_ref_end|><|box_start|>(322,238),(644,476)<|box_end|>", "dog",
                        box("dog", 320, 240, 640, 480)),
                row("qwen2.5 fenced json", QWEN2_5_VL, one,
                        "Found:\n```json\n[\n  {\"bbox_2d\": [0, 0, 322, 238], \"label\": \"cat\"},\n"
                                + "  {\"bbox_2d\": [322, 238, 644, 476], \"label\": \"dog\"}\n]\n```\nDone.",
                        "Found:\ncat, dog\nDone.", box("cat", 0, 0, 320, 240), box("dog", 320, 240, 640, 480)),
                row("qwen2.5 bare json, single object, extra keys", QWEN2_5_VL, one,
                        "{\"bbox_2d\": [161, 119, 483, 357], \"label\": \"ball\", \"score\": 0.9}", "ball",
                        box("ball", 160, 120, 480, 360)),
                row("qwen2.5 trailing commas, single quotes, string numbers", QWEN2_5_VL, one,
                        "```json\n[{'bbox_2d': ['0', 0, 644, 476,], 'label': 'all',},]\n```", "all",
                        box("all", 0, 0, 640, 480)),
                row("qwen2.5 truncated json keeps finished objects", QWEN2_5_VL, one,
                        "```json\n[{\"bbox_2d\": [0, 0, 322, 238], \"label\": \"a\"}, {\"bbox_2d\": [1, 2, 3",
                        "a", box("a", 0, 0, 320, 240)),
                row("qwen2.5 point_2d", QWEN2_5_VL, one,
                        "```json\n[{\"point_2d\": [322, 238], \"label\": \"center\"}]\n```", "center",
                        new Expected("center", POINT, 0, 320, 240, 320, 240)),
                row("qwen2.5 xml points", QWEN2_5_VL, one,
                        "<points x1=\"322\" y1=\"238\" x2=\"0\" y2=\"0\" alt=\"cakes\">cakes</points>", "cakes",
                        new Expected("cakes", POINT, 0, 320, 240, 320, 240),
                        new Expected("cakes", POINT, 0, 0, 0, 0, 0)),
                row("json from qwen2-vl is 0-1000", QWEN2_VL, one,
                        "[{\"bbox_2d\": [0, 0, 500, 500], \"label\": \"x\"}]", "x", box("x", 0, 0, 320, 240)),
                row("non-grounding json stays text", QWEN2_5_VL, one,
                        "```json\n{\"answer\": 42}\n```", "```json\n{\"answer\": 42}\n```"),
                row("picture n selects the image", QWEN_VL, List.of(PHOTO, SECOND),
                        "Picture 1: <ref>cat</ref><box>(0,0),(500,500)</box>; Picture 2: <box>(0,0),(500,500)</box>"
                                + " 图1<box>(0,0),(1000,1000)</box>",
                        "Picture 1: cat; Picture 2:  图1",
                        box("cat", 0, 0, 320, 240), new Expected(null, BOX, 1, 0, 0, 500, 250),
                        box(null, 0, 0, 640, 480)),
                row("default is the last image", QWEN_VL, List.of(PHOTO, SECOND), "<box>(0,0),(1000,1000)</box>",
                        "", new Expected(null, BOX, 1, 0, 0, 1000, 500)),
                row("unknown picture number falls back to the last image", QWEN_VL, List.of(PHOTO, SECOND),
                        "Picture 7 <box>(0,0),(1000,1000)</box>", "Picture 7 ",
                        new Expected(null, BOX, 1, 0, 0, 1000, 500)),
                row("other code blocks stay text", QWEN2_5_VL, one, "```python\nprint(1)\n```\nok ```", "```python\nprint(1)\n```\nok "),
                row("plain text untouched", QWEN2_VL, one, "No objects [here] {really}.", "No objects [here] {really}."),
                row("partial tag at the end hidden", QWEN2_VL, one, "A dog <|object_ref_st", "A dog "),
                row("unclosed box at the end hidden", QWEN_VL, one, "<ref>dog</ref><box>(1,2),(3", "dog"),
                row("unclosed ref keeps its text", QWEN_VL, one, "see <ref>the d", "see the d"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("answers")
    void parses(String name, ModelArchitecture arch, List<ImageInfo> images, String text, String clean,
                List<Expected> expected) {
        GroundingResult result = parser.parse(text, arch, images);

        assertThat(result.rawText()).isEqualTo(text);
        assertThat(result.cleanText()).isEqualTo(clean);
        assertThat(result.boxes()).hasSize(expected.size());
        for (int k = 0; k < expected.size(); k++) {
            GroundingBox got = result.boxes().get(k);
            Expected want = expected.get(k);
            assertThat(got.label()).as("label %d", k).isEqualTo(want.label());
            assertThat(got.kind()).as("kind %d", k).isEqualTo(want.kind());
            assertThat(got.imageIndex()).as("image %d", k).isEqualTo(want.image());
            PixelBox p = got.pixels();
            assertThat(new double[] {p.x1(), p.y1(), p.x2(), p.y2()}).as("pixels %d", k)
                    .containsExactly(new double[] {want.x1(), want.y1(), want.x2(), want.y2()}, within(1e-6));
            NormalizedBox nb = got.normalized();
            assertThat(nb.x1()).isBetween(0.0, nb.x2());
            assertThat(nb.y1()).isBetween(0.0, nb.y2());
            assertThat(nb.x2()).isLessThanOrEqualTo(1.0);
            assertThat(nb.y2()).isLessThanOrEqualTo(1.0);
        }
    }

    @Test
    void keepsModelCoordinatesAsWritten() {
        GroundingBox b = parser.parse("<box>(900,800),(-5,1200)</box>", QWEN_VL, List.of(PHOTO)).boxes().get(0);

        assertThat(b.modelCoordinates()).containsExactly(900, 800, -5, 1200);
        assertThat(b.space()).isEqualTo(CoordinateSpace.RELATIVE_1000);
        assertThat(b.syntax()).isEqualTo(GroundingSyntax.QWEN_VL_TAGS);
        assertThat(b.normalized()).isEqualTo(new NormalizedBox(0, 0.8, 0.9, 1));
    }

    @Test
    void quadKeepsCornersInOrder() {
        GroundingBox b = parser.parse("<quad>(100,100),(900,120),(880,300),(90,280)</quad>", QWEN_VL,
                List.of(PHOTO)).boxes().get(0);

        assertThat(b.quadNormalized()).containsExactly(new double[] {.1, .1, .9, .12, .88, .3, .09, .28}, within(1e-12));
        assertThat(b.quadPixels()).containsExactly(new double[] {64, 48, 576, 57.6, 563.2, 144, 57.6, 134.4},
                within(1e-9));
    }

    @Test
    void resizedPixelsMapToOriginal() {
        // 640×480 seen as 644×476: x scales by 640/644, y by 480/476
        GroundingBox b = parser.parse("[{\"bbox_2d\": [100, 100, 200, 300]}]", QWEN2_5_VL, List.of(PHOTO))
                .boxes().get(0);

        assertThat(b.space()).isEqualTo(CoordinateSpace.RESIZED_PIXELS);
        assertThat(b.pixels().x1()).isCloseTo(100 * 640 / 644.0, within(1e-9));
        assertThat(b.pixels().y2()).isCloseTo(300 * 480 / 476.0, within(1e-9));
        assertThat(b.label()).isNull();
    }

    @Test
    void withoutImagesRelativeBoxesHaveNoPixels() {
        GroundingBox tag = parser.parse("<box>(0,0),(500,500)</box>", QWEN_VL, List.of()).boxes().get(0);
        GroundingBox json = parser.parse("[{\"bbox_2d\": [1, 2, 3, 4]}]", QWEN2_5_VL, null).boxes().get(0);

        assertThat(tag.imageIndex()).isEqualTo(-1);
        assertThat(tag.normalized()).isEqualTo(new NormalizedBox(0, 0, .5, .5));
        assertThat(tag.pixels()).isNull();
        assertThat(json.normalized()).isNull();
        assertThat(json.pixels()).isNull();
    }

    @Test
    void nullAndGarbageNeverThrow() {
        for (String s : new String[] {null, "", "<", "```", "```json", "[{", "{\"bbox_2d\":", "<ref></ref><box></box>",
                "<box><box></box>", "<points x1=\"a\">", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"bbox_2d\":",
                "{\"bbox_2d\": [1e999, 2, 3, 4]}", "\\u12", "{\"label\": \"\\u12"}) {
            assertThatCode(() -> parser.parse(s, QWEN2_5_VL, List.of(PHOTO))).as(s).doesNotThrowAnyException();
        }
    }

    @Test
    void recordsAreValueObjects() {
        GroundingResult a = parser.parse("<box>(1,2),(3,4)</box>", QWEN_VL, List.of(PHOTO));
        GroundingResult b = parser.parse("<box>(1,2),(3,4)</box>", QWEN_VL, List.of(PHOTO));

        assertThat(a).isEqualTo(b);
        assertThat(a.boxes().get(0).hashCode()).isEqualTo(b.boxes().get(0).hashCode());
        double[] coordinates = a.boxes().get(0).modelCoordinates();
        coordinates[0] = 99;
        assertThat(a.boxes().get(0).modelCoordinates()[0]).isEqualTo(1); // defensive copies
        assertThat(a.boxesFor(0)).hasSize(1);
        assertThat(a.boxesFor(1)).isEmpty();
    }

    /** Full answers whose every prefix must parse; the complete boxes of a prefix are a prefix of the full list. */
    static final List<Object[]> STREAMS = List.of(
            new Object[] {QWEN_VL, "图中有两只猫：<ref> 猫 </ref><box>(10,20),(300,400)</box><box>(500,520),(990,999)</box>"
                    + "，和<ref>a hat</ref> <box>(250,250),(750,750)</box><quad>(1,2),(3,4),(5,6),(7,8)</quad>。"},
            new Object[] {QWEN2_VL, "The <|object_ref_start|>dog<|object_ref_end|><|box_start|>(120,340),(560,880)"
                    + "<|box_end|> sits by the <|object_ref_start|>门<|object_ref_end|><|box_start|>(0,0),(100,1000)"
                    + "<|box_end|>."},
            new Object[] {QWEN2_5_VL, "```json\n[\n\t{\"bbox_2d\": [135, 114, 1016, 672], \"label\": \"a 大 cake\"},\n"
                    + "\t{\"point_2d\": [10, 20], \"label\": \"dot\"},\n\t{\"bbox_2d\": [1, 2, 3, 4], \"label\": \"x\"}\n]\n```"},
            new Object[] {QWEN2_5_VL, "Picture 1 shows {\"bbox_2d\": [0, 0, 10, 10], \"label\": \"a\"} and "
                    + "<points x1=\"5\" y1=\"6\" alt=\"p\">p</points> end"});

    @TestFactory
    Stream<DynamicTest> everyPrefixParses() {
        return STREAMS.stream().map(row -> DynamicTest.dynamicTest(((String) row[1]).substring(0, 30), () -> {
            ModelArchitecture arch = (ModelArchitecture) row[0];
            String full = (String) row[1];
            List<GroundingBox> all = parser.parse(full, arch, List.of(PHOTO)).boxes();
            assertThat(all).isNotEmpty();
            for (int end = 0; end <= full.length(); end++) {
                String prefix = full.substring(0, end);
                GroundingResult partial = parser.parse(prefix, arch, List.of(PHOTO));
                List<GroundingBox> found = partial.boxes();
                assertThat(found.size()).as("prefix %s", prefix).isLessThanOrEqualTo(all.size());
                assertThat(found).as("prefix %s", prefix).isEqualTo(all.subList(0, found.size()));
                assertThat(partial.cleanText()).as("prefix %s", prefix).doesNotContain("<|", "<ref", "<box", "\"bbox_2d\"");
            }
        }));
    }
}
