package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The journal database at start-up: one that answers that this node may not log in refuses the node
 * at once (a wrong password retried every 30 s for ever in a trial, so no supervisor saw it), while
 * one that does not answer yet is waited for, each failed attempt's reason told to the caller (the
 * node's waiting endpoints answer with it). The database is an H2 server in this JVM, whose login
 * failure has the SQL state PostgreSQL's has too (28000).
 */
class JournalSchemaTest {

  /**
   * Starts {@link JournalSchema#ensure} on a daemon thread of its own, each failed attempt's reason
   * added to {@code reasons} (a refusal too, as {@code "refused: ..."}); interrupt it to stop.
   */
  private static Thread waitFor(Config config, List<String> reasons) {
    Thread waiting =
        new Thread(
            () -> {
              try {
                JournalSchema.ensure(config, reasons::add);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (JournalSchema.Refused e) {
                reasons.add("refused: " + e.getMessage());
              }
            });
    waiting.setDaemon(true);
    waiting.start();
    return waiting;
  }

  private static Config withPassword(String url, String password) {
    return ConfigFactory.parseString(
            "pekko-persistence-jdbc.shared-databases.prover.db.password = \"" + password + "\"")
        .withFallback(TestNodes.durableConfig(url, ""));
  }

  @Test
  void aWrongPasswordRefusesTheNodeAtOnceNamingWhatToCheck() throws Exception {
    int port = NodeProcesses.freePort();
    Server server =
        Server.createTcpServer("-tcpPort", String.valueOf(port), "-ifNotExists").start();
    String url = "jdbc:h2:tcp://localhost:" + port + "/mem:refused;DB_CLOSE_DELAY=-1";
    try {
      JournalSchema.ensure(withPassword(url, "")); // creates the database as sa, no password
      long start = System.nanoTime();
      // bounded: without the refusal it would retry for ever
      JournalSchema.Refused refused =
          assertTimeoutPreemptively(
              Duration.ofSeconds(10),
              () ->
                  assertThrows(
                      JournalSchema.Refused.class,
                      () -> JournalSchema.ensure(withPassword(url, "not-the-password"))));
      assertTrue(
          Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(1)) < 0,
          "without a retry's wait");
      String message = refused.getMessage();
      assertTrue(
          message.startsWith("the journal database H2 database " + url + " refuses this node: "),
          message);
      assertTrue(message.contains("Check --db-user and --db-password"), message);
      assertTrue(JournalSchema.refusesForGood(refused.getCause()), message);
    } finally {
      server.stop();
    }
  }

  @Test
  void aDatabaseThatDoesNotAnswerIsNotARefusal() throws Exception {
    int port = NodeProcesses.freePort(); // nothing listens
    SQLException absent =
        assertThrows(
            SQLException.class,
            () ->
                JournalSchema.execute(
                    withPassword("jdbc:h2:tcp://localhost:" + port + "/mem:absent", ""),
                    "SELECT 1"));
    assertFalse(JournalSchema.refusesForGood(absent), absent.getSQLState());
  }

