package io.github.qwenvl.qwenvl;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.chat.Role;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.tokenizer.QwenTiktokenTokenizer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Qwen-VL-Chat numbers the pictures of each query on its own: {@code from_list_format} starts its counter at 1 on
 * every call, and {@code make_context} joins the already formatted history queries and the current query. So a
 * two-turn conversation with one image per turn has {@code Picture 1:} in both user turns.
 *
 * <p>The expected ids come from two reference goldens of the bundled {@code qwen-vl-tiny} set, both built by the
 * reference {@code make_context}, which encodes the system part, each history pair and the query separately and
 * concatenates them: {@code chat_history_grounding} (a history turn with one image) up to its query, then
 * {@code chat_one_image} (a query with one image) from its query on.
 */
class QwenVlPictureNumberingTest {

    @Test
    void eachUserTurnNumbersItsPicturesFromOne() {
        FixtureSet set = QwenVlSets.modelSets(FixtureRoot.bundledSets()).get(0);
        JsonObject history = caseNamed(set, "chat_history_grounding");
        JsonObject oneImage = caseNamed(set, "chat_one_image");
        JsonObject historyPrompt = history.getAsJsonObject("prompt");
        JsonObject queryPrompt = oneImage.getAsJsonObject("prompt");
        QwenTiktokenTokenizer tokenizer = QwenVlSets.tokenizer(QwenVlSets.modelDir(set).resolve(QwenTiktokenTokenizer.VOCAB_FILE));
        int imStart = tokenizer.specialTokens().imStart();

        int[] historyIds = QwenVlSets.ints(history.getAsJsonArray("input_ids"));
        int[] queryIds = QwenVlSets.ints(oneImage.getAsJsonArray("input_ids"));
        int[] expected = IntStream.concat(Arrays.stream(historyIds, 0, queryStart(historyIds, imStart)),
                Arrays.stream(queryIds, queryStart(queryIds, imStart), queryIds.length)).toArray();

        String firstQuery = historyPrompt.getAsJsonArray("history").get(0).getAsJsonArray().get(0).getAsString();
        String firstAnswer = historyPrompt.getAsJsonArray("history").get(0).getAsJsonArray().get(1).getAsString();
        List<Content> query = QwenVlSets.listFormat(queryPrompt.getAsJsonArray("list_format"));
        List<ChatMessage> messages = List.of(ChatMessage.system(historyPrompt.get("system").getAsString()),
                new ChatMessage(Role.USER, QwenVlSets.parts(firstQuery, null)),
                new ChatMessage(Role.ASSISTANT, QwenVlSets.parts(firstAnswer, null)),
                new ChatMessage(Role.USER, query));

        QwenVlChatFormat.Encoded encoded = new QwenVlChatFormat(tokenizer, true, 6144).encode(messages);

        assertThat(firstQuery).startsWith("Picture 1:");
        assertThat(queryPrompt.get("query").getAsString()).startsWith("Picture 1:");
        assertThat(encoded.text()).isEqualTo(historyPrompt.get("text").getAsString()
                .substring(0, historyPrompt.get("text").getAsString().lastIndexOf("\n<|im_start|>user\n"))
                + queryPrompt.get("text").getAsString().substring(queryPrompt.get("text").getAsString().indexOf("\n<|im_start|>user\n")));
        assertThat(encoded.text()).doesNotContain("Picture 2:");
        assertThat(encoded.inputIds()).containsExactly(expected);
        String firstImage = firstQuery.substring(firstQuery.indexOf("<img>") + 5, firstQuery.indexOf("</img>"));
        String secondImage = queryPrompt.getAsJsonArray("list_format").get(0).getAsJsonObject().get("image").getAsString();
        assertThat(encoded.images()).map(s -> ((ImageSource.File) s).path().toString()).containsExactly(firstImage, secondImage);
    }

    @Test
    void twoImagesInOneTurnAreStillPictureOneAndTwo() {
        FixtureSet set = QwenVlSets.modelSets(FixtureRoot.bundledSets()).get(0);
        JsonObject twoImages = caseNamed(set, "chat_two_images");
        QwenTiktokenTokenizer tokenizer = QwenVlSets.tokenizer(QwenVlSets.modelDir(set).resolve(QwenTiktokenTokenizer.VOCAB_FILE));
        List<ChatMessage> messages = List.of(ChatMessage.user(Content.text("Hi")), ChatMessage.assistant("Hello."),
                new ChatMessage(Role.USER, QwenVlSets.listFormat(twoImages.getAsJsonObject("prompt").getAsJsonArray("list_format"))));

        String text = new QwenVlChatFormat(tokenizer, true, 6144).encode(messages).text();

        assertThat(text).endsWith("<|im_start|>user\n" + twoImages.getAsJsonObject("prompt").get("query").getAsString()
                + "<|im_end|>\n<|im_start|>assistant\n");
    }

    /** Where the last user turn begins: the newline before the second-to-last {@code <|im_start|>}. */
    private static int queryStart(int[] ids, int imStart) {
        int seen = 0;
        for (int i = ids.length - 1; i >= 0; i--) {
            if (ids[i] == imStart && ++seen == 2) {
                return i - 1;
            }
        }
        throw new AssertionError("no user turn");
    }

    private static JsonObject caseNamed(FixtureSet set, String name) {
        for (JsonElement e : QwenVlSets.cases(set)) {
            if (e.getAsJsonObject().get("name").getAsString().equals(name)) {
                return e.getAsJsonObject();
            }
        }
        throw new AssertionError("no case " + name + " in " + set.name());
    }
}
