package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A store whose database does not confirm writes shows where an operator looks, not only in the
 * log: its meters (the oldest unconfirmed write's age, the results waiting, the failed writes) and
 * a line for the status API's problems, which go once the store confirms again; the meters go with
 * the writer. The store is a probe that confirms only when the test says.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StoreHealthTest {
  private final ActorTestKit testKit =
      ActorTestKit.create(
          "store-health",
          DurableTestConfig.config(
              "prover.persistence { write-timeout = 300ms, retry-interval = 100ms }"));
  private final StoreSettings settings =
      StoreSettings.fromConfig(testKit.system().settings().config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private String scrape() {
    return ProverMetrics.get(testKit.system()).scrape();
  }

  private static double value(String text, String series) {
    Matcher m = Pattern.compile(Pattern.quote(series) + " (\\S+)").matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  @Test
  void aStoreThatDoesNotConfirmShowsInItsMetersAndProblemUntilItDoes() {
    TestProbe<ResultStore.Command> store = testKit.createTestProbe();
    StoreHealth health =
        new StoreHealth(ProverMetrics.get(testKit.system()), "results-x", "PostgreSQL at db:5432");
    ActorRef<ResultWriter.Command> writer =
        testKit.spawn(ResultWriter.create(store.getRef(), "results-x", settings, health));
    TestProbe<ResultWriter.Stored> acks = testKit.createTestProbe();
    writer.tell(
        new ResultWriter.Put(
            new StoredResult("k1", "t", 1, "", "v".getBytes(StandardCharsets.UTF_8)),
            acks.getRef(),
            1));
    store.expectMessageClass(ResultStore.Write.class);
    assertNull(health.problem(), "a write in flight is no problem yet");

    // unanswered past the write timeout: sent again, counted, and a problem
    ResultStore.Write again =
        store.expectMessageClass(ResultStore.Write.class, Duration.ofSeconds(5));
    String problem = health.problem();
    assertTrue(
        problem != null
            && problem.contains("store results-x has not confirmed a write")
            && problem.contains("(PostgreSQL at db:5432): 1 result(s) wait"),
        String.valueOf(problem));
    String failing = scrape();
    assertTrue(
        value(failing, "prover_store_write_failures_total{store=\"results-x\"}") >= 1, failing);
    assertEquals(1, value(failing, "prover_store_waiting_results{store=\"results-x\"}"), failing);
    assertTrue(
        value(failing, "prover_store_oldest_unconfirmed_write_seconds{store=\"results-x\"}") >= 0.3,
        "as old as the first send of the write, not its last: " + failing);

    // it confirms: the results are acknowledged, the problem and the age go
    again.replyTo().tell(new ResultStore.Written(1));
    assertEquals(List.of(1L), acks.expectMessageClass(ResultWriter.Stored.class).tokens());
    testKit
        .createTestProbe()
        .awaitAssert(
            () -> {
              assertNull(health.problem());
              String back = scrape();
              assertEquals(
                  0,
                  value(back, "prover_store_oldest_unconfirmed_write_seconds{store=\"results-x\"}"),
                  back);
              assertEquals(0, value(back, "prover_store_waiting_results{store=\"results-x\"}"));
              return null;
            });

    testKit.stop(writer);
    testKit
        .createTestProbe()
        .awaitAssert(
            () -> {
              assertFalse(scrape().contains("store=\"results-x\""), "its meters went with it");
              return null;
            });
  }

  @Test
  void aWriterStoppedWithResultsItsDatabaseNeverConfirmedSaysHowMany() {
    TestProbe<ResultStore.Command> store = testKit.createTestProbe();
    ActorRef<ResultWriter.Command> writer =
        testKit.spawn(
            ResultWriter.create(
                store.getRef(),
                "results-y",
                settings,
                new StoreHealth(ProverMetrics.get(testKit.system()), "results-y", "PostgreSQL y")));
    TestProbe<ResultWriter.Stored> acks = testKit.createTestProbe();
    for (int i = 1; i <= 2; i++) {
      writer.tell(
          new ResultWriter.Put(
              new StoredResult("k" + i, "t", i, "", "v".getBytes(StandardCharsets.UTF_8)),
              acks.getRef(),
              i));
    }
    store.expectMessageClass(ResultStore.Write.class);
    store.expectMessageClass(ResultStore.Write.class, Duration.ofSeconds(5)); // failed, sent again
    // a SIGTERM during an outage: the results are not lost (never acknowledged) but their work is
    LoggingTestKit.warn(
            "Result store results-y stops with 2 result(s) its database "
                + settings.database()
                + " has not confirmed (its writes have failed for ")
        .expect(
            testKit.system(),
            () -> {
              testKit.stop(writer);
              return null;
            });
    acks.expectNoMessage(Duration.ofMillis(100));
  }
}
