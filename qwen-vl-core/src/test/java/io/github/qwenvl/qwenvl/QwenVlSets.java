package io.github.qwenvl.qwenvl;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.qwenvl.chat.ChatMessage;
import io.github.qwenvl.chat.Content;
import io.github.qwenvl.checkpoint.TensorStore;
import io.github.qwenvl.config.ModelArchitecture;
import io.github.qwenvl.config.ModelConfig;
import io.github.qwenvl.image.ImageSource;
import io.github.qwenvl.image.RgbImage;
import io.github.qwenvl.testing.FixtureRoot;
import io.github.qwenvl.testing.FixtureSet;
import io.github.qwenvl.testing.Goldens;
import io.github.qwenvl.tokenizer.QwenTiktokenTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Qwen-VL fixture sets of the fixture root, recognised from their manifests and configs (never folder names):
 * a model set has {@code model.dir} whose config.json is a {@code QWenLMHeadModel}; a tokenizer set names a
 * {@code .tiktoken} vocabulary. Shared loaded networks per model directory.
 */
final class QwenVlSets {

    private static final NDManager MANAGER = NDManager.newBaseManager(io.github.qwenvl.testing.TestDevice.device());
    private static final Map<List<Object>, QwenVlNetwork> NETWORKS = new ConcurrentHashMap<>();
    private static final Map<Path, QwenTiktokenTokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    private QwenVlSets() {
    }

    static NDManager manager() {
        return MANAGER;
    }

    /** Sets of the golden root whose manifest names a Qwen-VL checkpoint directory. */
    static List<FixtureSet> modelSets() {
        return modelSets(FixtureRoot.sets());
    }

    /** Sets among {@code sets} whose manifest names a Qwen-VL checkpoint directory. */
    static List<FixtureSet> modelSets(List<FixtureSet> sets) {
        List<FixtureSet> out = new ArrayList<>();
        for (FixtureSet set : sets) {
            JsonObject m = set.manifest();
            if (!m.has("model") || !m.get("model").isJsonObject() || !m.getAsJsonObject("model").has("dir")) {
                continue;
            }
            Path dir = modelDir(set);
            Path config = dir.resolve("config.json");
            if (!Files.isRegularFile(config)) {
                continue;
            }
            try {
                if (ModelConfig.load(dir).architecture() == ModelArchitecture.QWEN_VL) {
                    out.add(set);
                }
            } catch (RuntimeException e) {
                // not a checkpoint this suite understands
            }
        }
        return out;
    }

    static Path modelDir(FixtureSet set) {
        return set.dir().resolve(set.manifest().getAsJsonObject("model").get("dir").getAsString());
    }

    /** The tiktoken vocabulary a set's manifest names, or null. */
    static Path vocabFile(FixtureSet set) {
        JsonObject m = set.manifest();
        String file = null;
        if (m.has("vocab_file") && m.get("vocab_file").isJsonPrimitive()) {
            file = m.get("vocab_file").getAsString();
        } else if (m.has("vocab") && m.get("vocab").isJsonObject() && m.getAsJsonObject("vocab").has("file")) {
            file = m.getAsJsonObject("vocab").get("file").getAsString();
        }
        if (file == null || !file.endsWith(".tiktoken")) {
            return null;
        }
        Path p = set.dir().resolve(file);
        return Files.isRegularFile(p) ? p : null;
    }

    /** Tokenizer golden file of a set with a tiktoken vocabulary, or null. */
    static Path tokenizerGoldens(FixtureSet set) {
        if (vocabFile(set) == null) {
            return null;
        }
        JsonObject m = set.manifest();
        String rel = m.has("tokenizer_goldens") ? m.get("tokenizer_goldens").getAsString() : "goldens/tokenizer.json";
        Path p = set.dir().resolve(rel);
        return Files.isRegularFile(p) ? p : null;
    }

    static QwenTiktokenTokenizer tokenizer(Path vocab) {
        return TOKENIZERS.computeIfAbsent(vocab, QwenTiktokenTokenizer::load);
    }

    static QwenVlConfig config(FixtureSet set) {
        Path dir = modelDir(set);
        return QwenVlConfig.from(ModelConfig.load(dir).raw(), dir.resolve("config.json").toString());
    }

    /** The network of a set's checkpoint, loaded with the tuning of the running check ({@code SmallBlocks.current()}). */
    static QwenVlNetwork network(FixtureSet set) {
        io.github.qwenvl.EngineTuning tuning = io.github.qwenvl.testing.SmallBlocks.current();
        return NETWORKS.computeIfAbsent(List.of(modelDir(set), tuning), key -> {
            TensorStore store = TensorStore.open(modelDir(set));
            return new QwenVlNetwork(config(set), store, null, MANAGER.newSubManager(),
                    io.github.qwenvl.testing.TestDevice.matrixType(), false, 1, tuning);
        });
    }

