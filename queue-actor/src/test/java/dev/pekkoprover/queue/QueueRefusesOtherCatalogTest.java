package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
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
 * The local queue gives a worker whose task catalog differs from its own no work at all, not even
 * registration, and says so once; a worker of the same build beside it gets every task. A worker
 * holding the keys of an earlier run gets no regular work and is told to register again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class QueueRefusesOtherCatalogTest {
  private static final TaskCatalog CATALOG = TaskCatalog.of(TestTasks.all());

  private final ActorTestKit testKit =
      ActorTestKit.create("QueueRefusesOtherCatalogTest", TestConfig.config());

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private ActorRef<QueueCommand> spawnQueue() {
    return testKit.spawn(
        LocalTaskQueue.create(CATALOG, QueueSettings.fromConfig(TestConfig.config())));
  }

  /**
   * The queue, having handled everything the test sent it, sent this worker nothing more (no
   * real-time wait).
   */
  private void expectNothingMore(ActorRef<QueueCommand> queue, TestProbe<WorkerCommand> worker) {
    QueueSync.expectNothingMore(testKit, queue, worker, QueueSync.WORKER_MARKER);
  }

  private static WorkerServes ready(
      TestProbe<WorkerCommand> probe, String id, CatalogFingerprint fingerprint) {
    Set<String> types = Set.of("square", "add", "compile");
    return new WorkerServes(
        probe.getRef(), id, "inc-1", types, 4, WorkerState.READY, types, fingerprint);
  }

  private static TaskEnvelope square(String id) {
    return new TaskEnvelope(id, "f1", "r1", "square", 1, Num.of(3));
  }

  private static List<TaskEnvelope> dispatched(WorkerCommand message) {
    if (message instanceof WorkerCommand.Dispatch one) {
      return List.of(one.task());
    }
    return assertInstanceOf(WorkerCommand.DispatchAll.class, message).tasks();
  }

  @Test
  void aWorkerOfAnotherVersionGetsNothingAndIsToldOnceWhileTheMatchingOneGetsEveryTask() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<WorkerCommand> good = testKit.createTestProbe(WorkerCommand.class);
    TestProbe<WorkerCommand> old = testKit.createTestProbe(WorkerCommand.class);
    CatalogFingerprint same = CatalogFingerprint.of(CATALOG);
    CatalogFingerprint other =
        CatalogFingerprint.of(
            TaskCatalog.of(
                CatalogCheckTest.SQUARE_V2, TestTasks.Add.INSTANCE, TestTasks.Compile.INSTANCE));

    Set<String> unprepared = Set.of(WorkerRegistrationTask.NAME, "compile");
    LoggingTestKit.warn("refused worker old-w1 at ")
        .withMessageContains(
            "its task catalog differs from this queue's: square version 2 (queue has 1)")
        .expect(
            testKit.system(),
            () -> {
              queue.tell(
                  new WorkerServes(
                      old.getRef(),
                      "old-w1",
                      "inc-1",
                      unprepared,
                      4,
                      WorkerState.UNPREPARED,
                      Set.of("square", "add", "compile"),
                      other));
              return null;
            });
    WorkerCommand.Refused refused = old.expectMessageClass(WorkerCommand.Refused.class);
    assertFalse(refused.registerAgain());
    assertTrue(refused.reason().contains("square version 2 (queue has 1)"), refused.reason());

    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    queue.tell(
        new Enqueue(
            List.of(
                new TaskEnvelope(
                    "reg-1",
                    "register",
                    "r1",
                    WorkerRegistrationTask.NAME,
                    1,
                    new TestTasks.Keys("k"))),
            flow.getRef()));
    queue.tell(
        new Enqueue(
            List.of(
                new TaskEnvelope(
                    "c1", "f1", "r1", "compile", 1, new TestTasks.CompileRequest("c"))),
            flow.getRef()));
    expectNothingMore(
        queue, old); // neither the registration nor the compilation it would serve while Unprepared

    String keys = CatalogFingerprint.keysDigestOf(new TestTasks.Keys("k"));
    queue.tell(ready(old, "old-w1", other.registeredWith("r1", keys)));
    queue.tell(ready(good, "good-w1", same.registeredWith("r1", keys)));
    queue.tell(new Enqueue(List.of(square("s1"), square("s2"), square("s3")), flow.getRef()));
    List<String> ran = new ArrayList<>();
    while (ran.size() < 4) {
      dispatched(good.receiveMessage()).forEach(task -> ran.add(task.taskId()));
    }
    assertEquals(
        Set.of("c1", "s1", "s2", "s3"), Set.copyOf(ran), "every task went to the matching worker");
    // its Ready announcement shows the same difference: neither logged nor told again
    expectNothingMore(queue, old);

    TestProbe<FleetView> fleet = testKit.createTestProbe(FleetView.class);
    queue.tell(new QueueCommand.GetFleet(fleet.getRef()));
    FleetView.WorkerView view =
        fleet.receiveMessage().workers().stream()
            .filter(w -> w.workerId().equals("old-w1"))
            .findFirst()
            .orElseThrow();
    assertTrue(view.refused().contains("square version 2"), view.toString());
    assertEquals(List.of(), view.servedTypes(), view.toString());
  }

  @Test
  void aReadyWorkerWithTheKeysOfAnEarlierRunGetsNoRegularWorkAndIsToldToRegisterAgain() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    queue.tell(
        new Enqueue(
            List.of(
                new TaskEnvelope(
                    "reg-2",
                    "register",
                    "r2",
                    WorkerRegistrationTask.NAME,
                    1,
                    new TestTasks.Keys("run-2"))),
            flow.getRef()));
    TestProbe<WorkerCommand> worker = testKit.createTestProbe(WorkerCommand.class);
    CatalogFingerprint built = CatalogFingerprint.of(CATALOG);
    String oldKeys = CatalogFingerprint.keysDigestOf(new TestTasks.Keys("run-1"));
    queue.tell(ready(worker, "w1", built.registeredWith("r1", oldKeys)));
    WorkerCommand.Refused refused = worker.expectMessageClass(WorkerCommand.Refused.class);
    assertTrue(refused.registerAgain(), refused.toString());
    assertEquals(oldKeys, refused.keysDigest());

    queue.tell(new Enqueue(List.of(square("s1")), flow.getRef()));
    expectNothingMore(queue, worker);
    String currentKeys = CatalogFingerprint.keysDigestOf(new TestTasks.Keys("run-2"));
    queue.tell(ready(worker, "w1", built.registeredWith("r2", currentKeys)));
    assertEquals(
        List.of("s1"),
        dispatched(worker.receiveMessage()).stream().map(TaskEnvelope::taskId).toList());
  }
}
