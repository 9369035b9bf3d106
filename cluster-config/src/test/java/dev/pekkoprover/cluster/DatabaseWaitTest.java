package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.EndpointsRefusedException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A sequencer node's endpoints while it waits for its database: open after the first attempt's
 * grace even when no attempt has failed yet (a silent database holds one up to the socket timeout),
 * then with each failure's reason; a port that cannot be served is a WARN line, not the node's end;
 * a configuration the node refuses is refused before any wait.
 */
class DatabaseWaitTest {

  private static Config http(int port) {
    return ConfigFactory.parseString("prover.http.enabled = on\nprover.http.port = " + port)
        .withFallback(ConfigFactory.load());
  }

  @Test
  void theEndpointsOpenWhileTheFirstAttemptHangsAndThenSayWhyEachAttemptFailed() throws Exception {
    int port = NodeProcesses.freePort();
    String ready = "http://127.0.0.1:" + port + "/health/ready";
    ByteArrayOutputStream lines = new ByteArrayOutputStream();
    try (DatabaseWait wait =
        new DatabaseWait(
            http(port),
            "127.0.0.1:2551",
            "PostgreSQL jdbc:postgresql://db/prover",
            new PrintStream(lines, true, StandardCharsets.UTF_8))) {
      Http.Answer first =
          NodeProcesses.polling(
                  "the endpoints after the grace", Duration.ofSeconds(30), Duration.ofMillis(100))
              .ignoreExceptionsInstanceOf(AssertionError.class) // not listening yet
              .until(() -> Http.get(ready), answer -> answer.status() == 503);
      assertTrue(
          first
              .body()
              .contains(
                  "the journal database PostgreSQL jdbc:postgresql://db/prover has not answered the"
                      + " first attempt since "),
          first.body());
      // the server answers once bound, and the line (which names its URLs) comes just after
      String said =
          NodeProcesses.polling("the waiting line", Duration.ofSeconds(10), Duration.ofMillis(50))
              // printf writes the line in pieces: the whole of it once its end is there
              .until(() -> lines.toString(StandardCharsets.UTF_8), text -> text.contains("\n"));
      assertTrue(
          said.startsWith(
              "node 127.0.0.1:2551 waits for its journal database (the journal database PostgreSQL"
                  + " jdbc:postgresql://db/prover has not answered the first attempt since "),
          said);
      assertTrue(said.contains("); meanwhile health"), said);
      wait.failed("the journal database X does not answer (refused), attempt 1: check it");
      assertTrue(Http.get(ready).body().contains("attempt 1: check it"));
      assertEquals(200, Http.get("http://127.0.0.1:" + port + "/health/alive").status());
    }
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      assertEquals(port, socket.getLocalPort(), "closed, the port is free for the node");
    }
  }

  @Test
  void aPortThatCannotBeServedCostsALineNotTheWait() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      ByteArrayOutputStream lines = new ByteArrayOutputStream();
      try (DatabaseWait wait =
          new DatabaseWait(
              http(taken.getLocalPort()),
              "127.0.0.1:2551",
              "PostgreSQL jdbc:postgresql://db/prover",
              new PrintStream(lines, true, StandardCharsets.UTF_8))) {
        wait.failed("attempt 1"); // no exception: the node goes on waiting
        wait.failed("attempt 2"); // and does not try again at each attempt
      }
      assertEquals("", lines.toString(StandardCharsets.UTF_8), "no line for endpoints not served");
    }
  }

  @Test
  void aConfigurationTheNodeRefusesIsRefusedBeforeTheWait() {
    Config remote =
        ConfigFactory.parseString("prover.http.host = \"0.0.0.0\"").withFallback(http(0));
    assertThrows(
        EndpointsRefusedException.class,
        () -> new DatabaseWait(remote, "127.0.0.1:2551", "PostgreSQL x", System.out).close());
  }
}
