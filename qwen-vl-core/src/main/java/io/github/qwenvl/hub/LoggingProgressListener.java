package io.github.qwenvl.hub;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The default listener: logs each file's progress through slf4j at most once per interval or per
 * 10 % step, whichever comes first, so multi-gigabyte downloads neither flood the log nor look stuck.
 */
public final class LoggingProgressListener implements DownloadProgressListener {

    private static final Logger LOG = LoggerFactory.getLogger(LoggingProgressListener.class);

    private final long intervalNanos;
    private final LongSupplier clock;
    private final Map<String, FileState> files = new HashMap<>();
    private int progressLines;

    /** Logs at most every 5 seconds or 10 % per file. */
    public LoggingProgressListener() {
        this(Duration.ofSeconds(5), System::nanoTime);
    }

    LoggingProgressListener(Duration interval, LongSupplier nanoClock) {
        this.intervalNanos = interval.toNanos();
        this.clock = nanoClock;
    }

    @Override
    public synchronized void onProgress(String file, long bytesDone, long bytesTotal) {
        long now = clock.getAsLong();
        FileState state = files.computeIfAbsent(file, f -> new FileState());
        int decile = bytesTotal > 0 ? (int) Math.min(10, bytesDone * 10 / bytesTotal) : -1;
        boolean finished = bytesTotal > 0 && bytesDone >= bytesTotal;
        boolean due = !state.loggedAny || now - state.lastLogNanos >= intervalNanos || decile > state.lastDecile
                || finished;
        if (!due || (finished && state.loggedFinish)) {
            return;
        }
        state.lastLogNanos = now;
        state.loggedAny = true;
        state.lastDecile = Math.max(state.lastDecile, decile);
        state.loggedFinish = finished;
        progressLines++;
        if (bytesTotal > 0) {
            LOG.info("Downloading {}: {} / {} ({}%)", file, human(bytesDone), human(bytesTotal),
                    bytesDone * 100 / bytesTotal);
        } else {
            LOG.info("Downloading {}: {}", file, human(bytesDone));
        }
    }

    /** Progress lines written so far; lets tests check the throttling. */
    synchronized int progressLines() {
        return progressLines;
    }

    @Override
    public void onFinished(DownloadSummary s) {
        if (s.filesDownloaded() == 0) {
            LOG.info("Model {} ({}) found in the cache, {} files", s.model(), s.commit(), s.filesCached());
            return;
        }
        double seconds = Math.max(0.001, s.elapsed().toMillis() / 1000.0);
        LOG.info("Model {} ({}): downloaded {} files, {} in {} s ({}/s); {} files were cached", s.model(), s.commit(),
                s.filesDownloaded(), human(s.bytesDownloaded()), String.format("%.1f", seconds),
                human((long) (s.bytesDownloaded() / seconds)), s.filesCached());
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format("%.1f %s", value, units[unit]);
    }

    private static final class FileState {
        /** The first call always logs. */
        boolean loggedAny;
        long lastLogNanos;
        int lastDecile = -1;
        boolean loggedFinish;
    }
}
