package io.github.qwenvl.hub;

import java.util.regex.Pattern;

/**
 * A Hugging Face model repository id, {@code org/name}. Validated strictly because it becomes a
 * folder name of the cache: no form of it may escape the cache directory.
 *
 * @param owner the user or organisation
 * @param name  the repository name
 */
public record RepoId(String owner, String name) {

    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern FULL = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$");
    /** The Hub's own limit on a repository name; also keeps cache folder names short. */
    private static final int MAX_PART_LENGTH = 96;

    public RepoId {
        checkPart(owner, "owner");
        checkPart(name, "name");
    }

    /** Parses {@code org/name}; throws {@link InvalidModelIdException} explaining what is wrong. */
    public static RepoId parse(String id) {
        if (!isValid(id)) {
            throw new InvalidModelIdException("'" + id + "' is not a valid Hugging Face repo id: expected"
                    + " 'org/name' (letters, digits, '.', '_', '-'; no '..') or an existing local model directory");
        }
        int slash = id.indexOf('/');
        return new RepoId(id.substring(0, slash), id.substring(slash + 1));
    }

    /** Whether {@code id} is a well-formed repo id. */
    public static boolean isValid(String id) {
        if (id == null || !FULL.matcher(id).matches() || id.contains("..")) {
            return false;
        }
        int slash = id.indexOf('/');
        return slash <= MAX_PART_LENGTH && id.length() - slash - 1 <= MAX_PART_LENGTH;
    }

    /** The cache folder huggingface_hub uses for this model: {@code models--org--name}. */
    public String cacheFolderName() {
        return "models--" + owner + "--" + name;
    }

    @Override
    public String toString() {
        return owner + "/" + name;
    }

    private static void checkPart(String part, String what) {
        if (part == null || !PART.matcher(part).matches() || part.contains("..") || part.length() > MAX_PART_LENGTH) {
            throw new InvalidModelIdException("Invalid repo " + what + " '" + part + "'");
        }
    }
}
