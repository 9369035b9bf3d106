package dev.pekkoprover.sequencer;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code prover.persistence}: whether the sequencer keeps task results and flow outcomes durably,
 * in which journal, and the bounds of its two stores. Read once when the sequencer starts.
 *
 * @param database how log lines name the journal's database (the launcher sets it: a file, a JDBC
 *     URL)
 * @param remedy what to do when that database cannot be read or written, for the same lines
 */
public record StoreSettings(
    boolean enabled,
    String journalPlugin,
    String snapshotPlugin,
    String idPrefix,
    String database,
    String remedy,
    Duration writeTimeout,
    Duration retryInterval,
    int maxBatch,
    long maxBatchBytes,
    Duration minBackoff,
    Duration maxBackoff,
    double randomFactor,
    Bounds results,
    Bounds flows) {

  /**
   * The bounds of one store and how often it snapshots.
   *
   * @param snapshotEvery a snapshot every this many events (journal rows)
   * @param resultsPerEvent results one event holds at most
   * @param eventMaxBytes serialised result bytes one event holds at most (a single larger result is
   *     an event alone)
   * @param snapshotEveryBytes a snapshot once the events since the last one hold about this many
   *     serialised result bytes, even before {@code snapshotEvery} events: a write counts as one
   *     event per {@link #bytesPerEvent()} bytes it holds ({@link #fillersFor}); {@code
   *     Long.MAX_VALUE}: every event counts as one
   */
  public record Bounds(
      int maxEntries,
      long maxBytes,
      int snapshotEvery,
      int keepSnapshots,
      int resultsPerEvent,
      long eventMaxBytes,
      long snapshotEveryBytes) {
    /** One result per event; snapshots by count alone. */
    public Bounds(int maxEntries, long maxBytes, int snapshotEvery, int keepSnapshots) {
      this(maxEntries, maxBytes, snapshotEvery, keepSnapshots, 1, Long.MAX_VALUE);
    }

    /** Snapshots by count alone. */
    public Bounds(
        int maxEntries,
        long maxBytes,
        int snapshotEvery,
        int keepSnapshots,
        int resultsPerEvent,
        long eventMaxBytes) {
      this(
          maxEntries,
          maxBytes,
          snapshotEvery,
          keepSnapshots,
          resultsPerEvent,
          eventMaxBytes,
          Long.MAX_VALUE);
    }

    /**
     * The bytes one event counts for in the snapshot cadence: {@code snapshotEveryBytes /
     * snapshotEvery}, at least 1.
     */
    public long bytesPerEvent() {
      return Math.max(1, snapshotEveryBytes / snapshotEvery);
    }

    /**
     * How many empty events follow a write of {@code events} events holding {@code bytes} of
     * results, so that the write counts for {@code bytes / bytesPerEvent()} events in Pekko's
     * count-based retention when that is more than its events: at most {@code snapshotEvery - 1}
     * (one snapshot is all a large write needs), 0 when snapshots go by count alone. Pekko's
     * retention counts events only; this is how the cadence follows bytes too, so a store of small
     * results can snapshot rarely (a snapshot writes the whole map) while one of large results
     * still keeps its journal within a few {@code snapshotEveryBytes}. {@code bytes} may include
     * what earlier writes left uncounted ({@link #uncounted}).
     */
    public int fillersFor(long bytes, int events) {
      if (snapshotEveryBytes == Long.MAX_VALUE) {
        return 0;
      }
      return (int) Math.max(0, Math.min(snapshotEvery - 1L, bytes / bytesPerEvent() - events));
    }

    /**
     * The bytes of a write that its {@code events} and {@code fillers} did not count, carried to
     * the next write so that the cadence does not drift with the rounding: 0 once the fillers
     * reached their cap.
     */
    public long uncounted(long bytes, int events, int fillers) {
      if (snapshotEveryBytes == Long.MAX_VALUE || fillers == snapshotEvery - 1) {
        return 0;
      }
      return Math.max(0, bytes - (long) (events + fillers) * bytesPerEvent());
    }

    /**
     * @throws IllegalArgumentException a bound below 1, naming it with its path
     */
    static Bounds fromConfig(Config config, String path) {
      return new Bounds(
          atLeastOne(config.getInt("max-entries"), path + ".max-entries"),
          atLeastOne(config.getBytes("max-bytes"), path + ".max-bytes"),
          atLeastOne(config.getInt("snapshot-every"), path + ".snapshot-every"),
          atLeastOne(config.getInt("keep-snapshots"), path + ".keep-snapshots"),
          atLeastOne(config.getInt("results-per-event"), path + ".results-per-event"),
          atLeastOne(config.getBytes("event-max-bytes"), path + ".event-max-bytes"),
          snapshotEveryBytes(config, path));
    }

    /**
     * At least 1 KiB per event counted ({@link #bytesPerEvent()}): below, a write of a few MiB
     * would add thousands of filler rows.
     */
    private static long snapshotEveryBytes(Config config, String path) {
      long bytes = config.getBytes("snapshot-every-bytes");
      long floor = 1024L * config.getInt("snapshot-every");
      if (bytes < floor) {
        throw new IllegalArgumentException(
            path
                + ".snapshot-every-bytes must be at least 1 KiB per event of snapshot-every ("
                + floor
                + " bytes), was "
                + bytes);
      }
      return bytes;
    }

    static int atLeastOne(int value, String path) {
      return (int) atLeastOne((long) value, path);
    }

    static long atLeastOne(long value, String path) {
      if (value < 1) {
        throw new IllegalArgumentException(path + " must be at least 1, was " + value);
      }
      return value;
    }
  }

  public static StoreSettings fromConfig(Config root) {
    Config config = root.getConfig("prover.persistence");
    return new StoreSettings(
        config.getBoolean("enabled"),
        config.getString("journal-plugin"),
        config.getString("snapshot-plugin"),
        config.getString("id-prefix"),
        config.getString("database").isEmpty()
            ? describeJournal(root, config)
            : config.getString("database"),
        config.getString("remedy"),
        config.getDuration("write-timeout"),
        config.getDuration("retry-interval"),
        Bounds.atLeastOne(config.getInt("max-batch"), "prover.persistence.max-batch"),
        Bounds.atLeastOne(config.getBytes("max-batch-bytes"), "prover.persistence.max-batch-bytes"),
        config.getDuration("restart.min-backoff"),
        config.getDuration("restart.max-backoff"),
        config.getDouble("restart.random-factor"),
        Bounds.fromConfig(config.getConfig("results"), "prover.persistence.results"),
        Bounds.fromConfig(config.getConfig("flows"), "prover.persistence.flows"));
  }

  /** The journal plugin's id when nothing better names the database. */
  private static String describeJournal(Config root, Config config) {
    String plugin = config.getString("journal-plugin");
    if (plugin.isEmpty() && root.hasPath("pekko.persistence.journal.plugin")) {
      plugin = root.getString("pekko.persistence.journal.plugin");
    }
    return "journal " + (plugin.isEmpty() ? "(none configured)" : plugin);
  }

  public String resultsId() {
    return idPrefix + "-results";
  }

  public String flowsId() {
    return idPrefix + "-flow-outcomes";
  }
}
