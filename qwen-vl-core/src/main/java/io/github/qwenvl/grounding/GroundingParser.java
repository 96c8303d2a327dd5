package io.github.qwenvl.grounding;

import io.github.qwenvl.ImageInfo;
import io.github.qwenvl.config.ModelArchitecture;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds grounding boxes in a Qwen-VL family answer and maps them to image coordinates.
 *
 * <p>Every convention is recognised whatever the architecture, because models mix them (a Qwen2.5-VL may answer
 * with {@code <|box_start|>} tags, a fine-tune with JSON): Qwen-VL {@code <ref>/<box>/<quad>} tags, Qwen2-VL
 * {@code <|object_ref_start|>/<|box_start|>/<|quad_start|>} tags, Qwen2.5-VL JSON ({@code bbox_2d}, {@code point_2d};
 * fenced or bare; single object or array; trailing commas, extra keys, cut-off output) and the Qwen2.5-VL cookbook's
 * XML points. The text must be decoded with special tokens kept (otherwise the tags are gone).
 *
 * <p><b>Coordinate space</b> (what the numbers mean): Qwen-VL tags are always 0–1000 relative. Qwen2-VL tags are
 * 0–1000 relative, except for {@link ModelArchitecture#QWEN2_5_VL}, which was trained on absolute coordinates and
 * writes resized-image pixels. JSON and XML points are resized-image pixels for Qwen2.5-VL (and when the
 * architecture is unknown, {@code null}), 0–1000 for the older models.
 *
 * <p><b>Labels</b> of Qwen-VL tags follow Qwen-VL-Chat's {@code _fetch_all_box_with_ref} exactly: a {@code <box>}
 * takes the stripped text of a {@code <ref>} only when that ref is the element right before it, with nothing in
 * between (not even a space). So in {@code <ref>two cats</ref><box>…</box><box>…</box>} only the first box is labelled
 * (the reference's drawing gives the second one the same colour but no text), and a {@code <quad>}, which the reference
 * does not extract at all, is labelled by the same rule: in {@code <ref>the car</ref><box>…</box><quad>…</quad>} the
 * box is "the car" and the quad has no label. Qwen2-VL tags, which have no reference post-processing, label the run of
 * boxes (or of quads) that follows a ref with only whitespace or commas in between; a shape of the other kind ends the
 * run.
 *
 * <p><b>Which image</b>: boxes are written in the answer, after all prompt images, so a box belongs to the LAST
 * image of {@code images}, unless the text before it names one: the latest "Picture n", "Image n", "图n", "图片n"
 * or "第n张" before the box, when image n exists (n counts from 1, as Qwen-VL's "Picture 1:" prefixes do).
 *
 * <p><b>Robustness</b>: the parser never throws. Incomplete markup at the end (a partial stream) is ignored, so
 * the complete boxes of a prefix of an answer are a prefix of the answer's boxes; malformed numbers drop that box;
 * corners are reordered and coordinates clamped to the image (the model's own numbers stay in
 * {@link GroundingBox#modelCoordinates()}).
 *
 * <p>Stateless and thread-safe.
 */
public final class GroundingParser {

    private enum Element { REF, SHAPE }

    private record Tag(String open, String close, Element element, GroundingSyntax syntax) {
    }

    private static final List<Tag> TAGS = List.of(
            new Tag("<ref>", "</ref>", Element.REF, GroundingSyntax.QWEN_VL_TAGS),
            new Tag("<box>", "</box>", Element.SHAPE, GroundingSyntax.QWEN_VL_TAGS),
            new Tag("<quad>", "</quad>", Element.SHAPE, GroundingSyntax.QWEN_VL_TAGS),
            new Tag("<|object_ref_start|>", "<|object_ref_end|>", Element.REF, GroundingSyntax.QWEN2_VL_TAGS),
            new Tag("<|box_start|>", "<|box_end|>", Element.SHAPE, GroundingSyntax.QWEN2_VL_TAGS),
            new Tag("<|quad_start|>", "<|quad_end|>", Element.SHAPE, GroundingSyntax.QWEN2_VL_TAGS));

    /** Every markup string; a partial one at the very end of a stream is hidden from the clean text. */
    private static final List<String> ALL_MARKUP = List.of("<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>",
            "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
            "<|quad_end|>", "<points", "</points>", "<point", "</point>");

    private static final Pattern COORDINATE_SEPARATORS = Pattern.compile("[\\s(),\\[\\]，（）]+");
    private static final Pattern DECIMAL = Pattern.compile("[-+]?\\d+(?:\\.\\d+)?");
    private static final Pattern XML_POINTS = Pattern.compile("<(points?)\\b([^<>]*)>(.*?)</\\1>", Pattern.DOTALL);
    private static final Pattern PARTIAL_XML_POINTS = Pattern.compile(
            "<points?(?:\\s[^<>]*)?(?:>[^<]*(?:<(?:/(?:p(?:o(?:i(?:n(?:t(?:s)?)?)?)?)?)?)?)?)?", Pattern.DOTALL);
    private static final Pattern XML_ATTRIBUTE = Pattern.compile("([A-Za-z_][\\w-]*)\\s*=\\s*(?:\"([^\"]*)\"|'([^']*)')");
    private static final Pattern GROUNDING_KEY = Pattern.compile("[\"']?(?:bbox_2d|bbox|point_2d|point)[\"']?\\s*(?::|$)");
    private static final List<String> BOX_KEYS = List.of("bbox_2d", "bbox");
    private static final List<String> POINT_KEYS = List.of("point_2d", "point");
    // "box_2d" is deliberately absent: that is Gemini's [ymin, xmin, ymax, xmax] order, not Qwen's
    private static final List<String> LABEL_KEYS = List.of("label", "name", "category", "text_content", "text", "description");
    private static final Pattern IMAGE_MENTION = Pattern.compile(
            "(?i)\\b(?:picture|image|img|pic|photo)\\s*#?\\s*(\\d{1,3})(?!\\d)"
                    + "|(?:图|圖)(?:片|像)?\\s*(\\d{1,3})(?!\\d)"
                    + "|第\\s*(\\d{1,3})\\s*(?:张|幅|个|個)");

    /** Parses {@code text}; see the class comment for the rules. {@code arch} may be {@code null} (unknown). */
    public GroundingResult parse(String text, ModelArchitecture arch, List<ImageInfo> images) {
        String raw = text == null ? "" : text;
        return new Run(raw, arch, images == null ? List.of() : List.copyOf(images)).parse();
    }

    /** The coordinate grid a convention uses for a given model; see the class comment. */
    public static CoordinateSpace coordinateSpace(GroundingSyntax syntax, ModelArchitecture arch) {
        return switch (syntax) {
            case QWEN_VL_TAGS -> CoordinateSpace.RELATIVE_1000;
            case QWEN2_VL_TAGS -> arch == ModelArchitecture.QWEN2_5_VL ? CoordinateSpace.RESIZED_PIXELS
                    : CoordinateSpace.RELATIVE_1000;
            case JSON, XML_POINTS -> arch == null || arch == ModelArchitecture.QWEN2_5_VL
                    ? CoordinateSpace.RESIZED_PIXELS : CoordinateSpace.RELATIVE_1000;
        };
    }

    /** One parse: the scan state. */
    private static final class Run {
        private final String text;
        private final int n;
        private final ModelArchitecture arch;
        private final List<ImageInfo> images;
        private final List<int[]> mentions = new ArrayList<>(); // {position, picture number}
        private final int lastGroundingKey;
        private final StringBuilder clean = new StringBuilder();
        private final List<GroundingBox> boxes = new ArrayList<>();
        private String refLabel;
        /** True while only whitespace/commas separate us from the last ref or the box run that followed it. */
        private boolean refActive;
        /** Where the last {@code </ref>} (of either tag syntax) ended: a Qwen-VL shape starting there takes its label. */
        private int refEnd = -1;
        /** The kind of shape of the run after the last ref (Qwen2-VL tags), null before its first shape. */
        private GroundingBox.Kind runKind;

        Run(String text, ModelArchitecture arch, List<ImageInfo> images) {
            this.text = text;
            this.n = text.length();
            this.arch = arch;
            this.images = images;
            Matcher m = IMAGE_MENTION.matcher(text);
            while (m.find()) {
                String number = m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3);
                mentions.add(new int[] {m.start(), Integer.parseInt(number)});
            }
            int last = -1;
            Matcher k = GROUNDING_KEY.matcher(text);
            while (k.find()) {
                last = k.start();
            }
            this.lastGroundingKey = last;
        }

        GroundingResult parse() {
            int i = 0;
            while (i < n) {
                char c = text.charAt(i);
                int next = -1;
                if (c == '<') {
                    next = markupAt(i);
                } else if (c == '`' && text.startsWith("```", i)) {
                    next = fenceAt(i);
                } else if ((c == '[' || c == '{') && i < lastGroundingKey) {
                    next = bareJsonAt(i);
                }
                if (next >= 0) {
                    i = next;
                } else {
                    appendText(c);
                    i++;
                }
            }
            return new GroundingResult(clean.toString(), text, boxes);
        }

        /** Handles markup starting with '<' at i; returns where to continue, or -1 if it is plain text. */
        private int markupAt(int i) {
            for (Tag tag : TAGS) {
                if (text.startsWith(tag.open(), i)) {
                    return tagAt(tag, i);
                }
            }
            for (Tag tag : TAGS) {
                if (text.startsWith(tag.close(), i)) {
                    return i + tag.close().length(); // a stray closer is markup too: drop it
                }
            }
            if (text.startsWith("<point", i)) {
                int next = xmlPointsAt(i);
                if (next >= 0) {
                    return next;
                }
            }
            String tail = text.substring(i, Math.min(n, i + 24));
            if (i + tail.length() == n && ALL_MARKUP.stream().anyMatch(t -> t.startsWith(tail) && !t.equals(tail))) {
                return n; // the stream stopped inside a tag: hide the fragment
            }
            return -1;
        }

        private int tagAt(Tag tag, int i) {
            int contentStart = i + tag.open().length();
            int close = text.indexOf(tag.close(), contentStart);
            int nextOpen = nextOpener(contentStart, close < 0 ? n : close);
            if (nextOpen >= 0) {
                return contentStart; // malformed (another tag opens first): drop this opener, keep scanning
            }
            if (close < 0) {
                // the answer ends inside this element (a partial stream): no box; a partial label is still text
                if (tag.element() == Element.REF) {
                    clean.append(withoutPartialMarkup(text.substring(contentStart)));
                }
                return n;
            }
            String content = text.substring(contentStart, close);
            if (tag.element() == Element.REF) {
                clean.append(content);
                String label = content.strip();
                refLabel = label.isEmpty() ? null : label;
                refActive = true;
                runKind = null;
                refEnd = close + tag.close().length();
            } else {
                double[] numbers = numbers(content);
                if (numbers != null) {
                    addShape(numbers, shapeLabel(tag.syntax(), numbers.length, i), tag.syntax(), i);
                }
            }
            return close + tag.close().length();
        }

        /** The label of a tagged shape starting at {@code position} (see the class comment), or null. */
        private String shapeLabel(GroundingSyntax syntax, int numbers, int position) {
            if (syntax == GroundingSyntax.QWEN_VL_TAGS) {
                refActive = false;
                return position == refEnd ? refLabel : null;
            }
            GroundingBox.Kind kind = numbers == 8 ? GroundingBox.Kind.QUAD : GroundingBox.Kind.BOX;
            if (!refActive || (runKind != null && runKind != kind)) {
                refActive = false;
                return null;
            }
            runKind = kind;
            return refLabel;
        }

        private int nextOpener(int from, int before) {
            int best = -1;
            for (Tag t : TAGS) {
                int at = text.indexOf(t.open(), from);
                if (at >= 0 && at < before && (best < 0 || at < best)) {
                    best = at;
                }
            }
            return best;
        }

        private int xmlPointsAt(int i) {
            Matcher m = XML_POINTS.matcher(text).region(i, n);
            if (!m.lookingAt()) {
                // a points element the stream has not finished is hidden; anything else is text
                return PARTIAL_XML_POINTS.matcher(text).region(i, n).matches() ? n : -1;
            }
            Map<String, String> attributes = new java.util.LinkedHashMap<>();
            Matcher a = XML_ATTRIBUTE.matcher(m.group(2));
            while (a.find()) {
                attributes.put(a.group(1), a.group(2) != null ? a.group(2) : a.group(3));
            }
            String phrase = m.group(3).strip();
            String alt = attributes.get("alt");
            String label = !phrase.isEmpty() ? phrase : alt != null && !alt.isBlank() ? alt.strip() : null;
            for (int p = 1; attributes.containsKey("x" + p) && attributes.containsKey("y" + p); p++) {
                Double x = decimal(attributes.get("x" + p));
                Double y = decimal(attributes.get("y" + p));
                if (x != null && y != null) {
                    addShape(new double[] {x, y}, label, GroundingSyntax.XML_POINTS, i);
                }
            }
            if (label != null) {
                clean.append(label);
            }
            return m.end();
        }

        private int fenceAt(int i) {
            int headerEnd = text.indexOf('\n', i + 3);
            String language = text.substring(i + 3, headerEnd < 0 ? n : headerEnd).strip().toLowerCase();
            if (headerEnd < 0) {
                // the stream is inside the fence header: hide a fence that may become ```json
                return "json".startsWith(language) ? n : -1;
            }
            int contentStart = headerEnd + 1;
            int closing = text.indexOf("```", contentStart);
            int contentEnd = closing < 0 ? n : closing;
            boolean json = language.isEmpty() || language.equals("json") || language.equals("json5");
            JsonScan scan = json ? scanJson(contentStart, contentEnd) : null;
            if (scan != null) {
                emit(scan, i);
                return closing < 0 ? n : closing + 3;
            }
            if (closing < 0) {
                // an unfinished ```json block is hidden while the model writes it; other code is scanned as text
                return json ? n : -1;
            }
            // a finished non-grounding block is copied verbatim, so its closing fence is not taken for an opening one
            clean.append(text, i, closing + 3);
            refActive = false;
            return closing + 3;
        }

        private int bareJsonAt(int i) {
            JsonScan scan = scanJson(i, n);
            if (scan == null) {
                return -1;
            }
            emit(scan, i);
            return scan.end;
        }

        private record JsonScan(List<LenientJson.Obj> objects, boolean sawKey, int end) {
        }

        /** Reads the JSON at [from, to); {@code null} unless it holds a grounding key. */
        private JsonScan scanJson(int from, int to) {
            LenientJson.Result r = LenientJson.parse(text, from, to);
            List<LenientJson.Obj> found = new ArrayList<>();
            boolean[] sawKey = {false};
            collect(r.value(), found, sawKey);
            return sawKey[0] ? new JsonScan(found, true, r.end()) : null;
        }

        private static void collect(Object value, List<LenientJson.Obj> found, boolean[] sawKey) {
            if (value instanceof LenientJson.Obj obj) {
                if (BOX_KEYS.stream().anyMatch(obj.fields::containsKey)
                        || POINT_KEYS.stream().anyMatch(obj.fields::containsKey)) {
                    sawKey[0] = true;
                    if (obj.closed) { // an object the model has not finished may still change: skip it
                        found.add(obj);
                    }
                    return;
                }
                obj.fields.values().forEach(v -> collect(v, found, sawKey));
            } else if (value instanceof LenientJson.Arr arr) {
                arr.items.forEach(v -> collect(v, found, sawKey));
            }
        }

        private void emit(JsonScan scan, int position) {
            List<String> labels = new ArrayList<>();
            for (LenientJson.Obj obj : scan.objects()) {
                String label = jsonLabel(obj);
                double[] numbers = jsonNumbers(obj, BOX_KEYS);
                if (numbers == null) {
                    numbers = jsonNumbers(obj, POINT_KEYS);
                }
                if (numbers != null && addShape(numbers, label, GroundingSyntax.JSON, position) && label != null) {
                    labels.add(label);
                }
            }
            clean.append(String.join(", ", labels));
            refActive = false;
        }

        private static String jsonLabel(LenientJson.Obj obj) {
            for (String key : LABEL_KEYS) {
                Object v = obj.fields.get(key);
                if (v instanceof String s && !s.isBlank()) {
                    return s.strip();
                }
                if (v instanceof Double d) {
                    return d == Math.rint(d) ? Long.toString(d.longValue()) : d.toString();
                }
            }
            return null;
        }

        private static double[] jsonNumbers(LenientJson.Obj obj, List<String> keys) {
            for (String key : keys) {
                if (obj.fields.containsKey(key)) {
                    List<Double> out = new ArrayList<>();
                    if (flatten(obj.fields.get(key), out)) {
                        return out.stream().mapToDouble(Double::doubleValue).toArray();
                    }
                    return null;
                }
            }
            return null;
        }

        /** Numbers of [x1, y1, x2, y2], [[x1, y1], [x2, y2]] or "123" strings; false on anything else. */
        private static boolean flatten(Object v, List<Double> out) {
            if (v instanceof Double d) {
                out.add(d);
                return true;
            }
            if (v instanceof String s) {
                Double d = decimal(s);
                if (d != null) {
                    out.add(d);
                }
                return d != null;
            }
            if (v instanceof LenientJson.Arr a && a.closed) {
                for (Object item : a.items) {
                    if (!flatten(item, out)) {
                        return false;
                    }
                }
                return true;
            }
            return false;
        }

        private void appendText(char c) {
            clean.append(c);
            if (!Character.isWhitespace(c) && ",，;；、".indexOf(c) < 0) {
                refActive = false;
            }
        }

        /** Adds a box/quad/point from 4/8/2 numbers; false (nothing added) for any other count. */
        private boolean addShape(double[] numbers, String label, GroundingSyntax syntax, int position) {
            GroundingBox.Kind kind = switch (numbers.length) {
                case 2 -> GroundingBox.Kind.POINT;
                case 4 -> GroundingBox.Kind.BOX;
                case 8 -> GroundingBox.Kind.QUAD;
                default -> null;
            };
            if (kind == null) {
                return false;
            }
            ImageInfo image = imageAt(position);
            CoordinateSpace space = coordinateSpace(syntax, arch);
            double[] relative = toRelative(numbers, space, image);
            NormalizedBox normalized = null;
            double[] quad = null;
            if (relative != null) {
                double minX = 1, minY = 1, maxX = 0, maxY = 0;
                for (int k = 0; k < relative.length; k += 2) {
                    relative[k] = NormalizedBox.clamp01(relative[k]);
                    relative[k + 1] = NormalizedBox.clamp01(relative[k + 1]);
                    minX = Math.min(minX, relative[k]);
                    maxX = Math.max(maxX, relative[k]);
                    minY = Math.min(minY, relative[k + 1]);
                    maxY = Math.max(maxY, relative[k + 1]);
                }
                normalized = new NormalizedBox(minX, minY, maxX, maxY);
                quad = kind == GroundingBox.Kind.QUAD ? relative : null;
            }
            PixelBox pixels = null;
            double[] quadPixels = null;
            if (normalized != null && image != null) {
                pixels = normalized.toPixels(image.originalWidth(), image.originalHeight());
                if (quad != null) {
                    quadPixels = new double[8];
                    for (int k = 0; k < 8; k += 2) {
                        quadPixels[k] = quad[k] * image.originalWidth();
                        quadPixels[k + 1] = quad[k + 1] * image.originalHeight();
                    }
                }
            }
            boxes.add(new GroundingBox(label, image == null ? -1 : image.index(), kind, syntax, space, numbers,
                    normalized, pixels, quad, quadPixels));
            return true;
        }

        /** Model numbers to image-relative ones (unclamped); {@code null} when pixels cannot be related to an image. */
        private static double[] toRelative(double[] numbers, CoordinateSpace space, ImageInfo image) {
            double[] out = new double[numbers.length];
            for (int k = 0; k < numbers.length; k++) {
                boolean isX = k % 2 == 0;
                double scale;
                if (space == CoordinateSpace.RELATIVE_1000) {
                    scale = 1000.0;
                } else if (image == null) {
                    return null;
                } else {
                    // an engine that did not resize reports 0: then the model saw the original
                    int resized = isX ? image.resizedWidth() : image.resizedHeight();
                    int original = isX ? image.originalWidth() : image.originalHeight();
                    scale = resized > 0 ? resized : original;
                }
                out[k] = numbers[k] / scale;
            }
            return out;
        }

        private ImageInfo imageAt(int position) {
            if (images.isEmpty()) {
                return null;
            }
            for (int k = mentions.size() - 1; k >= 0; k--) {
                int[] mention = mentions.get(k);
                if (mention[0] < position) {
                    ImageInfo named = picture(mention[1]);
                    if (named != null) {
                        return named;
                    }
                }
            }
            return images.get(images.size() - 1);
        }

        /** "Picture n" (1-based) → the image whose 0-based index is n-1. */
        private ImageInfo picture(int number) {
            for (ImageInfo image : images) {
                if (image.index() == number - 1) {
                    return image;
                }
            }
            return null;
        }
    }

    /** Parses "(x1,y1),(x2,y2)" leniently (whitespace, brackets, full-width commas); null if any token is not a number. */
    static double[] numbers(String content) {
        String[] tokens = COORDINATE_SEPARATORS.split(content.strip());
        List<Double> values = new ArrayList<>();
        for (String token : tokens) {
            if (token.isEmpty()) {
                continue;
            }
            Double d = decimal(token);
            if (d == null) {
                return null;
            }
            values.add(d);
        }
        return values.isEmpty() ? null : values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static Double decimal(String s) {
        String t = s == null ? "" : s.strip();
        return DECIMAL.matcher(t).matches() ? Double.valueOf(t) : null;
    }

    /** Drops a trailing fragment of a closing tag ("dog</re") from a partial label. */
    private static String withoutPartialMarkup(String s) {
        int lt = s.lastIndexOf('<');
        if (lt >= 0) {
            String tail = s.substring(lt);
            if (ALL_MARKUP.stream().anyMatch(t -> t.startsWith(tail))) {
                return s.substring(0, lt);
            }
        }
        return s;
    }
}
