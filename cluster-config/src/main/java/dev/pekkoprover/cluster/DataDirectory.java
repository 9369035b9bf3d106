package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
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
   * store and its writer on this 2-core host).
   */
  static final String H2_SETTINGS = ";WRITE_DELAY=0;MAX_LENGTH_INPLACE_LOB=65536";

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
    if (fresh && Files.exists(file)) {
      wipe(absolute, file);
      out.printf("data directory %s: --fresh, its journal deleted: starting anew%n", absolute);
    } else if (Files.exists(file)) {
      // another run holds it: H2 would refuse every open, and the launcher retry for ever
      refuseIfInUse(file, "stop that run, or give this one another --data-dir");
      out.printf(
          "data directory %s: a journal is there: resuming what it holds (--fresh starts anew)%n",
          absolute);
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
    JournalSchema.ensure(config);
    return config;
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
