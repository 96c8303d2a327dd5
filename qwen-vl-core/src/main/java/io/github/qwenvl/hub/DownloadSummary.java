package io.github.qwenvl.hub;

import java.time.Duration;

/**
 * What one resolve downloaded.
 *
 * @param model           the repo id
 * @param commit          the commit of the snapshot
 * @param filesDownloaded files fetched over the network (0 when everything was cached)
 * @param filesCached     files that were already in the cache
 * @param bytesDownloaded bytes received over the network
 * @param elapsed         wall time of the resolve
 */
public record DownloadSummary(String model, String commit, int filesDownloaded, int filesCached,
                              long bytesDownloaded, Duration elapsed) {
}
