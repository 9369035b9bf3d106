package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@link Gather} with a {@link PartialAnswers} log: the merge of what came, at once when all
 * answered, after the timeout when not; one WARN for a run of partial gatherings, one INFO when all
 * answer again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GatherTest {
  private static final Duration TIMEOUT = Duration.ofMillis(300);

  private final ActorTestKit testKit = ActorTestKit.create("gather", TestConfig.config());

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  /**
   * Spawns a gathering of 2 answers whose merge is how many came; answers {@code answers} of them.
   */
  private int gather(PartialAnswers log, int answers) {
    TestProbe<Integer> replies = testKit.createTestProbe();
    ActorRef<String> gather =
        testKit.spawn(Gather.create(String.class, 2, TIMEOUT, List::size, replies.ref(), log));
    for (int i = 0; i < answers; i++) {
      gather.tell("answer " + i);
    }
    return replies.receiveMessage(Duration.ofSeconds(5));
  }

  @Test
  void aRunOfPartialGatheringsIsOneWarnLineAndItsEndOneInfoLine() {
    PartialAnswers log = new PartialAnswers("stats (test entities)");
    int first =
        LoggingTestKit.warn("stats (test entities): 1 of 2 answered in 0.3 s;")
            .expect(testKit.system(), () -> gather(log, 1));
    assertEquals(1, first, "the merge of the one answer that came in time");

    int second =
        LoggingTestKit.warn("stats (test entities)")
            .withOccurrences(0)
            .expect(testKit.system(), () -> gather(log, 0));
    assertEquals(0, second);
    assertEquals(2, log.partialSinceComplete());

    int complete =
        LoggingTestKit.info("stats (test entities): all 2 answer again, after 2 partial answer(s)")
            .expect(testKit.system(), () -> gather(log, 2));
    assertEquals(2, complete);
    assertEquals(0, log.partialSinceComplete());

    int next =
        LoggingTestKit.info("answer again")
            .withOccurrences(0)
            .expect(testKit.system(), () -> gather(log, 2));
    assertEquals(2, next, "a complete gathering after a complete one logs nothing");

    LoggingTestKit.warn("stats (test entities): 0 of 2 answered in")
        .expect(testKit.system(), () -> gather(log, 0));
  }

  @Test
  void partialGatheringsWithAKnownReasonAreOneInfoLineNamingItAndNoWarn() {
    java.util.concurrent.atomic.AtomicReference<String> reason =
        new java.util.concurrent.atomic.AtomicReference<>("a queue node is unreachable");
    PartialAnswers log = new PartialAnswers("fleet (test entities)", reason::get);
    LoggingTestKit.warn("fleet (test entities)")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () ->
                LoggingTestKit.info(
                        "fleet (test entities): 1 of 2 answered in 0.3 s, as expected while a queue"
                            + " node is unreachable;")
                    .expect(testKit.system(), () -> gather(log, 1)));
    gather(log, 2);
    reason.set(null); // no reason known at the next run's start: the WARN
    LoggingTestKit.warn("fleet (test entities): 0 of 2 answered in 0.3 s;")
        .expect(testKit.system(), () -> gather(log, 0));
  }

  @Test
  void withoutALogATimeoutIsSilent() {
    int merged =
        LoggingTestKit.warn("answered in")
            .withOccurrences(0)
            .expect(testKit.system(), () -> gather(null, 1));
    assertEquals(1, merged);
  }
}
