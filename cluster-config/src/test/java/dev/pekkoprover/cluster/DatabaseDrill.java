package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.node.StatusReport;
import java.time.Duration;

/** What the real-process drills of the sequencer's database share. */
final class DatabaseDrill {
  private DatabaseDrill() {}

  /**
   * The sequencer+queue node's command of a drill: the default job with {@code --proving-work
   * 20000}, its endpoints on {@code http}, its store in {@code url}, ending when the job is done.
   */
  static String[] sequencerCommand(
      int port, String seeds, int http, String url, TestDatabase database) {
    return new String[] {
      "node",
      "--roles",
      "sequencer,queue",
      "--port",
      "" + port,
      "--seeds",
      seeds,
      "--http-port",
      "" + http,
      "--db-url",
      url,
      "--db-user",
      database.user(),
      "--db-password",
      database.password(),
      "--proving-work",
      "20000",
      "--exit-when-done"
    };
  }

  /**
   * Polls {@code base}'s {@code /status} (up to 90 s) until a problem says that a store has not
   * confirmed a write and contains {@code naming}; returns that report.
   */
  static StatusReport awaitStoreProblem(String base, String naming) {
    return NodeProcesses.polling(
            "the store's problem in /status", Duration.ofSeconds(90), Duration.ofMillis(500))
        .ignoreExceptionsInstanceOf(AssertionError.class)
        .until(
            () -> {
              Http.Answer answer = Http.get(base + "/status");
              assertEquals(200, answer.status(), answer.body());
              return StatusReport.fromJson(answer.body());
            },
            report ->
                report.problems().stream()
                    .anyMatch(
                        p -> p.contains("has not confirmed a write for") && p.contains(naming)));
  }
}
