package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@link Gather}: the merge of what came, at once when all answered, after the timeout when not,
 * and at once for none expected.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GatherTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  private final ActorTestKit testKit = ActorTestKit.create("gather", TestConfig.config());

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  /**
   * Spawns a gathering of {@code expected} answers whose merge is how many came; answers {@code
   * answers} of them. Returns {how many, ms to the reply}.
   */
  private long[] gather(int expected, int answers) {
    TestProbe<Integer> replies = testKit.createTestProbe();
    long start = System.nanoTime();
    ActorRef<String> gather =
        testKit.spawn(Gather.create(String.class, expected, TIMEOUT, List::size, replies.ref()));
    for (int i = 0; i < answers; i++) {
      gather.tell("answer " + i);
    }
    int merged = replies.receiveMessage(TIMEOUT.plusSeconds(5));
    return new long[] {merged, (System.nanoTime() - start) / 1_000_000};
  }

  @Test
  void allAnswersAreMergedAtOnceAndAPartialOneAfterTheTimeout() {
    long[] all = gather(2, 2);
    assertEquals(2, all[0]);
    assertTrue(all[1] < TIMEOUT.toMillis(), "all answered: at once, " + all[1] + " ms");

    long[] partial = gather(2, 1);
    assertEquals(1, partial[0], "the merge of the one answer that came in time");
    assertTrue(partial[1] >= TIMEOUT.toMillis() - 50, "waited the timeout: " + partial[1] + " ms");

    assertEquals(0, gather(0, 0)[0], "none expected: the merge of none");
  }
}
