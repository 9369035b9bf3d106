package dev.pekkoprover.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.cluster.BenchJournals;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The sequencer's durability in a measured node ({@code --journal}): {@code none} (in memory, the
 * default), {@code h2} (as {@code prover run} configures it: H2 in a file of a fresh temporary data
 * directory) or {@code postgres} (as a cluster's sequencer node configures it: {@code --db-url}, or
 * {@code PROVER_TEST_DB_URL}, {@code _USER}, {@code _PASSWORD}).
 *
 * <p>Every node gets a store of its own: a fresh H2 directory (deleted when the node closes), or
 * for PostgreSQL a persistence id prefix of its own ({@code prover.persistence.id-prefix =
 * bench-<random>}) whose rows are deleted when the node closes, so a measurement never recovers an
 * earlier one's results and the database does not grow. Within a node, the workloads salt every
 * input with a run number ({@link Workloads}), since results are stored by content.
 */
final class Journal {
  static final Journal NONE = new Journal("none", null, null, null);

  private final String kind;
  private final String url;
  private final String user;
  private final String password;

  private Journal(String kind, String url, String user, String password) {
    this.kind = kind;
    this.url = url;
    this.user = user;
    this.password = password;
  }

  static Journal of(Options options) {
    return switch (options.journal()) {
      case "none" -> NONE;
      case "h2" -> new Journal("h2", null, null, null);
      case "postgres" -> {
        String url = orEnv(options.dbUrl(), "PROVER_TEST_DB_URL");
        if (url == null) {
          throw new IllegalArgumentException(
              "--journal postgres needs --db-url or PROVER_TEST_DB_URL");
        }
        yield new Journal(
            "postgres",
            url,
            orEnv(options.dbUser(), "PROVER_TEST_DB_USER"),
            orEnv(options.dbPassword(), "PROVER_TEST_DB_PASSWORD"));
      }
      default ->
          throw new IllegalArgumentException(
              "--journal must be none, h2 or postgres, was " + options.journal());
    };
  }

  private static String orEnv(String value, String env) {
    if (value != null && !value.isBlank()) {
      return value;
    }
    String fromEnv = System.getenv(env);
    return fromEnv == null || fromEnv.isBlank() ? null : fromEnv;
  }

  /** The {@code journal=} field of every line: none, h2 or postgres. */
  String name() {
    return kind;
  }

  boolean durable() {
    return !kind.equals("none");
  }

  /** A node's configuration with its own store, and what to clean up once the node is closed. */
  record Opened(Config config, AutoCloseable cleanup) {}

  /**
   * Configures a fresh store for one node on top of {@code base}; fails at once when PostgreSQL
   * cannot be reached.
   */
  Opened open(Config base) {
    if (!durable()) {
      return new Opened(base, null);
    }
    String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8);
    Config withPrefix =
        ConfigFactory.parseString("prover.persistence.id-prefix = \"" + prefix + "\"")
            .withFallback(base);
    try {
      if (kind.equals("h2")) {
        Path dir = Files.createTempDirectory("bench-journal-");
        Config config = BenchJournals.h2(dir, withPrefix, System.err);
        check(config);
        return new Opened(config, () -> deleteTree(dir));
      }
      probe(); // PostgresJournal waits for the database forever; a benchmark should fail instead
      Config config = BenchJournals.postgres(url, user, password, withPrefix);
      check(config);
      return new Opened(config, () -> deleteRows(prefix));
    } catch (IOException | SQLException e) {
      throw new IllegalStateException("journal " + kind + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void check(Config config) {
    if (!config.getBoolean("prover.persistence.enabled")) {
      throw new IllegalStateException(
          "the journal's configuration left prover.persistence.enabled off");
    }
  }

  private void probe() throws SQLException {
    DriverManager.setLoginTimeout(10);
    DriverManager.getConnection(url, user, password)
        .close(); // reachable, and the credentials are good
  }

  /**
   * Deletes this node's events and snapshots (event_tag rows go with their events: ON DELETE
   * CASCADE).
   */
  private void deleteRows(String prefix) throws SQLException {
    try (Connection connection = DriverManager.getConnection(url, user, password)) {
      for (String table : new String[] {"event_journal", "snapshot"}) {
        try (PreparedStatement delete =
            connection.prepareStatement("DELETE FROM " + table + " WHERE persistence_id LIKE ?")) {
          delete.setString(1, prefix + "-%");
          delete.executeUpdate();
        }
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path each : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(each);
      }
    }
  }
}
