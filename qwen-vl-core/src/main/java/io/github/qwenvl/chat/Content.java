package io.github.qwenvl.chat;

import io.github.qwenvl.image.ImageSource;

/** One part of a message: text or an image, in the order they appear. */
public sealed interface Content permits Content.Text, Content.Image {

    static Text text(String text) {
        return new Text(text);
    }

    static Image image(ImageSource source) {
        return new Image(source);
    }

    /** Plain text; it is tokenized as text (special-token strings typed by a user stay text where the architecture allows). */
    record Text(String text) implements Content {
        public Text {
            if (text == null) {
                throw new IllegalArgumentException("text must not be null");
            }
        }
    }

    /** An image; the n-th image of a conversation is "Picture n". */
    record Image(ImageSource source) implements Content {
        public Image {
            if (source == null) {
                throw new IllegalArgumentException("image source must not be null");
            }
        }
    }
}