    static JsonArray cases(FixtureSet set) {
        JsonElement c = set.manifest().get("cases");
        return c != null && c.isJsonArray() ? c.getAsJsonArray() : new JsonArray();
    }

    static String baseName(String path) {
        return Path.of(path).getFileName().toString();
    }

    /** The preprocess golden file of a model set. */
    static Path preprocessFile(FixtureSet set) {
        return set.dir().resolve(set.manifest().getAsJsonObject("preprocess").get("file").getAsString());
    }

    /** The stored resized uint8 image (HWC) of an image, as pixel values of the model. */
    static float[] goldenPixels(FixtureSet set, String image) {
        Path file = preprocessFile(set);
        String key = "resized_u8." + baseName(image);
        long[] shape = Goldens.shape(file, key);
        float[] u8 = Goldens.floats(file, key);
        byte[] rgb = new byte[u8.length];
        for (int i = 0; i < u8.length; i++) {
            rgb[i] = (byte) Math.round(u8[i]);
        }
        return QwenVlImageProcessor.normalize(new RgbImage((int) shape[1], (int) shape[0], rgb));
    }

    private static final Pattern PICTURE = Pattern.compile("Picture (\\d+):<img>(.*?)</img>\\n", Pattern.DOTALL);

    /** A from_list_format text back as message parts: each "Picture n:<img>p</img>\n" becomes an image of file p. */
    static List<Content> parts(String text, Path base) {
        List<Content> parts = new ArrayList<>();
        Matcher m = PICTURE.matcher(text);
        int at = 0;
        while (m.find()) {
            if (m.start() > at) {
                parts.add(Content.text(text.substring(at, m.start())));
            }
            parts.add(Content.image(ImageSource.of(Path.of(m.group(2)))));
            at = m.end();
        }
        if (at < text.length()) {
            parts.add(Content.text(text.substring(at)));
        }
        return parts;
    }

    /** List-format elements (image / text) as message parts, images as the given relative paths. */
    static List<Content> listFormat(JsonArray list) {
        List<Content> parts = new ArrayList<>();
        for (JsonElement e : list) {
            JsonObject o = e.getAsJsonObject();
            if (o.has("image")) {
                parts.add(Content.image(ImageSource.of(Path.of(o.get("image").getAsString()))));
            } else if (o.has("text")) {
                parts.add(Content.text(o.get("text").getAsString()));
            } else {
                return null;
            }
        }
        return parts;
    }

    /** The fields each prompt kind may have: all are applied ({@code text}, the rendered prompt, is compared). */
    private static final Map<String, java.util.Set<String>> PROMPT_FIELDS = Map.of(
            "chat", java.util.Set.of("kind", "system", "history", "list_format", "query", "text"),
            "raw_list", java.util.Set.of("kind", "list_format", "text"),
            "raw", java.util.Set.of("kind", "text"));

    /**
     * A case prompt of a manifest as messages: chat (system, history, list-format query) or raw list. Strict: an
     * unknown prompt kind or field fails with its name.
     */
    static List<ChatMessage> messages(JsonObject prompt) {
        List<ChatMessage> messages = new ArrayList<>();
        String kind = prompt.get("kind").getAsString();
        if (!PROMPT_FIELDS.containsKey(kind)) {
            throw new AssertionError("prompt kind " + kind + " is not supported (" + PROMPT_FIELDS.keySet() + ")");
        }
        io.github.qwenvl.testing.CaseFields.check("prompt of kind " + kind, prompt, PROMPT_FIELDS.get(kind), java.util.Set.of());
        if (kind.equals("chat")) {
            messages.add(ChatMessage.system(prompt.get("system").getAsString()));
            for (JsonElement h : prompt.getAsJsonArray("history")) {
                JsonArray pair = h.getAsJsonArray();
                messages.add(new ChatMessage(io.github.qwenvl.chat.Role.USER, parts(pair.get(0).getAsString(), null)));
                messages.add(new ChatMessage(io.github.qwenvl.chat.Role.ASSISTANT, parts(pair.get(1).getAsString(), null)));
            }
            List<Content> query = prompt.has("list_format") ? listFormat(prompt.getAsJsonArray("list_format")) : null;
            if (query == null) {
                query = parts(prompt.get("query").getAsString(), null);
            }
            messages.add(new ChatMessage(io.github.qwenvl.chat.Role.USER, query));
        } else if (kind.equals("raw_list")) {
            messages.add(new ChatMessage(io.github.qwenvl.chat.Role.USER, listFormat(prompt.getAsJsonArray("list_format"))));
        } else {
            messages.add(ChatMessage.user(prompt.get("text").getAsString()));
        }
        return messages;
    }

    static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
