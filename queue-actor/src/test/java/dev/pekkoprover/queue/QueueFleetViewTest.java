package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.RecentFailure;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the local queue tells the status API and the metrics: the fleet view (each worker's state,
 * types, load, what it did, restarts; each type's counts and run times; recent failures), and its
 * meters in the Prometheus text of its actor system, which follow its own counters. One queue per
 * actor system, as in a node. Time is Pekko's {@code ManualTime}, the queue's clock included, so
 * the run time measured is the one the test lets pass.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class QueueFleetViewTest {

  private final ActorTestKit testKit =
      ActorTestKit.create(
          "QueueFleetViewTest",
          ManualTime.config()
              .withFallback(
                  TestConfig.config(
                      """
          prover.metrics.refresh-interval = 50ms
          prover.queue.retry { min-backoff = 20ms, max-backoff = 100ms }
          """)));
  private final ManualTime manualTime = ManualTime.get(testKit.system());
  private final ActorRef<QueueCommand> queue =
      testKit.spawn(
          LocalTaskQueue.create(
              TaskCatalog.of(TestTasks.all()),
              QueueSettings.fromConfig(testKit.system().settings().config()),
              QueueSync.manualClock(testKit)));

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private FleetView fleet() {
    return QueueSync.fleet(testKit, queue);
  }

  private static TaskEnvelope square(String id) {
    return new TaskEnvelope(id, "flow-1", "run-1", "square", 1, Num.of(3));
  }

  private static WorkerCommand.Dispatch dispatch(TestProbe<WorkerCommand> worker) {
    return (WorkerCommand.Dispatch) worker.receiveMessage();
  }

  @Test
  void theFleetViewAndTheMetricsFollowWhatTheQueueSaw() {
    TestProbe<WorkerCommand> worker = testKit.createTestProbe();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    queue.tell(
        new WorkerServes(
            worker.getRef(),
            "w1",
            "i1",
            Set.of("square"),
            1,
            WorkerState.READY,
            Set.of("square", "add")));
    queue.tell(new Enqueue(List.of(square("f:1"), square("f:2")), flow.getRef()));
    TaskEnvelope first = dispatch(worker).task();
    manualTime.timePasses(Duration.ofMillis(20)); // its run time
    queue.tell(new TaskSucceeded("w1", "i1", first.taskId(), "run-1", "square", 1, Num.of(9)));
    flow.expectMessageClass(TaskOutcome.Succeeded.class);
    TaskEnvelope second = dispatch(worker).task();
    queue.tell(
        new TaskFailed(
            "w1", "i1", second.taskId(), "run-1", "square", 1, "prover ran out of memory", true));

    FleetView view = fleet();
    assertEquals(1, view.workers().size());
    FleetView.WorkerView w1 = view.workers().get(0);
    assertEquals("w1", w1.workerId());
    assertEquals(WorkerState.READY, w1.state());
    assertEquals(List.of("square"), w1.servedTypes());
    assertEquals(List.of("add", "square"), w1.configuredTypes());
    assertEquals(1, w1.done());
    assertEquals(1, w1.failed());
    assertEquals("QueueFleetViewTest", w1.node()); // one JVM: the system's name
    assertTrue(w1.lastHeardMillisAgo() < 5_000, "heard from just now: " + w1);
    FleetView.TypeView squares = view.type("square");
    assertEquals(1, squares.counts().completed());
    assertEquals(1, squares.counts().retried());
    assertEquals(1, squares.runs());
    assertEquals(0.020, squares.meanRunSeconds(), 1e-9, "measured the 20 ms run");
    assertEquals(1, squares.workers());
    RecentFailure failure = view.recentFailures().get(0);
    assertEquals("retrying", failure.kind());
    assertEquals(second.taskId(), failure.taskId());
    assertTrue(failure.reason().contains("prover ran out of memory"), failure.reason());

    // a restart shows as a new incarnation and puts back what it held (the retried task, dispatched
    // again after
    // its backoff of 20-24 ms)
    manualTime.timePasses(Duration.ofMillis(25));
    TaskEnvelope retried = dispatch(worker).task();
    queue.tell(
        new WorkerServes(
            worker.getRef(),
            "w1",
            "i2",
            Set.of(),
            1,
            WorkerState.UNPREPARED,
            Set.of("square", "add")));
    FleetView after = fleet();
    assertEquals(1, after.workers().get(0).restarts());
    assertEquals(WorkerState.UNPREPARED, after.workers().get(0).state());
    assertEquals(retried.taskId(), after.recentFailures().get(0).taskId());
    assertEquals("put back", after.recentFailures().get(0).kind());

    manualTime.timePasses(Duration.ofMillis(50)); // a metrics refresh
    fleet(); // which the queue has handled now
    String text = ProverMetrics.get(testKit.system()).scrape();
    assertTrue(
        text.contains("prover_tasks_completed_total{entity=\"local\",task_type=\"square\"} 1.0"),
        text);
    assertTrue(
        text.contains("prover_tasks_retried_total{entity=\"local\",task_type=\"square\"} 1.0"),
        text);
    assertTrue(
        text.contains(
            "prover_tasks_redelivered_total{entity=\"local\",reason=\"worker_restarted\",task_type=\"square\"} 1.0"),
        text);
    assertTrue(
        text.contains("prover_queue_pending_tasks{entity=\"local\",task_type=\"square\"} 1.0"),
        text);
    assertTrue(
        text.contains(
            "prover_queue_workers{entity=\"local\",state=\"unprepared\",task_type=\"square\"} 1.0"),
        text);
    assertTrue(
        text.contains("prover_task_run_seconds_count{entity=\"local\",task_type=\"square\"} 1"),
        text);
    assertTrue(
        text.contains(
            "prover_task_wait_seconds_bucket{entity=\"local\",task_type=\"square\",le=\"1.0\"} 1"),
        text);
  }
}
