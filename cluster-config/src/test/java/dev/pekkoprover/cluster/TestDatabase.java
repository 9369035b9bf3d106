package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The PostgreSQL database of the real-process tests that need one: {@code PROVER_TEST_DB_URL},
 * {@code PROVER_TEST_DB_USER}, {@code PROVER_TEST_DB_PASSWORD} ({@code .ci/run} installs Debian's
 * postgresql and sets them).
 */
record TestDatabase(String url, String user, String password) {

  /** The database of the environment; the calling test is skipped when there is none. */
  static TestDatabase postgresOrSkip() {
    String url = System.getenv("PROVER_TEST_DB_URL");
    assumeTrue(
        url != null && !url.isBlank(),
        "PROVER_TEST_DB_URL is not set: no PostgreSQL for this test");
    return new TestDatabase(
        url,
        System.getenv().getOrDefault("PROVER_TEST_DB_USER", ""),
        System.getenv().getOrDefault("PROVER_TEST_DB_PASSWORD", ""));
  }

  /**
   * Starts from an empty store: the rows of this deployment (persistence ids {@code prover-*}) go;
   * the tables may not exist yet.
   */
  void wipe() {
    try (Connection connection = DriverManager.getConnection(url, user, password);
        Statement statement = connection.createStatement()) {
      statement.executeUpdate("DELETE FROM event_journal WHERE persistence_id LIKE 'prover-%'");
      statement.executeUpdate("DELETE FROM snapshot WHERE persistence_id LIKE 'prover-%'");
    } catch (SQLException e) {
      if (!String.valueOf(e.getMessage()).contains("does not exist")) {
        throw new AssertionError("cannot reach the test database " + url + ": " + e, e);
      }
    }
  }
}
