package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.CancelFlow;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The local queue as flows and workers see it: test probes play both, every message is serialised.
 * Each test spawns its own queue. Time is Pekko's {@code ManualTime}, the queue's clock included:
 * leases, lease checks and retry backoffs pass when a test says so, and "nothing more" is asserted
 * without waiting ({@link QueueSync}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class LocalTaskQueueTest {

  private static final TaskCatalog CATALOG = TaskCatalog.of(TestTasks.all());
  private static final String SETTINGS =
      """
      prover.queue {
        default-lease = 20s
        lease-check-interval = 50ms
        max-attempts = 3
        retry { min-backoff = 20ms, max-backoff = 100ms }
      }
      """;

  private final ActorTestKit testKit =
      ActorTestKit.create(
          "LocalTaskQueueTest", ManualTime.config().withFallback(TestConfig.config()));
  private final ManualTime manualTime = ManualTime.get(testKit.system());

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private ActorRef<QueueCommand> spawnQueue(String overrides) {
    QueueSettings settings =
        QueueSettings.fromConfig(TestConfig.config(overrides + "\n" + SETTINGS));
    return testKit.spawn(LocalTaskQueue.create(CATALOG, settings, QueueSync.manualClock(testKit)));
  }

  private ActorRef<QueueCommand> spawnQueue() {
    return spawnQueue("");
  }

  private TestProbe<WorkerCommand> worker(
      ActorRef<QueueCommand> queue, String workerId, int capacity, String... types) {
    TestProbe<WorkerCommand> probe = testKit.createTestProbe(WorkerCommand.class);
    queue.tell(new WorkerServes(probe.getRef(), workerId, "inc-1", Set.of(types), capacity));
    return probe;
  }

  private static TaskEnvelope square(String taskId, String flowId) {
    return new TaskEnvelope(taskId, flowId, "run-1", "square", 1, Num.of(7));
  }

  /** Tasks a probe worker received in a DispatchAll and the test has not looked at yet. */
  private final Map<TestProbe<WorkerCommand>, Deque<TaskEnvelope>> received = new HashMap<>();

  /**
   * The next task handed to the worker, whether it came alone (Dispatch) or with others
   * (DispatchAll).
   */
  private TaskEnvelope expectDispatch(TestProbe<WorkerCommand> worker) {
    Deque<TaskEnvelope> buffered = received.computeIfAbsent(worker, w -> new ArrayDeque<>());
    if (buffered.isEmpty()) {
      WorkerCommand message = worker.receiveMessage();
      if (message instanceof WorkerCommand.Dispatch dispatch) {
        buffered.add(dispatch.task());
      } else if (message instanceof WorkerCommand.DispatchAll all) {
        assertTrue(all.tasks().size() > 1, "a batch holds more than one task");
        buffered.addAll(all.tasks());
      } else {
        throw new AssertionError("expected a dispatch, got " + message);
      }
    }
    return buffered.poll();
  }

  private static void succeed(ActorRef<QueueCommand> queue, String workerId, TaskEnvelope task) {
    queue.tell(
        new TaskSucceeded(
            workerId,
            "inc-1",
            task.taskId(),
            "run-1",
            task.taskType(),
            task.attempt(),
            Num.of(49)));
  }

  private static TaskOutcome.Succeeded succeeded(TaskEnvelope task, String workerId) {
    return new TaskOutcome.Succeeded(
        task.taskId(),
        task.flowId(),
        task.runId(),
        task.taskType(),
        task.attempt(),
        workerId,
        Num.of(49));
  }

  private QueueStats stats(ActorRef<QueueCommand> queue) {
    return QueueSync.stats(testKit, queue);
  }

  /** The queue, having handled everything the test sent it, handed this worker nothing more. */
  private void expectNoDispatch(ActorRef<QueueCommand> queue, TestProbe<WorkerCommand> worker) {
    Deque<TaskEnvelope> buffered = received.get(worker);
    assertTrue(
        buffered == null || buffered.isEmpty(), "tasks of a batch not looked at: " + buffered);
    QueueSync.expectNothingMore(testKit, queue, worker, QueueSync.WORKER_MARKER);
  }

  /** The queue, having handled everything the test sent it, told this flow nothing more. */
  private void expectNoOutcome(ActorRef<QueueCommand> queue, TestProbe<TaskOutcome> flow) {
    QueueSync.expectNothingMore(testKit, queue, flow, QueueSync.FLOW_MARKER);
  }

  @Test
  void anUnknownTypeIsRejectedNamingTheType() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    queue.tell(
        new Enqueue(
            List.of(new TaskEnvelope("x1", "f1", "run-1", "no-such-type", 1, Num.of(1))),
            flow.getRef()));
    TaskOutcome.Rejected rejected = flow.expectMessageClass(TaskOutcome.Rejected.class);
    assertEquals("x1", rejected.taskId());
    assertTrue(rejected.reason().contains("'no-such-type'"), rejected.reason());
  }

  @Test
  void aWorkerOfCapacityOneGetsTheNextTaskOnlyAfterItReports() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 1, "square");
    queue.tell(
        new Enqueue(
            List.of(square("t1", "f1"), square("t2", "f1"), square("t3", "f1")), flow.getRef()));
    for (String id : List.of("t1", "t2", "t3")) {
      TaskEnvelope task = expectDispatch(w1);
      assertEquals(square(id, "f1"), task);
      expectNoDispatch(queue, w1);
      succeed(queue, "w1", task);
      flow.expectMessage(succeeded(task, "w1"));
    }
    assertEquals(new QueueStats.TypeStats(0, 0, 3, 0, 0, 0, 0, 0, 0, 0), stats(queue).of("square"));
  }

  @Test
  void onlyWorkersServingATypeGetIt() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> adder = worker(queue, "adder", 4, "add");
    TestProbe<WorkerCommand> squarer = worker(queue, "squarer", 4, "square");
    queue.tell(new Enqueue(List.of(square("t1", "f1"), square("t2", "f1")), flow.getRef()));
    assertEquals("t1", expectDispatch(squarer).taskId());
    assertEquals("t2", expectDispatch(squarer).taskId());
    expectNoDispatch(queue, adder);

    TaskEnvelope add =
        new TaskEnvelope("a1", "f1", "run-1", "add", 1, new TestTasks.Pair(Num.of(1), Num.of(2)));
    queue.tell(new Enqueue(List.of(add), flow.getRef()));
    assertEquals(add, expectDispatch(adder));
    expectNoDispatch(queue, squarer);
  }

  @Test
  void tasksOfAStoppedWorkerGoToAnotherWorker() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 2, "square");
    queue.tell(new Enqueue(List.of(square("t1", "f1"), square("t2", "f1")), flow.getRef()));
    expectDispatch(w1);
    expectDispatch(w1);
    TestProbe<WorkerCommand> w2 = worker(queue, "w2", 2, "square");
    expectNoDispatch(queue, w2);

    LoggingTestKit.info("worker w1 terminated")
        .withMessageContains("the 2 task(s) it held here were put back")
        .expect(
            testKit.system(),
            () -> {
              w1.stop();
              return null;
            });
    TaskEnvelope first = expectDispatch(w2);
    TaskEnvelope second = expectDispatch(w2);
    assertEquals(
        List.of(square("t1", "f1").withAttempt(2), square("t2", "f1").withAttempt(2)),
        List.of(first, second));
    succeed(queue, "w2", first);
    flow.expectMessage(succeeded(first, "w2"));
    QueueStats stats = stats(queue);
    assertEquals(1, stats.workers());
    assertEquals(new QueueStats.TypeStats(0, 1, 1, 0, 2, 0, 0, 0, 2, 0), stats.of("square"));

    // a worker that held nothing here leaves without a line above DEBUG (in a cluster every entity
    // of its types sees it go)
    LoggingTestKit.info("terminated")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () -> {
              TestProbe<WorkerCommand> idle = worker(queue, "w3", 1, "add");
              assertEquals(2, stats(queue).workers());
              idle.stop();
              testKit
                  .createTestProbe()
                  .awaitAssert(
                      () -> {
                        assertEquals(1, stats(queue).workers(), "w3 is forgotten");
                        return null;
                      });
              return null;
            });
  }

  @Test
  void aNewIncarnationGetsItsOldTasksRedelivered() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 2, "square");
    queue.tell(new Enqueue(List.of(square("t1", "f1"), square("t2", "f1")), flow.getRef()));
    expectDispatch(w1);
    expectDispatch(w1);

    // Restarted under its supervisor: same actor, new incarnation.
    queue.tell(new WorkerServes(w1.getRef(), "w1", "inc-2", Set.of("square"), 2));
    assertEquals(square("t1", "f1").withAttempt(2), expectDispatch(w1));
    assertEquals(square("t2", "f1").withAttempt(2), expectDispatch(w1));
    expectNoDispatch(queue, w1);
    assertEquals(2, stats(queue).of("square").redelivered());
  }

  @Test
  void aDeclinedTaskGoesToAnotherWorker() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 2, "square");
    queue.tell(new Enqueue(List.of(square("t1", "f1")), flow.getRef()));
    TaskEnvelope task = expectDispatch(w1);
    TestProbe<WorkerCommand> w2 = worker(queue, "w2", 1, "square");

    // w1 has more free slots than w2, but it has just declined the task.
    queue.tell(
        new TaskDeclined(
            "w1", "inc-1", "t1", "run-1", "square", 1, "not serving square while registered"));
    assertEquals(task.withAttempt(2), expectDispatch(w2));
    expectNoDispatch(queue, w1);
    expectNoOutcome(queue, flow);
    QueueStats.TypeStats stats = stats(queue).of("square");
    assertEquals(1, stats.redelivered());
    assertEquals(0, stats.failed());
  }

  /**
   * A standby sequencer took over: the queue actor tells the worker to stop the older run's compute
   * (one INFO line for the queue), sends the newer run's task of the same id out once that worker
   * answered, and answers the newer flow only with the newer compute's result.
   */
  @Test
  void aNewerRunsTaskCancelsTheOlderRunsComputeAndTakesItsId() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> oldFlow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<TaskOutcome> newFlow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 1, "square");
    String oldRun = "r0000000000001-00000000";
    String newRun = "r0000000000002-00000000";
    queue.tell(
        new Enqueue(
            List.of(new TaskEnvelope("f-1:1", "f-1", oldRun, "square", 1, Num.of(2))),
            oldFlow.getRef()));
    assertEquals(oldRun, expectDispatch(w1).runId());
    TaskEnvelope fresh = new TaskEnvelope("f-1:1", "f-1", newRun, "square", 1, Num.of(3));
    LoggingTestKit.info("sequencer run " + newRun + " took over from older runs")
        .expect(
            testKit.system(),
            () -> {
              queue.tell(new Enqueue(List.of(fresh), newFlow.getRef()));
              return null;
            });
    assertEquals(
        new WorkerCommand.Cancel(
            List.of("f-1:1"), oldRun, "run " + oldRun + " is over: run " + newRun + " took over"),
        w1.receiveMessage());
    expectNoDispatch(queue, w1); // its slot is the old compute's until it answers
    queue.tell(
        new TaskFailed("w1", "inc-1", "f-1:1", oldRun, "square", 1, "cancelled: run over", true));
    assertEquals(fresh, expectDispatch(w1));
    queue.tell(new TaskSucceeded("w1", "inc-1", "f-1:1", newRun, "square", 1, Num.of(9)));
    TaskOutcome.Succeeded done = newFlow.expectMessageClass(TaskOutcome.Succeeded.class);
    assertEquals(newRun, done.runId());
    assertEquals(Num.of(9), done.result());
    expectNoOutcome(queue, oldFlow);
  }

  /**
   * In a cluster an entity may hold the older run's tasks while the newer run's tasks go to other
   * entities: the run's start the sequencer's queue front sends every entity ({@link
   * QueueCommand.RunStarted}) makes it give them up at once, with one INFO line, instead of keeping
   * workers on them or handing each to a worker registered for the newer run to fail for good (an
   * ERROR per task).
   */
  @Test
  void aNewerRunsStartGivesUpTheOlderRunsTasksWithOneLine() {
    givesUpTheOlderRunOn(new QueueCommand.RunStarted(NEWER_RUN));
  }

  /** The run's catalog, sent with its registration offer, has the same effect. */
  @Test
  void aNewerRunsCatalogGivesUpTheOlderRunsTasksWithOneLine() {
    givesUpTheOlderRunOn(new QueueCommand.RunCatalog(NEWER_RUN, new java.util.TreeMap<>(), null));
  }

  /**
   * Trial D's stall, as the registration type's entity saw it: the worker's Unprepared
   * announcement, the old run's registration task and its result, then no Registered announcement
   * (the queue front had forgotten the worker's previous types on a Terminated Pekko answered from
   * the tombstone of the node's previous incarnation, so it routed Registered to no entity, and
   * Ready only to the regular types' entities). At the next run the worker, Unprepared again,
   * announces itself (and again every 5 s), and must get the new run's registration task, offered
   * under the same id register-worker-flow:1.
   */
  @Test
  void aWorkerWhoseRegisteredAnnouncementWasLostGetsTheNextRunsRegistration() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> oldLoop = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<TaskOutcome> newLoop = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = testKit.createTestProbe(WorkerCommand.class);
    String registration = dev.pekkoprover.protocol.WorkerRegistrationTask.NAME;
    var unprepared = dev.pekkoprover.protocol.WorkerState.UNPREPARED;
    String oldRun = "r0000000000001-00000000";
    WorkerServes unpreparedAnnouncement =
        new WorkerServes(
            w1.getRef(), "w1", "inc-1", Set.of(registration), 1, unprepared, Set.of("square"));
    queue.tell(
        new Enqueue(
            List.of(
                new TaskEnvelope(
                    "register-worker-flow:1",
                    "register-worker-flow",
                    oldRun,
                    registration,
                    1,
                    "keys")),
            oldLoop.getRef()));
    queue.tell(unpreparedAnnouncement);
    TaskEnvelope first = expectDispatch(w1);
    assertEquals(oldRun, first.runId());
    queue.tell(
        new TaskSucceeded(
            "w1",
            "inc-1",
            first.taskId(),
            oldRun,
            registration,
            first.attempt(),
            new dev.pekkoprover.protocol.WorkerRegistrationTask.Registered("w1")));
    oldLoop.expectMessageClass(TaskOutcome.Succeeded.class);
    // the old run's loop offers its next task at once
    queue.tell(
        new Enqueue(
            List.of(
                new TaskEnvelope(
                    "register-worker-flow:2",
                    "register-worker-flow",
                    oldRun,
                    registration,
                    1,
                    "keys")),
            oldLoop.getRef()));
    // no Registered or Ready announcement reaches this entity; the old sequencer exits; a new run
    queue.tell(new QueueCommand.RunStarted(NEWER_RUN));
    queue.tell(
        new Enqueue(
            List.of(
                new TaskEnvelope(
                    "register-worker-flow:1",
                    "register-worker-flow",
                    NEWER_RUN,
                    registration,
                    1,
                    "keys")),
            newLoop.getRef()));
    // the worker sees the new run, registers again: Unprepared, announced at once and every 5 s
    queue.tell(unpreparedAnnouncement);
    queue.tell(unpreparedAnnouncement);
    queue.tell(unpreparedAnnouncement);
    TaskEnvelope next = expectDispatch(w1);
    assertEquals("register-worker-flow:1", next.taskId());
    assertEquals(NEWER_RUN, next.runId());
  }

  private static final String NEWER_RUN = "r0000000000002-00000000";

  private void givesUpTheOlderRunOn(QueueCommand announcement) {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> oldFlow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 1, "square");
    String oldRun = "r0000000000001-00000000";
    String newRun = NEWER_RUN;
    queue.tell(
        new Enqueue(
            List.of(
                new TaskEnvelope("f-1:1", "f-1", oldRun, "square", 1, Num.of(2)),
                new TaskEnvelope("f-1:2", "f-1", oldRun, "square", 1, Num.of(3))),
            oldFlow.getRef()));
    assertEquals("f-1:1", expectDispatch(w1).taskId());
    LoggingTestKit.info(
            "sequencer run "
                + newRun
                + " took over from older runs: 1 of their waiting task(s) dropped here, 1 in"
                + " flight cancelled")
        .expect(
            testKit.system(),
            () -> {
              queue.tell(announcement);
              return null;
            });
    assertEquals(
        new WorkerCommand.Cancel(
            List.of("f-1:1"), oldRun, "run " + oldRun + " is over: run " + newRun + " took over"),
        w1.receiveMessage());
    LoggingTestKit.error("failed for good")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () -> {
              queue.tell(
                  new TaskFailed(
                      "w1", "inc-1", "f-1:1", oldRun, "square", 1, "cancelled: run over", true));
              expectNoDispatch(queue, w1); // f-1:2 was dropped
              return null;
            });
    expectNoOutcome(queue, oldFlow);
    QueueStats.TypeStats stats = stats(queue).of("square");
    assertEquals(0, stats.pending());
    assertEquals(0, stats.inFlight());

    // late Enqueues of the older run: dropped, with one INFO line for that run (which names the
    // clock skew that would make a new sequencer's run look older), the next at DEBUG
    LoggingTestKit.info("dropped task f-1:3 (type square, flow f-1) of run " + oldRun)
        .withMessageContains("its host's clock is behind")
        .expect(
            testKit.system(),
            () -> {
              queue.tell(
                  new Enqueue(
                      List.of(new TaskEnvelope("f-1:3", "f-1", oldRun, "square", 1, Num.of(4))),
                      oldFlow.getRef()));
              return null;
            });
    LoggingTestKit.info("dropped task")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () -> {
              queue.tell(
                  new Enqueue(
                      List.of(new TaskEnvelope("f-1:4", "f-1", oldRun, "square", 1, Num.of(5))),
                      oldFlow.getRef()));
              expectNoDispatch(queue, w1);
              return null;
            });
    expectNoOutcome(queue, oldFlow);
    assertEquals(0, stats(queue).of("square").pending());
  }

  /**
   * In a cluster two entities may hand a worker its last free slot at once, and one task waits
   * there behind the other. The worker's load reports say so, and the lease counts from its start.
   */
  @Test
  void aTaskThatWaitsOnItsWorkerForASlotGetsItsLeaseFromItsStart() {
    ActorRef<QueueCommand> queue = spawnQueue("prover.queue.lease-per-type.square = 500ms");
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 1, "square");
    queue.tell(new Enqueue(List.of(square("t1", "f1")), flow.getRef()));
    TaskEnvelope t1 = expectDispatch(w1);

    manualTime.timePasses(Duration.ofMillis(300));
    List<String> held = List.of("other-entity:1", "t1");
    queue.tell(
        new QueueCommand.WorkerLoad(
            w1.getRef(), "w1", "inc-1", held, false, List.of(), List.of(), List.of("t1")));
    stats(queue); // handled (its clock read) before time passes
    manualTime.timePasses(Duration.ofMillis(150)); // started 450 ms after its dispatch
    queue.tell(
        new QueueCommand.WorkerLoad(
            w1.getRef(), "w1", "inc-1", List.of("t1"), false, List.of(), List.of(), List.of()));
    stats(queue);
    // a second worker, for the redelivery at the overrun
    TestProbe<WorkerCommand> w2 = worker(queue, "w2", 1, "square");
    manualTime.timePasses(Duration.ofMillis(450)); // 900 ms after the dispatch, 450 after the start
    expectNoDispatch(queue, w2);
    w1.expectNoMessage(Duration.ZERO);

    manualTime.timePasses(Duration.ofMillis(100)); // its compute overran: back, and cancelled
    assertEquals(t1.withAttempt(2), expectDispatch(w2));
    w1.expectMessage(new WorkerCommand.Cancel(List.of("t1"), "run-1", "lease of 500 ms ran out"));
  }

  @Test
  void anOverrunLeaseIsRedeliveredAndTheLateResultDropped() {
    ActorRef<QueueCommand> queue = spawnQueue("prover.queue.lease-per-type.square = 500ms");
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> slow = worker(queue, "slow", 1, "square");
    queue.tell(new Enqueue(List.of(square("t1", "f1")), flow.getRef()));
    TaskEnvelope first = expectDispatch(slow);
    TestProbe<WorkerCommand> fast = worker(queue, "fast", 1, "square");
    manualTime.timePasses(
        Duration.ofMillis(499)); // lease checks every 50 ms: the lease has not run out yet
    expectNoDispatch(queue, fast);
    expectNoDispatch(queue, slow);

    manualTime.timePasses(
        Duration.ofMillis(51)); // the lease has run out, and a lease check has come since
    TaskEnvelope second = expectDispatch(fast);
    assertEquals(first.withAttempt(2), second);
    // the hung worker is told to stop it
    slow.expectMessage(new WorkerCommand.Cancel(List.of("t1"), "run-1", "lease of 500 ms ran out"));
    succeed(queue, "fast", second);
    flow.expectMessage(succeeded(second, "fast"));

    succeed(queue, "slow", first);
    expectNoOutcome(queue, flow);
    expectNoDispatch(queue, slow);
    QueueStats stats = stats(queue);
    assertEquals(1, stats.unknownResults());
    assertEquals(new QueueStats.TypeStats(0, 0, 1, 0, 1, 0, 0, 0, 0, 1), stats.of("square"));
  }

  @Test
  void aFailingTaskIsRetriedUpToMaxAttemptsThenFailsItsFlow() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 1, "square");
    queue.tell(new Enqueue(List.of(square("t1", "f1")), flow.getRef()));
    for (int attempt = 1; attempt <= 3; attempt++) {
      TaskEnvelope task = expectDispatch(w1);
      assertEquals(attempt, task.attempt());
      queue.tell(
          new TaskFailed(
              "w1",
              "inc-1",
              "t1",
              "run-1",
              "square",
              attempt,
              "prover ran out of memory " + attempt,
              true));
      if (attempt < 3) {
        // backoff 20 ms doubling (max 100 ms), + up to 20 % jitter: 20-24 ms, then 40-48 ms
        long backoff = 20L << (attempt - 1);
        expectNoOutcome(queue, flow);
        manualTime.timePasses(Duration.ofMillis(backoff - 1));
        expectNoDispatch(queue, w1);
        manualTime.timePasses(Duration.ofMillis(backoff / 5 + 2));
      }
    }
    flow.expectMessage(
        new TaskOutcome.Failed(
            "t1",
            "f1",
            "run-1",
            "square",
            3,
            "prover ran out of memory 3 (3 of 3 attempts and 0 of 10 worker losses spent)"));
    manualTime.timePasses(Duration.ofSeconds(1)); // no backoff runs after the last attempt
    expectNoDispatch(queue, w1);
    QueueStats.TypeStats stats = stats(queue).of("square");
    assertEquals(2, stats.retried());
    assertEquals(1, stats.failed());
    assertEquals(0, stats.pending() + stats.inFlight());
  }

  @Test
  void aNonRetryableFailureFailsTheFlowAtOnce() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 1, "square");
    queue.tell(new Enqueue(List.of(square("t1", "f1")), flow.getRef()));
    expectDispatch(w1);
    queue.tell(
        new TaskFailed("w1", "inc-1", "t1", "run-1", "square", 1, "proof does not verify", false));
    flow.expectMessage(
        new TaskOutcome.Failed("t1", "f1", "run-1", "square", 1, "proof does not verify"));
    manualTime.timePasses(Duration.ofSeconds(1)); // no retry comes due
    expectNoDispatch(queue, w1);
    assertEquals(0, stats(queue).of("square").retried());
  }

  @Test
  void aResultForAnUnknownTaskIsCountedAndTheQueueGoesOn() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 1, "square");
    queue.tell(new TaskSucceeded("w1", "inc-1", "made-up", "run-1", "square", 1, Num.of(1)));
    queue.tell(
        new TaskSucceeded("stranger", "inc-7", "made-up-too", "run-1", "square", 1, Num.of(1)));
    w1.awaitAssert(
        () -> {
          assertEquals(2, stats(queue).unknownResults());
          return null;
        });

    queue.tell(new Enqueue(List.of(square("t1", "f1")), flow.getRef()));
    TaskEnvelope task = expectDispatch(w1);
    succeed(queue, "w1", task);
    flow.expectMessage(succeeded(task, "w1"));
    expectNoOutcome(queue, flow);
  }

  @Test
  void cancellingAFlowDropsItsPendingTasks() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flowA = testKit.createTestProbe(TaskOutcome.class);
    TestProbe<TaskOutcome> flowB = testKit.createTestProbe(TaskOutcome.class);
    queue.tell(
        new Enqueue(
            List.of(square("a1", "fa"), square("a2", "fa"), square("a3", "fa")), flowA.getRef()));
    queue.tell(new Enqueue(List.of(square("b1", "fb")), flowB.getRef()));
    queue.tell(new CancelFlow("fa"));
    assertEquals(1, stats(queue).of("square").pending());

    TestProbe<WorkerCommand> w1 = worker(queue, "w1", 4, "square");
    TaskEnvelope task = expectDispatch(w1);
    assertEquals(square("b1", "fb"), task);
    expectNoDispatch(queue, w1);
    succeed(queue, "w1", task);
    flowB.expectMessage(succeeded(task, "w1"));
    expectNoOutcome(queue, flowA);
  }

  @Test
  void tasksForOneWorkerTravelTogetherAndABatchOfReportsIsHandledAsOne() {
    ActorRef<QueueCommand> queue = spawnQueue();
    TestProbe<TaskOutcome> flow = testKit.createTestProbe(TaskOutcome.class);
    List<TaskEnvelope> tasks = List.of(square("b1", "fb"), square("b2", "fb"), square("b3", "fb"));
    queue.tell(new Enqueue(tasks, flow.getRef()));
    TestProbe<WorkerCommand> worker = worker(queue, "wb", 3, "square");

    WorkerCommand.DispatchAll batch = worker.expectMessageClass(WorkerCommand.DispatchAll.class);
    assertEquals(tasks, batch.tasks(), "one message with the three tasks, in queue order");

    queue.tell(
        new QueueCommand.Reports(
            List.of(
                new TaskSucceeded("wb", "inc-1", "b1", "run-1", "square", 1, Num.of(49)),
                new TaskSucceeded("wb", "inc-1", "b3", "run-1", "square", 1, Num.of(49))),
            List.of(new TaskFailed("wb", "inc-1", "b2", "run-1", "square", 1, "boom", false)),
            List.of()));
    assertEquals(succeeded(tasks.get(0), "wb"), flow.receiveMessage());
    assertEquals(succeeded(tasks.get(2), "wb"), flow.receiveMessage());
    assertTrue(flow.receiveMessage() instanceof TaskOutcome.Failed);
    QueueStats.TypeStats counts = stats(queue).of("square");
    assertEquals(2, counts.completed());
    assertEquals(1, counts.failed());
  }
}
