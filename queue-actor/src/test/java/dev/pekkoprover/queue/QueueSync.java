package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import java.util.List;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.testkit.ExplicitlyTriggeredScheduler;

/**
 * For queue tests on Pekko's {@code ManualTime}: they wait on the queue, never on real time. The
 * queue handles the messages one sender sends it in order, so a round trip after them means they
 * are handled; and whatever it sent a probe meanwhile is queued at the probe before a marker the
 * test sends it afterwards.
 */
final class QueueSync {
  private QueueSync() {}

  /** A message no queue sends a worker, to mark where the queue's messages to it end. */
  static final WorkerCommand WORKER_MARKER =
      new WorkerCommand.Cancel(List.of("test-marker"), null, "test marker");

  /** A message no queue sends a flow, to mark where the queue's messages to it end. */
  static final TaskOutcome FLOW_MARKER =
      new TaskOutcome.Rejected(
          "test-marker", "test-marker", "test-marker", "test-marker", "test marker");

  /**
   * The queue's counters, once it has handled every message this thread sent it before (timers'
   * ones included).
   */
  static QueueStats stats(ActorTestKit testKit, ActorRef<QueueCommand> queue) {
    TestProbe<QueueStats> probe = testKit.createTestProbe(QueueStats.class);
    queue.tell(new QueueCommand.GetStats(probe.getRef()));
    return probe.receiveMessage();
  }

  /** The queue's fleet view, once it has handled every message this thread sent it before. */
  static FleetView fleet(ActorTestKit testKit, ActorRef<QueueCommand> queue) {
    TestProbe<FleetView> probe = testKit.createTestProbe(FleetView.class);
    queue.tell(new QueueCommand.GetFleet(probe.getRef()));
    return probe.receiveMessage();
  }

  /**
   * Asserts that the queue, having handled everything this thread sent it, sent the probe nothing
   * the test has not received yet.
   *
   * @param marker {@link #WORKER_MARKER} or {@link #FLOW_MARKER}
   */
  static <T> void expectNothingMore(
      ActorTestKit testKit, ActorRef<QueueCommand> queue, TestProbe<T> probe, T marker) {
    stats(testKit, queue);
    expectNothingQueued(probe, marker);
  }

  /**
   * Asserts that nothing sent to the probe so far (by this thread, or before something this thread
   * waited for) is waiting there: a marker sent now is the next message.
   */
  static <T> void expectNothingQueued(TestProbe<T> probe, T marker) {
    probe.getRef().tell(marker);
    assertEquals(marker, probe.receiveMessage(), "nothing more was sent");
  }

  /**
   * The time of a test kit's manual scheduler ({@code ManualTime.config()}) in nanoseconds, for
   * {@link LocalTaskQueue#create(dev.pekkoprover.protocol.TaskCatalog, QueueSettings,
   * LongSupplier)}: leases and measured times then move with {@code ManualTime.timePasses}, as the
   * timers do.
   */
  static LongSupplier manualClock(ActorTestKit testKit) {
    ExplicitlyTriggeredScheduler scheduler =
        (ExplicitlyTriggeredScheduler) Adapter.toClassic(testKit.system()).scheduler();
    return () -> scheduler.currentTimeMs() * 1_000_000L;
  }
}
