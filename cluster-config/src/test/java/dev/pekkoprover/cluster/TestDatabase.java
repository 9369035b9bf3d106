package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

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
   * A PostgreSQL database the calling test may stop and start: {@code PROVER_TEST_OUTAGE_DB_URL}
   * (user and password as {@link #postgresOrSkip}'s) and {@code PROVER_TEST_OUTAGE_DB_CTL}, a
   * command that takes {@code stop} or {@code start} ({@code .ci/run}: a second Debian cluster,
   * {@code pg_ctlcluster <version> outage}); the calling test is skipped without them.
   */
  static Outage outageOrSkip() {
    String url = System.getenv("PROVER_TEST_OUTAGE_DB_URL");
    String control = System.getenv("PROVER_TEST_OUTAGE_DB_CTL");
    assumeTrue(
        url != null && !url.isBlank() && control != null && !control.isBlank(),
        "PROVER_TEST_OUTAGE_DB_URL or PROVER_TEST_OUTAGE_DB_CTL is not set: no database to stop");
    return new Outage(
        new TestDatabase(
            url,
            System.getenv().getOrDefault("PROVER_TEST_DB_USER", ""),
            System.getenv().getOrDefault("PROVER_TEST_DB_PASSWORD", "")),
        List.of(control.trim().split("\\s+")));
  }

  /** A database and the command that stops and starts its server. */
  record Outage(TestDatabase database, List<String> control) {
    /** Stops the server (PostgreSQL's fast shutdown: its connections are cut); waits for it. */
    void stop() throws IOException, InterruptedException {
      run("stop");
    }

    /** Starts the server and waits until it takes connections (up to 60 s). */
    void start() throws IOException, InterruptedException {
      run("start");
      NodeProcesses.polling(
              "the database taking connections", Duration.ofSeconds(60), Duration.ofMillis(200))
          .ignoreExceptionsInstanceOf(SQLException.class)
          .until(
              () -> {
                try (Connection connection =
                    DriverManager.getConnection(database.url, database.user, database.password)) {
                  return connection.isValid(5);
                }
              });
    }

    private void run(String action) throws IOException, InterruptedException {
      List<String> command = new ArrayList<>(control);
      command.add(action);
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      boolean ended = process.waitFor(60, TimeUnit.SECONDS);
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!ended) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(command + " did not end within 60 s: " + output);
      }
      // pg_ctlcluster answers 2 for a cluster already in the state asked for
      if (process.exitValue() != 0 && !output.contains("already")) {
        throw new AssertionError(command + " failed (" + process.exitValue() + "): " + output);
      }
    }
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
