package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import dev.pekkoprover.sequencer.OutageLines;
import dev.pekkoprover.sequencer.ResultStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Properties;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal database's tables, created at start-up when they are missing, with
 * pekko-persistence-jdbc's own script for the configured database ({@code
 * schema/h2/h2-create-schema.sql}, {@code schema/postgres/postgres-create-schema.sql} in the
 * plugin's jar). A database that cannot be reached is tried again with backoff (1 s doubling to
 * {@code prover.persistence.restart.max-backoff}, 10 s shipped, the figure a store's restarts use
 * mid-run), so a node started before its database waits for it: an ERROR line naming the database
 * and what to do at the first failed attempt and then at most one a minute ({@link OutageLines}),
 * the other attempts at DEBUG; every attempt's reason goes to the caller.
 */
final class JournalSchema {
  private static final Logger log = LoggerFactory.getLogger(JournalSchema.class);
  private static final String DB = "pekko-persistence-jdbc.shared-databases.prover";

  private JournalSchema() {}

  /**
   * The database answered and refuses this node for good (its login, or a database that does not
   * exist): waiting would not help, so the node does not start. The message names the database,
   * what it said and what to check.
   */
  static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Whether a failure to connect is the database's lasting answer rather than its absence: SQL
   * state class 28 (invalid authorization: a wrong user or password, PostgreSQL's 28P01 and 28000,
   * H2's 28000) or 3D000 (PostgreSQL: the database does not exist). A trial's node with a wrong
   * password retried every 30 s for ever, so no supervisor ever saw it fail.
   */
  static boolean refusesForGood(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql && sql.getSQLState() != null) {
        String state = sql.getSQLState();
        if (state.startsWith("28") || state.equals("3D000")) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Returns once the database answers and holds the journal's tables; waits and retries until then.
   *
   * @throws Refused when the database answers that this node may not use it (a wrong user or
   *     password, no such database): at once, without retrying
   */
  static void ensure(Config config) throws InterruptedException, Refused {
    ensure(config, reason -> {});
  }

  /**
   * As {@link #ensure(Config)}, telling {@code waiting} after each failed attempt why the node
   * waits: {@code the journal database <database> does not answer (<cause>) since <time>, attempt
   * <n>: <remedy>}.
   */
  static void ensure(Config config, Consumer<String> waiting) throws InterruptedException, Refused {
    String database = config.getString("prover.persistence.database");
    String remedy = config.getString("prover.persistence.remedy");
    long maxBackoff = config.getDuration("prover.persistence.restart.max-backoff").toMillis();
    OutageLines lines = new OutageLines();
    long backoff = Math.min(1000, maxBackoff);
    Instant since = null;
    int attempts = 0;
    while (true) {
      try {
        boolean created = createIfMissing(config);
        if (since != null) {
          log.info(
              "The journal database {} answers, after {} s and {} failed attempt(s)",
              database,
              Duration.between(since, Instant.now()).toSeconds(),
              attempts);
        }
        if (created) {
          log.info("Created the journal's tables in {}", database);
        }
        return;
      } catch (SQLException | IOException | RuntimeException e) {
        if (refusesForGood(e)) {
          throw new Refused(
              "the journal database "
                  + database
                  + " refuses this node: "
                  + ResultStore.describe(e)
                  + ". Check --db-user and --db-password (or PROVER_DB_PASSWORD), the user's"
                  + " rights and that the database exists (createdb); waiting would not help",
              e);
        }
        attempts++;
        if (since == null) {
          since = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        }
        long now = System.nanoTime();
        if (lines.failed(now)) {
          log.error(
              "Cannot open the journal database {}: {}. {}. Trying again in {}{}",
              database,
              ResultStore.describe(e),
              remedy,
              ResultStore.text(java.time.Duration.ofMillis(backoff)),
              lines.note(now));
        } else {
          log.debug(
              "Cannot open the journal database {} (attempt {}): {}. Trying again in {}",
              database,
              attempts,
              ResultStore.describe(e),
              ResultStore.text(java.time.Duration.ofMillis(backoff)));
        }
        waiting.accept(
            "the journal database "
                + database
                + " does not answer ("
                + ResultStore.describe(e)
                + ") since "
                + since
                + ", attempt "
                + attempts
                + ": "
                + remedy);
        Thread.sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  }

  /**
   * A connection of its own to the journal's database, as the plugin's settings name it, with the
   * driver properties the pool's connections get ({@code db.properties}: PostgreSQL's {@code
   * socketTimeout}, so that a database cut off from the network fails an attempt instead of holding
   * the start for ever).
   */
  private static Connection connect(Config config) throws SQLException {
    Config db = config.getConfig(DB + ".db");
    Properties properties = new Properties();
    if (db.hasPath("properties")) {
      db.getConfig("properties")
          .entrySet()
          .forEach(e -> properties.setProperty(e.getKey(), e.getValue().unwrapped().toString()));
    }
    properties.setProperty("user", db.getString("user"));
    properties.setProperty("password", db.getString("password"));
    return DriverManager.getConnection(db.getString("url"), properties);
  }

  /** Runs one statement on the journal's database, on a connection of its own. */
  static void execute(Config config, String sql) throws SQLException {
    try (Connection connection = connect(config);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  /** True when it created the tables, false when they were there. */
  static boolean createIfMissing(Config config) throws SQLException, IOException {
    try (Connection connection = connect(config)) {
      if (hasTables(connection)) {
        return false;
      }
      String script = read(scriptFor(config.getString(DB + ".profile")));
      connection.setAutoCommit(
          true); // PostgreSQL's CREATE INDEX CONCURRENTLY cannot run in a transaction
      try (Statement statement = connection.createStatement()) {
        for (String sql : script.split(";\\s*(\\n|$)")) {
          if (!sql.isBlank()) {
            statement.execute(sql);
          }
        }
      } catch (SQLException e) {
        if (!hasTables(connection)) { // another node created them at the same moment: fine
          throw e;
        }
      }
      return true;
    }
  }

  private static boolean hasTables(Connection connection) throws SQLException {
    return hasTable(connection, "event_journal") && hasTable(connection, "snapshot");
  }

  private static boolean hasTable(Connection connection, String name) throws SQLException {
    try (ResultSet tables = connection.getMetaData().getTables(null, null, name, null)) {
      return tables.next();
    }
  }

  private static String scriptFor(String profile) {
    if (profile.contains("H2Profile")) {
      return "schema/h2/h2-create-schema.sql";
    }
    if (profile.contains("PostgresProfile")) {
      return "schema/postgres/postgres-create-schema.sql";
    }
    throw new IllegalArgumentException(
        "no schema script for Slick profile " + profile + ": use H2 or PostgreSQL");
  }

  private static String read(String resource) throws IOException {
    try (InputStream in = JournalSchema.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("pekko-persistence-jdbc's " + resource + " is not on the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
