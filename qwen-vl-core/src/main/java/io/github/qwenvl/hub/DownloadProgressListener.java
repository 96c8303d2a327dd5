package io.github.qwenvl.hub;

/** Hears how downloads of model files progress. Called from the resolving thread; keep it cheap. */
public interface DownloadProgressListener {

    /**
     * Bytes of one file received so far (including bytes of a resumed partial download).
     *
     * @param file       the file name inside the repository
     * @param bytesDone  bytes on disk for this file
     * @param bytesTotal expected size, or -1 when the server did not say
     */
    void onProgress(String file, long bytesDone, long bytesTotal);

    /** Once per {@link ModelResolver#resolve} that contacted the Hub, after the last file. */
    default void onFinished(DownloadSummary summary) {
    }

    /** A listener that ignores everything. */
    static DownloadProgressListener none() {
        return (file, done, total) -> { };
    }
}
