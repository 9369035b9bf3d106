package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * The benchmark's way to the launcher's journal set-up ({@link DataDirectory}, {@link
 * PostgresJournal}, both package-private): the bench measures the durable path configured exactly
 * as {@code prover run} (H2 in a file) and a cluster's sequencer node (PostgreSQL) configure it,
 * without widening cluster-config's public API for it. It lives in the bench module under this
 * package name only for that access.
 */
public final class BenchJournals {
  private BenchJournals() {}

  /**
   * {@code prover run --data-dir dir --fresh}: H2 in {@code dir/journal.mv.db}, tables created;
   * over {@code base}.
   */
  public static Config h2(Path dir, Config base, PrintStream out)
      throws IOException, InterruptedException {
    return DataDirectory.open(dir, true, base, out);
  }

  /**
   * A cluster sequencer node's {@code --db-url/--db-user/--db-password}: PostgreSQL, tables created
   * if missing.
   *
   * @throws IllegalStateException when the database refuses the login (or does not exist)
   */
  public static Config postgres(String url, String user, String password, Config base)
      throws InterruptedException {
    try {
      return PostgresJournal.open(url, user, password, base, reason -> {});
    } catch (JournalSchema.Refused e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }
}
