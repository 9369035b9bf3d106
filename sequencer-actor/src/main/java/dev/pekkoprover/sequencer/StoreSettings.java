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
   */
  public record Bounds(
      int maxEntries,
      long maxBytes,
      int snapshotEvery,
      int keepSnapshots,
      int resultsPerEvent,
      long eventMaxBytes) {
    /** One result per event. */
    public Bounds(int maxEntries, long maxBytes, int snapshotEvery, int keepSnapshots) {
      this(maxEntries, maxBytes, snapshotEvery, keepSnapshots, 1, Long.MAX_VALUE);
    }

    static Bounds fromConfig(Config config) {
      return new Bounds(
          config.getInt("max-entries"),
          config.getBytes("max-bytes"),
          config.getInt("snapshot-every"),
          config.getInt("keep-snapshots"),
          Math.max(1, config.getInt("results-per-event")),
          config.getBytes("event-max-bytes"));
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
        config.getInt("max-batch"),
        config.getBytes("max-batch-bytes"),
        config.getDuration("restart.min-backoff"),
        config.getDuration("restart.max-backoff"),
        config.getDouble("restart.random-factor"),
        Bounds.fromConfig(config.getConfig("results")),
        Bounds.fromConfig(config.getConfig("flows")));
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
