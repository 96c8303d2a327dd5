package io.github.qwenvl;

import io.github.qwenvl.generate.FinishReason;
import io.github.qwenvl.tokenizer.StreamingDecoder;

import java.util.List;

/**
 * Turns generated ids into streamed text: UTF-8-safe deltas, stop sequences cut out, and nothing
 * emitted that might turn out to be the beginning of a stop sequence.
 */
final class TextAssembler {

    private final StreamingDecoder decoder;
    private final List<String> stopSequences;
    private final GenerationListener listener;
    private final StringBuilder text = new StringBuilder();
    private int emitted;
    private boolean stopped;

    TextAssembler(StreamingDecoder decoder, List<String> stopSequences, GenerationListener listener) {
        this.decoder = decoder;
        this.stopSequences = stopSequences.stream().filter(s -> !s.isEmpty()).toList();
        this.listener = listener;
    }

    /** Adds a token; returns STOP_SEQUENCE when the text now contains a stop sequence. */
    FinishReason accept(int token) {
        text.append(decoder.push(token));
        return release(false) ? FinishReason.STOP_SEQUENCE : null;
    }

    /** Flushes what is left and returns the final text. */
    String finish(FinishReason reason) {
        if (!stopped) {
            text.append(decoder.flush());
            release(true);
        }
        return text.toString();
    }

    /** Emits the safe part of the text; true if a stop sequence was found (text is then cut there). */
    private boolean release(boolean all) {
        if (stopped) {
            return true;
        }
        int searchFrom = Math.max(0, emitted - longestStop());
        int cut = -1;
        for (String s : stopSequences) {
            int at = text.indexOf(s, searchFrom);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            text.setLength(cut);
            emit(cut);
            stopped = true;
            return true;
        }
        emit(all ? text.length() : text.length() - heldBack());
        return false;
    }

    private void emit(int upTo) {
        if (upTo > emitted) {
            listener.onText(text.substring(emitted, upTo));
            emitted = upTo;
        }
    }

    /** Length of the longest suffix of the text that is a proper prefix of a stop sequence. */
    private int heldBack() {
        int held = 0;
        for (String s : stopSequences) {
            for (int k = Math.min(s.length() - 1, text.length()); k > held; k--) {
                if (text.substring(text.length() - k).equals(s.substring(0, k))) {
                    held = k;
                    break;
                }
            }
        }
        // never split a surrogate pair
        int end = text.length() - held;
        if (held > 0 && end > 0 && Character.isHighSurrogate(text.charAt(end - 1))) {
            held++;
        }
        return held;
    }

    private int longestStop() {
        return stopSequences.stream().mapToInt(String::length).max().orElse(0);
    }
}
