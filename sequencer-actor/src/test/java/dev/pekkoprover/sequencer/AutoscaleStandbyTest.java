package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A standby sequencer node's autoscaling memory: kept from the fleet views it asks for while the
 * sequencer runs elsewhere, so that the signal it exports after taking over does not count the
 * tasks of a queue entity that started again at the assumed run time.
 */
class AutoscaleStandbyTest {
  private static final long S = 1_000_000_000L;
  private static final Duration INTERVAL = Duration.ofMillis(200);

  private final ActorTestKit testKit =
      ActorTestKit.create("autoscale-standby", TestConfig.config());

  @AfterEach
  void stop() {
    testKit.shutdownTestKit();
  }

  private static AutoscaleSettings settings() {
    return new AutoscaleSettings(
        true,
        INTERVAL,
        Duration.ofSeconds(60),
        Duration.ofSeconds(10),
        Duration.ofMinutes(5),
        Map.of());
  }

  /** Type {@code a} with 100 pending, after {@code runs} runs of {@code meanSeconds} each. */
  private static FleetView view(long runs, double meanSeconds) {
    FleetView.TypeView type =
        new FleetView.TypeView(
            new QueueStats.TypeStats(100, 0, runs, 0, 0, 0, 0, 0, 0, 0),
            1,
            runs,
            (long) (runs * meanSeconds * S),
            0);
    return new FleetView(List.of(), Map.of("a", type), List.of(), 0, 0, 1, 1);
  }

  /** What a fresh signal of this node (the one a takeover starts) counts for 100 pending of a. */
  private double outstandingAfterARestart() {
    AutoscaleSignal fresh = new AutoscaleSignal(settings(), AutoscaleClasses.get(testKit.system()));
    return fresh.update(view(0, 0), 0).get(0).outstandingWorkerSeconds();
  }

  private void awaitOutstanding(double expected) {
    testKit
        .createTestProbe()
        .awaitAssert(
            () -> {
              assertEquals(expected, outstandingAfterARestart(), 1e-6);
              return null;
            });
  }

  @Test
  void whileTheSequencerRunsElsewhereItKeepsTheMeanRunTimeForATakeover() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    AtomicBoolean here = new AtomicBoolean(false);
    testKit.spawn(AutoscaleStandby.create(queue.getRef(), settings(), here::get));
    assertEquals(1000.0, outstandingAfterARestart(), 1e-6, "nothing measured yet: 10 s each");

    // the first view it sees already has runs: their mean is kept at once (no window yet)
    ((QueueCommand.GetFleet) queue.receiveMessage()).replyTo().tell(view(10, 3.0));
    awaitOutstanding(300.0);
    // a window: 10 runs of 1 s since, whose mean replaces the mean of all runs (2 s)
    ((QueueCommand.GetFleet) queue.receiveMessage()).replyTo().tell(view(20, 2.0));
    awaitOutstanding(100.0);

    // the sequencer runs here now: its own signal keeps the memory, the keeper asks nothing
    here.set(true);
    // the asks of ticks before that (a loaded machine's test thread may lag the ticks), answered
    for (int i = 0; i < 10; i++) {
      try {
        ((QueueCommand.GetFleet) queue.receiveMessage(INTERVAL.multipliedBy(2)))
            .replyTo()
            .tell(view(20, 2.0)); // what a queue would answer
      } catch (AssertionError none) {
        break; // two intervals without an ask
      }
    }
    queue.expectNoMessage(INTERVAL.multipliedBy(3));
  }

  @Test
  void itAsksAgainOnlyOnceTheLastQuestionWasAnswered() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    testKit.spawn(AutoscaleStandby.create(queue.getRef(), settings(), () -> false));
    QueueCommand.GetFleet first = (QueueCommand.GetFleet) queue.receiveMessage();
    // a gathering may take the whole stats timeout (3 s) while a queue node is lost: no overlap
    queue.expectNoMessage(INTERVAL.multipliedBy(4));
    first.replyTo().tell(view(10, 1.0));
    queue.expectMessageClass(QueueCommand.GetFleet.class, INTERVAL.multipliedBy(3));
  }

  @Test
  void theMeanOfAllRunsNeverReplacesAWindowsMean() {
    AutoscaleClasses memory = new AutoscaleClasses();
    AutoscaleSignal windowed = new AutoscaleSignal(settings(), memory);
    windowed.update(view(10, 1.0), 0);
    windowed.update(view(20, 1.5), 5 * S); // 10 runs of 2 s in the window
    // a fresh signal (the status's) sees all 20 runs at 1.5 s: kept only as a fallback
    new AutoscaleSignal(settings(), memory).update(view(20, 1.5), 6 * S);
    assertEquals(2.0, memory.meanRunSeconds("a"), 1e-9);

    AutoscaleClasses unwindowed = new AutoscaleClasses();
    new AutoscaleSignal(settings(), unwindowed).update(view(20, 1.5), 6 * S);
    assertEquals(1.5, unwindowed.meanRunSeconds("a"), 1e-9, "no window: the mean of all runs");
  }
}
