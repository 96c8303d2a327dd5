package io.github.qwenvl.hub;

import java.util.Set;

/**
 * The Hub API's answer for one revision: its commit and the files it holds.
 *
 * @param commit the commit hash of the revision ({@code sha})
 * @param files  every file of the repository ({@code siblings[].rfilename})
 */
record RepoListing(String commit, Set<String> files) {
}
