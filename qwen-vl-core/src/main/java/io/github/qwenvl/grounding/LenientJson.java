package io.github.qwenvl.grounding;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A forgiving JSON reader for what language models write: trailing or missing commas, single quotes, bare keys,
 * Python literals, and text cut off mid-value (a partial stream). It never throws; instead every object and array
 * records whether it was closed, so the caller keeps only what the model finished writing.
 * (gson's lenient mode still throws on truncation and turns trailing commas into nulls, hence this.)
 */
final class LenientJson {

    /** A JSON object; {@code closed} is false when the text ended or went bad before its {@code '}'}. */
    static final class Obj {
        final Map<String, Object> fields = new LinkedHashMap<>();
        boolean closed;
    }

    /** A JSON array; {@code closed} as for {@link Obj}. */
    static final class Arr {
        final List<Object> items = new ArrayList<>();
        boolean closed;
    }

    /** @param value the value read, {@code null} if none; @param end where reading stopped */
    record Result(Object value, int end) {
    }

    /** Marks "no value could be read here" (garbage or end of text). */
    private static final Object NONE = new Object();

    private final String s;
    private final int limit;
    private int pos;
    /** Set when the text ended inside a value: everything open at that moment is incomplete. */
    private boolean truncated;
    /** Deep model outputs are not a thing; the cap keeps hostile input from overflowing the stack. */
    private int depth;

    private LenientJson(String s, int from, int limit) {
        this.s = s;
        this.pos = from;
        this.limit = limit;
    }

    /** Reads one value starting at {@code from} (leading whitespace skipped), not past {@code limit}. */
    static Result parse(String s, int from, int limit) {
        LenientJson p = new LenientJson(s, from, Math.min(limit, s.length()));
        Object v;
        try {
            v = p.value();
        } catch (RuntimeException | StackOverflowError e) {
            v = NONE; // defensive: the reader is written not to throw, but a parse must never fail the caller
        }
        return new Result(v == NONE ? null : v, p.pos);
    }

    private Object value() {
        skipWs();
        if (pos >= limit) {
            truncated = true;
            return NONE;
        }
        char c = s.charAt(pos);
        if (c == '{') {
            return depth > 64 ? NONE : object();
        }
        if (c == '[') {
            return depth > 64 ? NONE : array();
        }
        if (c == '"' || c == '\'') {
            return string();
        }
        if (c == '-' || c == '+' || c == '.' || Character.isDigit(c)) {
            return number();
        }
        if (Character.isLetter(c)) {
            int start = pos;
            while (pos < limit && Character.isLetterOrDigit(s.charAt(pos))) {
                pos++;
            }
            switch (s.substring(start, pos)) {
                case "true", "True":
                    return Boolean.TRUE;
                case "false", "False":
                    return Boolean.FALSE;
                case "null", "None":
                    return null;
                default:
                    pos = start;
                    return NONE;
            }
        }
        return NONE;
    }

    private Obj object() {
        Obj obj = new Obj();
        pos++; // '{'
        depth++;
        try {
            while (true) {
                skipWs();
                if (pos >= limit) {
                    truncated = true;
                    return obj;
                }
                char c = s.charAt(pos);
                if (c == '}') {
                    pos++;
                    obj.closed = true;
                    return obj;
                }
                if (c == ',') { // also skips trailing and doubled commas
                    pos++;
                    continue;
                }
                String key = key();
                if (key == null) {
                    return obj;
                }
                skipWs();
                if (pos >= limit) {
                    truncated = true;
                    obj.fields.put(key, null);
                    return obj;
                }
                if (s.charAt(pos) != ':') {
                    obj.fields.put(key, null);
                    return obj;
                }
                pos++;
                Object v = value();
                obj.fields.put(key, v == NONE ? null : v);
                if (v == NONE || truncated || isOpen(v)) {
                    return obj;
                }
            }
        } finally {
            depth--;
        }
    }

    private Arr array() {
        Arr arr = new Arr();
        pos++; // '['
        depth++;
        try {
            while (true) {
                skipWs();
                if (pos >= limit) {
                    truncated = true;
                    return arr;
                }
                char c = s.charAt(pos);
                if (c == ']') {
                    pos++;
                    arr.closed = true;
                    return arr;
                }
                if (c == ',') {
                    pos++;
                    continue;
                }
                Object v = value();
                if (v == NONE) {
                    return arr;
                }
                arr.items.add(v);
                if (truncated || isOpen(v)) {
                    return arr;
                }
            }
        } finally {
            depth--;
        }
    }

    private static boolean isOpen(Object v) {
        return v instanceof Obj o && !o.closed || v instanceof Arr a && !a.closed;
    }

    private String key() {
        char c = s.charAt(pos);
        if (c == '"' || c == '\'') {
            String k = string();
            return truncated ? null : k;
        }
        int start = pos;
        while (pos < limit && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) {
            pos++;
        }
        if (pos == limit) {
            truncated = true;
            return null;
        }
        return pos > start ? s.substring(start, pos) : null;
    }

    private String string() {
        char quote = s.charAt(pos++);
        StringBuilder out = new StringBuilder();
        while (pos < limit) {
            char c = s.charAt(pos++);
            if (c == quote) {
                return out.toString();
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (pos >= limit) {
                break;
            }
            char e = s.charAt(pos++);
            switch (e) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'u' -> {
                    if (pos + 4 > limit) {
                        pos = limit;
                        truncated = true;
                        return out.toString();
                    }
                    try {
                        out.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                    } catch (NumberFormatException bad) {
                        out.append('\uFFFD');
                    }
                    pos += 4;
                }
                default -> out.append(e);
            }
        }
        truncated = true; // the closing quote never came
        return out.toString();
    }

    private Object number() {
        int start = pos;
        if (s.charAt(pos) == '-' || s.charAt(pos) == '+') {
            pos++;
        }
        while (pos < limit && (Character.isDigit(s.charAt(pos)) || s.charAt(pos) == '.' || s.charAt(pos) == 'e'
                || s.charAt(pos) == 'E' || ((s.charAt(pos) == '-' || s.charAt(pos) == '+')
                && (s.charAt(pos - 1) == 'e' || s.charAt(pos - 1) == 'E')))) {
            pos++;
        }
        if (pos >= limit) {
            truncated = true; // "12" might have been the start of "123"
        }
        try {
            double d = Double.parseDouble(s.substring(start, pos));
            return Double.isFinite(d) ? d : NONE;
        } catch (NumberFormatException bad) {
            pos = start;
            return NONE;
        }
    }

    private void skipWs() {
        while (pos < limit && Character.isWhitespace(s.charAt(pos))) {
            pos++;
        }
    }
}
