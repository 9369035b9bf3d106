package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.pekkoprover.sequencer.ResultStore;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

/**
 * The embedded run's data directory: its journal is H2 in the file {@code journal.mv.db} there
 * ({@code journal-h2.conf}), holding the stored task results and batch proofs. Running again on the
 * same directory resumes; {@code --fresh} deletes the journal first. H2 writes each commit to the
 * file at once ({@code WRITE_DELAY=0}): a killed process loses nothing it acknowledged (H2's
 * default 500 ms delay lost committed rows in a kill -9 test); it does not fsync, so an
 * operating-system crash or power loss can still cost the last writes.
 */
final class DataDirectory {
  static final String JOURNAL = "journal";

  /**
   * WRITE_DELAY=0: every commit reaches the file before it is confirmed (see above).
   * MAX_LENGTH_INPLACE_LOB: events (a result of a few hundred bytes to a few KiB) are kept in the
   * row instead of H2's separate LOB storage, which H2 uses above 256 bytes by default: 2.5-3x the
   * write throughput (1000 results of 700 B per write: 107 ms instead of 320 ms, measured with the
   * store and its writer on this 2-core host). DB_CLOSE_ON_EXIT=FALSE: H2's own JVM shutdown hook
   * closed the database while Pekko's coordinated shutdown (a SIGTERM's) still wrote to it, so a
   * stopped run logged a closed-session WARN and a failed write with a remedy for a damaged
   * journal; the journal's connection pool closes it when the actor system has terminated.
   */
  static final String H2_SETTINGS =
      ";WRITE_DELAY=0;MAX_LENGTH_INPLACE_LOB=65536;DB_CLOSE_ON_EXIT=FALSE";

  private DataDirectory() {}

  /**
   * The configuration of a durable embedded run on {@code dir} (created if missing), on top of
   * {@code base}; the journal's tables exist when it returns. Says on {@code out} whether it starts
   * anew or resumes.
   */
  static Config open(Path dir, boolean fresh, Config base, PrintStream out)
      throws IOException, InterruptedException {
    Path absolute = dir.toAbsolutePath().normalize();
    Files.createDirectories(absolute);
    Path file = absolute.resolve(JOURNAL + ".mv.db");
    boolean resuming = false;
    if (fresh && Files.exists(file)) {
      wipe(absolute, file);
      out.printf("data directory %s: --fresh, its journal deleted: starting anew%n", absolute);
    } else if (Files.exists(file)) {
      // another run holds it: H2 would refuse every open, and the launcher retry for ever
      refuseIfInUse(file, "stop that run, or give this one another --data-dir");
      resuming = true; // said once compacted, below
    } else {
      out.printf("data directory %s: new: starting anew%n", absolute);
    }
    Config config =
        ConfigFactory.empty()
            .withValue(
                "prover.journal.url",
                ConfigValueFactory.fromAnyRef(
                    "jdbc:h2:file:"
                        + absolute.resolve(JOURNAL).toString().replace('\\', '/')
                        + H2_SETTINGS))
            .withValue(
                "prover.persistence.database", ConfigValueFactory.fromAnyRef("H2 database " + file))
            .withFallback(ConfigFactory.parseResourcesAnySyntax("journal-h2"))
            .withFallback(base)
            .resolve();
    try {
      JournalSchema.ensure(config);
    } catch (JournalSchema.Refused e) { // the run's own file: only a damaged one answers so
      throw new IOException(e.getMessage(), e);
    }
    if (resuming) { // H2 is closed again: ensure's connection was the only one
      out.printf(
          "data directory %s: a journal is there (%s): resuming what it holds (--fresh starts anew)%n",
          absolute, compact(config, file));
    }
    return config;
  }

  /**
   * After a run on {@code dir} has stopped: compacts its journal ({@link #compact}) and says so in
   * one line.
   */
  static void compactAfterRun(Path dir, Config config, PrintStream out) {
    Path absolute = dir.toAbsolutePath().normalize();
    out.printf(
        "data directory %s: journal %s%n",
        absolute, compact(config, absolute.resolve(JOURNAL + ".mv.db")));
  }

  /**
   * Gives the journal's file back the space H2 no longer uses, and says how much, e.g. {@code
   * "1,225 MB, compacted to 19 MB in 0.7 s"}; call it while nothing has the database open (before
   * the node starts, after it stopped). H2's MVStore writes each commit as a new chunk (copy on
   * write) and reuses a freed chunk only 45 s later (its RETENTION_TIME, kept: an operating-system
   * crash could otherwise damage the file), and does not shrink the file while it runs: at full
   * speed the file grows by about a minute of writes, 1.2 GB for a 1,600-block run holding 15 MiB
   * of results. H2's {@code SHUTDOWN COMPACT} copies what is live into a new file and replaces the
   * old one; interrupted, H2 finishes or undoes it at the next open. A failure is reported in the
   * text and changes nothing.
   */
  static String compact(Config config, Path file) {
    long before = size(file);
    long start = System.nanoTime();
    try {
      JournalSchema.execute(config, "SHUTDOWN COMPACT");
    } catch (java.sql.SQLException e) {
      return megabytes(before) + ", not compacted: " + ResultStore.describe(e);
    }
    long after = size(file);
    return String.format(
        "%s, compacted to %s in %.1f s",
        megabytes(before), megabytes(after), (System.nanoTime() - start) / 1e9);
  }

  private static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return 0;
    }
  }

  private static String megabytes(long bytes) {
    return String.format("%,d MB", (bytes + (1 << 20) - 1) >> 20);
  }

  /**
   * Throws, saying {@code what to do}, while a process holds the journal's file lock (H2 locks the
   * file of a database it has open).
   */
  private static void refuseIfInUse(Path file, String whatToDo) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE);
        FileLock lock = channel.tryLock()) {
      if (lock == null) {
        throw new IOException("the journal " + file + " is in use by another process: " + whatToDo);
      }
    } catch (java.nio.channels.OverlappingFileLockException e) {
      throw new IOException("the journal " + file + " is in use in this process", e);
    }
  }

  /** Deletes the journal's files; refuses while another process has the database open. */
  private static void wipe(Path dir, Path file) throws IOException {
    refuseIfInUse(file, "stop it before --fresh");
    try (Stream<Path> files = Files.list(dir)) {
      for (Path each : (Iterable<Path>) files::iterator) {
        if (each.getFileName().toString().startsWith(JOURNAL + ".")) {
          Files.delete(each);
        }
      }
    }
  }
}
