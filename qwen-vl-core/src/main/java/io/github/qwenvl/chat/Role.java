package io.github.qwenvl.chat;

/** Who speaks a message, as the chat templates name them. */
public enum Role {
    SYSTEM("system"), USER("user"), ASSISTANT("assistant");

    private final String templateName;

    Role(String templateName) {
        this.templateName = templateName;
    }

    /** The role as written after {@code <|im_start|>}. */
    public String templateName() {
        return templateName;
    }
}
