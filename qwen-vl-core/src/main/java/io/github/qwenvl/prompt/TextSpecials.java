package io.github.qwenvl.prompt;

import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps the chat template's own tokens written in message text from being read as those tokens: each occurrence of
 * a protected string in a message's text is replaced by a marker before the template renders, the rendered prompt
 * is tokenized piece by piece around the markers, and each marker becomes the plain-text tokens of the string it
 * stands for. Messages without such strings are rendered and tokenized exactly as before.
 */
public final class TextSpecials {

    /** Marks (Unicode noncharacters, removed from message text) around a protected string's index. */
    static final char OPEN = '\uFDD0';
    static final char CLOSE = '\uFDD1';
    private static final Pattern MARKER = Pattern.compile(OPEN + "(\\d+)" + CLOSE);

    private final List<String> protectedStrings;

    /** @param protectedStrings the strings that must stay plain text when a message writes them */
    public TextSpecials(List<String> protectedStrings) {
        this.protectedStrings = List.copyOf(protectedStrings);
    }

    /** Messages with protected strings marked, and the strings in marker order. */
    public record Marked(List<ChatMessage> messages, List<String> strings) {

        /** True when no message wrote a protected string. */
        public boolean none() {
            return strings.isEmpty();
        }

        /** {@code rendered} with every marker replaced by the string it stands for. */
        public String restore(String rendered) {
            if (none()) {
                return rendered;
            }
            Matcher m = MARKER.matcher(rendered);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(out, Matcher.quoteReplacement(strings.get(Integer.parseInt(m.group(1)))));
            }
            m.appendTail(out);
            return out.toString();
        }

        /**
         * Tokenizes {@code rendered} piece by piece: the text between markers with {@code encode} (the template's
         * special tokens recognised), each marker as the plain text of its string ({@code plain}).
         */
        public int[] encode(String rendered, Function<String, int[]> encode, Function<String, int[]> plain) {
            List<int[]> parts = new ArrayList<>();
            Matcher m = MARKER.matcher(rendered);
            int from = 0;
            while (m.find()) {
                if (m.start() > from) {
                    parts.add(encode.apply(rendered.substring(from, m.start())));
                }
                parts.add(plain.apply(strings.get(Integer.parseInt(m.group(1)))));
                from = m.end();
            }
            if (from < rendered.length()) {
                parts.add(encode.apply(rendered.substring(from)));
            }
            int n = parts.stream().mapToInt(p -> p.length).sum();
            int[] ids = new int[n];
            int at = 0;
            for (int[] p : parts) {
                System.arraycopy(p, 0, ids, at, p.length);
                at += p.length;
            }
            return ids;
        }
    }

    /** Marks the protected strings in every text part of {@code messages}. */
    public Marked mark(List<ChatMessage> messages) {
        List<String> strings = new ArrayList<>();
        List<ChatMessage> out = new ArrayList<>(messages.size());
        boolean changed = false;
        for (ChatMessage message : messages) {
            List<Content> parts = new ArrayList<>(message.content().size());
            boolean messageChanged = false;
            for (Content c : message.content()) {
                if (c instanceof Content.Text t) {
                    String marked = mark(t.text(), strings);
                    if (!marked.equals(t.text())) {
                        messageChanged = true;
                        parts.add(Content.text(marked));
                        continue;
                    }
                }
                parts.add(c);
            }
            changed |= messageChanged;
            out.add(messageChanged ? new ChatMessage(message.role(), parts) : message);
        }
        return new Marked(changed ? List.copyOf(out) : messages, List.copyOf(strings));
    }

    /** One text with its protected strings marked (appended to {@code strings}). */
    public String mark(String text, List<String> strings) {
        if (text.indexOf(OPEN) >= 0 || text.indexOf(CLOSE) >= 0) {
            text = text.replace(String.valueOf(OPEN), "").replace(String.valueOf(CLOSE), "");
        }
        StringBuilder out = null;
        int from = 0;
        while (true) {
            int best = -1;
            String found = null;
            for (String s : protectedStrings) {
                int at = text.indexOf(s, from);
                if (at >= 0 && (best < 0 || at < best || at == best && s.length() > found.length())) {
                    best = at;
                    found = s;
                }
            }
            if (found == null) {
                break;
            }
            if (out == null) {
                out = new StringBuilder(text.length() + 16);
            }
            out.append(text, from, best).append(OPEN).append(strings.size()).append(CLOSE);
            strings.add(found);
            from = best + found.length();
        }
        return out == null ? text : out.append(text, from, text.length()).toString();
    }
}