  @Test
  void aDatabaseThatComesLateIsWaitedForAndEveryFailedAttemptSaysWhy() throws Exception {
    int port = NodeProcesses.freePort(); // nothing listens yet
    String url = "jdbc:h2:tcp://localhost:" + port + "/mem:late;DB_CLOSE_DELAY=-1";
    List<String> reasons = new CopyOnWriteArrayList<>();
    Logger logger = (Logger) LoggerFactory.getLogger(JournalSchema.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    logger.addAppender(lines);
    CompletableFuture<Void> ensured =
        CompletableFuture.runAsync(
            () -> {
              try {
                JournalSchema.ensure(withPassword(url, ""), reasons::add);
              } catch (Exception e) {
                throw new CompletionException(e);
              }
            });
    // three failed attempts (1 s, then 2 s apart): each reason goes to the caller, and the log has
    // one ERROR line for the outage (then one a minute at most), not one per attempt
    NodeProcesses.polling("three failed attempts", Duration.ofSeconds(15), Duration.ofMillis(50))
        .until(() -> reasons.size() >= 3);
    String first = reasons.get(0);
    assertTrue(
        first.startsWith("the journal database H2 database " + url + " does not answer ("), first);
    assertTrue(first.contains(", attempt 1: "), first);
    assertTrue(reasons.get(2).contains(", attempt 3: "), reasons.get(2));
    List<String> errors =
        lines.list.stream()
            .filter(event -> event.getLevel() == Level.ERROR)
            .map(ILoggingEvent::getFormattedMessage)
            .toList();
    assertEquals(1, errors.size(), "one ERROR line for three attempts: " + errors);
    assertTrue(
        errors.get(0).startsWith("Cannot open the journal database H2 database " + url + ": "),
        errors.get(0));
    assertFalse(ensured.isDone(), "waits while nothing answers");
    Server server =
        Server.createTcpServer("-tcpPort", String.valueOf(port), "-ifNotExists").start();
    try {
      ensured.get(30, TimeUnit.SECONDS); // the backoff's next attempt: 4 s at most here
      assertFalse(reasons.isEmpty());
      assertTrue(
          reasons.stream().allMatch(r -> r.contains("does not answer")),
          "a reason per failed attempt only: " + reasons);
    } finally {
      server.stop();
      logger.detachAppender(lines);
    }
  }

  @Test
  void theStartUpWaitBacksOffNoFurtherThanTheStoresRestarts() throws Exception {
    // prover.persistence.restart.max-backoff (10 s shipped, JournalOutageBoundsTest) caps the
    // start-up wait as it caps a store's restarts mid-run: a database that comes back is used
    // within that figure either way (the start-up's own cap was 30 s). Set to 1 s here, four
    // attempts take about 3 s; doubling without the cap, 7 s
    // PostgreSQL's driver is refused at once by a port nothing listens on (H2's client retries
    // the connection for a while, which would blur the attempts' spacing)
    int port = NodeProcesses.freePort();
    Config config =
        ConfigFactory.parseString("prover.persistence.restart.max-backoff = 1s")
            .withFallback(
                PostgresJournal.config(
                    "jdbc:postgresql://127.0.0.1:" + port + "/prover",
                    "prover",
                    "prover",
                    ConfigFactory.load()))
            .resolve();
    List<String> reasons = new CopyOnWriteArrayList<>();
    Thread waiting = waitFor(config, reasons);
    try {
      NodeProcesses.polling("a failed attempt", Duration.ofSeconds(10), Duration.ofMillis(20))
          .until(() -> !reasons.isEmpty());
      NodeProcesses.polling(
              "three more attempts, 1 s apart", Duration.ofMillis(5500), Duration.ofMillis(20))
          .until(() -> reasons.size() >= 4);
    } finally {
      waiting.interrupt();
      waiting.join(10_000);
    }
    assertFalse(waiting.isAlive(), "the wait ends when its thread is interrupted");
  }

  @Test
  void aDatabaseThatTakesTheConnectionAndNeverAnswersFailsEachAttemptWithinTheSocketTimeout()
      throws Exception {
    // a PostgreSQL host cut off from the network mid-handshake: it answers the driver's SSL request
    // ('N': no TLS; the driver bounds that wait itself, sslResponseTimeout) and then nothing more;
    // the shipped journal-postgres.conf's socketTimeout, shortened to 1 s here, ends the attempt
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread server =
          new Thread(
              () -> {
                while (!silent.isClosed()) {
                  try {
                    Socket client = silent.accept();
                    client.getInputStream().readNBytes(8); // SSLRequest: length 8, code 80877103
                    client.getOutputStream().write('N');
                    client.getOutputStream().flush(); // then silence: the startup goes unanswered
                  } catch (IOException closed) {
                    return;
                  }
                }
              });
      server.setDaemon(true);
      server.start();
      Config shipped =
          PostgresJournal.config(
              "jdbc:postgresql://127.0.0.1:" + silent.getLocalPort() + "/prover",
              "prover",
              "prover",
              ConfigFactory.load());
      String timeout = "pekko-persistence-jdbc.shared-databases.prover.db.properties.socketTimeout";
      assertEquals(30, shipped.getInt(timeout), "the shipped socket timeout, in seconds");
      Config config = ConfigFactory.parseString(timeout + " = 1").withFallback(shipped).resolve();
      List<String> reasons = new CopyOnWriteArrayList<>();
      Thread waiting = waitFor(config, reasons);
      try {
        NodeProcesses.polling("two failed attempts", Duration.ofSeconds(20), Duration.ofMillis(100))
            .until(() -> reasons.size() >= 2);
      } finally {
        waiting.interrupt();
      }
      assertTrue(reasons.get(0).contains("does not answer"), reasons.get(0));
    }
  }
}
