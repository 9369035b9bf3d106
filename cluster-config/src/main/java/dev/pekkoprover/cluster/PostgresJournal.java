package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.util.function.Consumer;

/**
 * The cluster's journal: PostgreSQL ({@code journal-postgres.conf}), for the nodes that run the
 * sequencer. The stores live beside the sequencer singleton, so every node with role sequencer (a
 * standby too) needs the same database; the queue and worker nodes need none. The tables are
 * created at start-up when they are missing.
 */
final class PostgresJournal {
  private PostgresJournal() {}

  /**
   * The configuration of a sequencer node writing to {@code url}, on top of {@code base}; waits for
   * the database, telling {@code waiting} why after each failed attempt ({@link
   * JournalSchema#ensure(Config, Consumer)}).
   */
  static Config open(
      String url, String user, String password, Config base, Consumer<String> waiting)
      throws InterruptedException, JournalSchema.Refused {
    Config config = config(url, user, password, base);
    JournalSchema.ensure(config, waiting);
    return config;
  }

  /** The configuration of a sequencer node writing to {@code url}, on top of {@code base}. */
  static Config config(String url, String user, String password, Config base) {
    if (!url.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(
          "--db-url must be a PostgreSQL JDBC URL (jdbc:postgresql://host:5432/db), was " + url);
    }
    return ConfigFactory.empty()
        .withValue("prover.journal.url", ConfigValueFactory.fromAnyRef(url))
        .withValue("prover.journal.user", ConfigValueFactory.fromAnyRef(user == null ? "" : user))
        .withValue(
            "prover.journal.password",
            ConfigValueFactory.fromAnyRef(password == null ? "" : password))
        .withValue(
            "prover.persistence.database", ConfigValueFactory.fromAnyRef("PostgreSQL " + url))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("journal-postgres"))
        .withFallback(base)
        .resolve();
  }
}
