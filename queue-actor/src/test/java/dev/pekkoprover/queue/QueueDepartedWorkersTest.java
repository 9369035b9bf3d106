package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The workers a queue forgot (their actor terminated) stay in its fleet view for a while, with how
 * they went and what they did, so that a one-shot look ({@code prover-node status}) still shows a
 * worker that left; a worker that comes back under its id is a live row again, not a departed one.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class QueueDepartedWorkersTest {

  private final ActorTestKit testKit =
      ActorTestKit.create("QueueDepartedWorkersTest", TestConfig.config(""));
  private final ActorRef<QueueCommand> queue =
      testKit.spawn(
          LocalTaskQueue.create(
              TaskCatalog.of(TestTasks.all()),
              QueueSettings.fromConfig(testKit.system().settings().config())));

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private FleetView fleet() {
    return QueueSync.fleet(testKit, queue);
  }

  private void announce(TestProbe<WorkerCommand> worker, String id, WorkerState state) {
    announce(worker, id, "i1", state);
  }

  private void announce(
      TestProbe<WorkerCommand> worker, String id, String incarnation, WorkerState state) {
    queue.tell(
        new WorkerServes(
            worker.getRef(),
            id,
            incarnation,
            state == WorkerState.READY ? Set.of("square") : Set.of(),
            1,
            state,
            Set.of("square")));
  }

  @Test
  void aWorkerThatStoppedIsListedWithHowItWentUntilItComesBack() {
    TestProbe<WorkerCommand> drained = testKit.createTestProbe();
    TestProbe<WorkerCommand> stopped = testKit.createTestProbe();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    announce(drained, "w-drained", WorkerState.READY);
    queue.tell(
        new Enqueue(
            List.of(new TaskEnvelope("f:1", "f", "run-1", "square", 1, Num.of(3))), flow.getRef()));
    WorkerCommand.Dispatch dispatch = (WorkerCommand.Dispatch) drained.receiveMessage();
    queue.tell(
        new TaskSucceeded(
            "w-drained", "i1", dispatch.task().taskId(), "run-1", "square", 1, Num.of(9)));
    flow.expectMessageClass(TaskOutcome.Succeeded.class);
    announce(drained, "w-drained", WorkerState.DRAINING);
    announce(stopped, "w-stopped", WorkerState.READY);
    assertEquals(2, fleet().workers().size());

    drained.stop();
    stopped.stop();
    FleetView[] view = new FleetView[1];
    testKit
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              view[0] = fleet();
              assertEquals(2, view[0].departedWorkers().size(), view[0].toString());
              return null;
            });
    assertEquals(List.of(), view[0].workers());
    FleetView.DepartedWorker first =
        view[0].departedWorkers().stream()
            .filter(d -> d.workerId().equals("w-drained"))
            .findFirst()
            .orElseThrow();
    assertEquals(FleetView.DepartedWorker.DRAINED, first.how());
    assertEquals(WorkerState.DRAINING, first.lastState());
    assertEquals(1, first.done(), "the result it delivered");
    assertEquals(List.of("square"), first.configuredTypes());
    assertEquals("QueueDepartedWorkersTest", first.node());
    assertTrue(first.leftMillisAgo() < 5_000, first.toString());
    FleetView.DepartedWorker second =
        view[0].departedWorkers().stream()
            .filter(d -> d.workerId().equals("w-stopped"))
            .findFirst()
            .orElseThrow();
    assertEquals(FleetView.DepartedWorker.STOPPED, second.how());
    assertEquals(0, second.done());

    // the stopped one is back under its id (a restarted process): a live row, not a departed one
    TestProbe<WorkerCommand> back = testKit.createTestProbe();
    announce(back, "w-stopped", "i2", WorkerState.UNPREPARED);
    FleetView after = fleet();
    assertEquals(
        List.of("w-stopped"),
        after.workers().stream().map(FleetView.WorkerView::workerId).toList());
    assertEquals(
        List.of("w-drained"),
        after.departedWorkers().stream().map(FleetView.DepartedWorker::workerId).toList());
    assertEquals(1, after.workers().get(0).restarts(), "its restart counted");

    // the drained one is back too, a new process: its row goes on from what it did
    TestProbe<WorkerCommand> drainedBack = testKit.createTestProbe();
    announce(drainedBack, "w-drained", "i3", WorkerState.UNPREPARED);
    FleetView.WorkerView resumed =
        fleet().workers().stream()
            .filter(w -> w.workerId().equals("w-drained"))
            .findFirst()
            .orElseThrow();
    assertEquals(1, resumed.restarts());
    assertEquals(1, resumed.done(), "the result it delivered before");
  }
}
