package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.protocol.EncodedPayload;
import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerCommand.Dispatch;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Compile;
import dev.pekkoprover.testing.TestTasks.CompileRequest;
import dev.pekkoprover.testing.TestTasks.Keys;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The worker's life cycle and its answers to dispatched tasks, against a probe standing in for the
 * queue.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class WorkerTest {
  // Short restart backoff so that the crash test does not wait the production 200 ms..10 s.
  private final ActorTestKit testKit =
      ActorTestKit.create(
          "worker",
          TestConfig.config(
              """
              prover.worker.restart.min-backoff = 20ms
              prover.worker.cancel-grace = 300ms
              prover.worker.restart.max-backoff = 200ms
              # the tests read the queue probe message by message: no periodic re-announcement in between
              prover.worker.announce-interval = 0s
              """));
  private static final TaskCatalog CATALOG = TaskCatalog.of(TestTasks.all());
  private static final Set<String> UNPREPARED_TYPES =
      Set.of("compile", WorkerRegistrationTask.NAME);
  private static final Set<String> REGISTERED_TYPES = Set.of("compile");
  private static final Set<String> READY_TYPES = Set.of("compile", "square", "add");

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void resetTasks() {
    TestTasks.reset();
  }

  private WorkerSettings settings(String workerId) {
    return WorkerSettings.fromConfig(testKit.system().settings().config(), workerId);
  }

  /** A task for worker {@code w}, to be reported to its queue probe. */
  private static Dispatch dispatch(Spawned w, String taskId, String type, Object payload) {
    return dispatch(w, taskId, type, 1, payload);
  }

  private static Dispatch dispatch(
      Spawned w, String taskId, String type, int attempt, Object payload) {
    return new Dispatch(
        new TaskEnvelope(taskId, "flow-1", "run-1", type, attempt, payload), w.queue().getRef());
  }

  /** A worker under test, its queue probe and the incarnation it announced last. */
  private record Spawned(
      ActorRef<WorkerCommand> worker, TestProbe<QueueCommand> queue, String incarnation) {}

  private Spawned spawnUnprepared(
      WorkerSettings settings, TaskCatalog catalog, ActorRef<WorkerStateChanged> listener) {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerCommand> worker =
        testKit.spawn(
            Worker.create(settings, catalog, queue.getRef(), listener), settings.workerId());
    WorkerServes serves = queue.expectMessageClass(WorkerServes.class);
    assertEquals(worker, serves.worker());
    assertEquals(settings.workerId(), serves.workerId());
    assertEquals(settings.concurrency(), serves.capacity());
    return new Spawned(worker, queue, serves.incarnation());
  }

  /**
   * Registers an Unprepared worker with the test keys and waits until it is Ready serving {@code
   * readyTypes}.
   */
  private void register(Spawned spawned, String workerId, Set<String> readyTypes) {
    spawned
        .worker()
        .tell(
            dispatch(
                spawned, "reg-" + workerId, WorkerRegistrationTask.NAME, new Keys("test-key")));
    TaskSucceeded registered = spawned.queue().expectMessageClass(TaskSucceeded.class);
    assertEquals("reg-" + workerId, registered.taskId());
    assertEquals(new WorkerRegistrationTask.Registered(workerId), registered.result());
    WorkerServes whileRegistered = spawned.queue().expectMessageClass(WorkerServes.class);
    assertEquals(spawned.incarnation(), whileRegistered.incarnation());
    WorkerServes whenReady = spawned.queue().expectMessageClass(WorkerServes.class);
    assertEquals(spawned.incarnation(), whenReady.incarnation());
    assertEquals(readyTypes, whenReady.taskTypes());
  }

  private Spawned readyWorker(String workerId, int concurrency) {
    Spawned spawned =
        spawnUnprepared(settings(workerId).withConcurrency(concurrency), CATALOG, null);
    register(spawned, workerId, READY_TYPES);
    return spawned;
  }

  @Test
  void anUnpreparedWorkerServesOnlyUnpreparedTypes() {
    Spawned w = spawnUnprepared(settings("w1"), CATALOG, null);
    TestProbe<QueueCommand> queue = w.queue();

    w.worker().tell(dispatch(w, "t1", "square", Num.of(3)));
    TaskDeclined declined = queue.expectMessageClass(TaskDeclined.class);
    assertEquals("t1", declined.taskId());
    assertEquals("square", declined.taskType());
    assertEquals(w.incarnation(), declined.incarnation());
    assertTrue(declined.reason().contains("not registered"), declined.reason());

    w.worker().tell(dispatch(w, "t2", "compile", new CompileRequest("c")));
    TaskSucceeded compiled = queue.expectMessageClass(TaskSucceeded.class);
    assertEquals("t2", compiled.taskId());
    assertEquals(new Keys("test-key"), compiled.result());
    assertEquals(List.of(new TestTasks.Run("compile", 0, "w1")), List.copyOf(TestTasks.runs));
  }

  @Test
  void theFirstAnnouncementNamesOnlyTheUnpreparedTypes() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    testKit.spawn(Worker.create(settings("w1b"), CATALOG, queue.getRef(), null));
    assertEquals(UNPREPARED_TYPES, queue.expectMessageClass(WorkerServes.class).taskTypes());
  }

  @Test
  void registrationPreparesTheRegularTypesThenTheWorkerIsReady() {
    TestProbe<WorkerStateChanged> listener = testKit.createTestProbe();
    TestProbe<WorkerStateChanged> events = testKit.createTestProbe();
    testKit
        .system()
        .eventStream()
        .tell(new EventStream.Subscribe<>(WorkerStateChanged.class, events.getRef()));
    Spawned w = spawnUnprepared(settings("w2"), CATALOG, listener.getRef());
    TestProbe<QueueCommand> queue = w.queue();

    w.worker().tell(dispatch(w, "reg-1", WorkerRegistrationTask.NAME, new Keys("test-key")));
    TaskSucceeded registered = queue.expectMessageClass(TaskSucceeded.class);
    assertEquals(new WorkerRegistrationTask.Registered("w2"), registered.result());
    WorkerServes whileRegistered = queue.expectMessageClass(WorkerServes.class);
    assertEquals(REGISTERED_TYPES, whileRegistered.taskTypes());
    WorkerServes whenReady = queue.expectMessageClass(WorkerServes.class);
    assertEquals(READY_TYPES, whenReady.taskTypes());
    assertEquals(w.incarnation(), whenReady.incarnation());
    assertEquals(List.of("square w2", "add w2"), List.copyOf(TestTasks.prepares));

    List<WorkerState> lifeCycle =
        List.of(WorkerState.UNPREPARED, WorkerState.REGISTERED, WorkerState.READY);
    for (WorkerState expected : lifeCycle) {
      assertEquals(
          new WorkerStateChanged("w2", w.incarnation(), expected), listener.receiveMessage());
    }
    List<WorkerState> published = new ArrayList<>();
    events.fishForMessage(
        Duration.ofSeconds(3),
        changed -> {
          if (!changed.workerId().equals("w2")) {
            return FishingOutcomes.continueAndIgnore();
          }
          published.add(changed.state());
          return changed.state() == WorkerState.READY
              ? FishingOutcomes.complete()
              : FishingOutcomes.continueAndIgnore();
        });
    assertEquals(lifeCycle, published);

    // the prepared state reaches compute: Square fails without its prepared key
    w.worker().tell(dispatch(w, "sq-1", "square", Num.of(7)));
    assertEquals(Num.of(49), queue.expectMessageClass(TaskSucceeded.class).result());

    w.worker().tell(dispatch(w, "reg-2", WorkerRegistrationTask.NAME, new Keys("test-key")));
    TaskDeclined again = queue.expectMessageClass(TaskDeclined.class);
    assertEquals("reg-2", again.taskId());
    assertTrue(again.reason().contains("already registered"), again.reason());
    assertEquals(List.of("square w2", "add w2"), List.copyOf(TestTasks.prepares));
  }

  /**
   * A regular type whose prepare blocks until the test releases it, and records the thread it ran
   * on.
   */
  private static final class SlowPrepare extends NamedTaskType<Num, Num> {
    private SlowPrepare() {
      super("slow", Num.class, Num.class);
    }

    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    volatile String prepareThread;

    @Override
    public Object prepare(TaskContext context) throws InterruptedException {
      prepareThread = Thread.currentThread().getName();
      entered.countDown();
      if (!release.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("slow prepare was never released");
      }
      return "slow-state";
    }

    @Override
    public Num compute(Num input, TaskContext context) {
      return new Num(input.value(), context.prepared(String.class));
    }
  }

  @Test
  void prepareRunsOffTheActorThread() throws InterruptedException {
    SlowPrepare slow = new SlowPrepare();
    Spawned w = spawnUnprepared(settings("w3"), TaskCatalog.of(slow, Compile.INSTANCE), null);
    TestProbe<QueueCommand> queue = w.queue();

    w.worker().tell(dispatch(w, "reg-3", WorkerRegistrationTask.NAME, new Keys("test-key")));
    queue.expectMessageClass(TaskSucceeded.class);
    assertEquals(REGISTERED_TYPES, queue.expectMessageClass(WorkerServes.class).taskTypes());
    assertTrue(slow.entered.await(10, TimeUnit.SECONDS), "prepare never started");

    // while prepare blocks, the worker answers
    w.worker().tell(dispatch(w, "c-3", "compile", new CompileRequest("c")));
    TaskSucceeded compiled = queue.expectMessageClass(TaskSucceeded.class);
    assertEquals("c-3", compiled.taskId());
    w.worker().tell(dispatch(w, "s-3", "slow", Num.of(1)));
    assertTrue(queue.expectMessageClass(TaskDeclined.class).reason().contains("still preparing"));

    slow.release.countDown();
    assertEquals(
        Set.of("compile", "slow"), queue.expectMessageClass(WorkerServes.class).taskTypes());
    assertTrue(slow.prepareThread.contains("prover.worker.compute-dispatcher"), slow.prepareThread);
    w.worker().tell(dispatch(w, "s-4", "slow", Num.of(2)));
    assertEquals(new Num(2, "slow-state"), queue.expectMessageClass(TaskSucceeded.class).result());
  }

  @Test
  void aCrashRestartsTheWorkerUnpreparedUnderANewIncarnation() {
    TestProbe<WorkerStateChanged> listener = testKit.createTestProbe();
    Spawned first = spawnUnprepared(settings("w4").withConcurrency(2), CATALOG, listener.getRef());
    register(first, "w4", READY_TYPES);
    TestProbe<QueueCommand> queue = first.queue();

    // one task held on the worker when it crashes: its result must not be reported by the next
    // incarnation
    first.worker().tell(dispatch(first, "held", "square", new Num(3, "hold:w4")));
    first.worker().tell(dispatch(first, "crash", "square", new Num(5, "crash-once:w4")));

    // before it goes down it tells the queue so, naming the task that crashed it: its tasks are put
    // back without
    // waiting out the restart backoff, and only the culprit is charged
    QueueCommand.WorkerGoingDown down =
        queue.expectMessageClass(QueueCommand.WorkerGoingDown.class);
    assertEquals(List.of("crash"), down.causedBy());
    assertEquals(first.incarnation(), down.incarnation());
    assertTrue(down.reason().contains("crash"), down.reason());
    WorkerServes restarted = queue.expectMessageClass(WorkerServes.class);
    assertNotEquals(first.incarnation(), restarted.incarnation());
    assertEquals(UNPREPARED_TYPES, restarted.taskTypes());
    assertEquals(first.worker(), restarted.worker());
    TestTasks.release("w4");
    queue.expectNoMessage(Duration.ofMillis(300));

    Spawned second = new Spawned(first.worker(), queue, restarted.incarnation());
    register(second, "w4", READY_TYPES);
    assertEquals(
        List.of("square w4", "add w4", "square w4", "add w4"), List.copyOf(TestTasks.prepares));

    second.worker().tell(dispatch(second, "crash", "square", 2, new Num(5, "crash-once:w4")));
    TaskSucceeded redone = queue.expectMessageClass(TaskSucceeded.class);
    assertEquals("crash", redone.taskId());
    assertEquals(2, redone.attempt());
    assertEquals(second.incarnation(), redone.incarnation());
    assertEquals(Num.of(25), redone.result());

    List<WorkerState> states = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      states.add(listener.receiveMessage().state());
    }
    assertEquals(
        List.of(
            WorkerState.UNPREPARED,
            WorkerState.REGISTERED,
            WorkerState.READY,
            WorkerState.UNPREPARED,
            WorkerState.REGISTERED,
            WorkerState.READY),
        states);
  }

  /** A regular type whose first prepare throws. */
  private static final class PrepareFailsOnce extends NamedTaskType<Num, Num> {
    private PrepareFailsOnce() {
      super("fragile", Num.class, Num.class);
    }

    final AtomicInteger prepares = new AtomicInteger();

    @Override
    public Object prepare(TaskContext context) {
      if (prepares.getAndIncrement() == 0) {
        throw new IllegalStateException("circuit file unreadable");
      }
      return null;
    }

    @Override
    public Num compute(Num input, TaskContext context) {
      return input;
    }
  }

  @Test
  void aFailingPrepareRestartsTheWorkerUnprepared() {
    PrepareFailsOnce fragile = new PrepareFailsOnce();
    Spawned first = spawnUnprepared(settings("w9"), TaskCatalog.of(fragile), null);
    TestProbe<QueueCommand> queue = first.queue();

    first
        .worker()
        .tell(dispatch(first, "reg-9", WorkerRegistrationTask.NAME, new Keys("test-key")));
    queue.expectMessageClass(TaskSucceeded.class);
    assertEquals(Set.of(), queue.expectMessageClass(WorkerServes.class).taskTypes());
    QueueCommand.WorkerGoingDown down =
        queue.expectMessageClass(QueueCommand.WorkerGoingDown.class);
    assertEquals(List.of(), down.causedBy(), "no task caused it");
    assertTrue(down.reason().contains("circuit file unreadable"), down.reason());
    WorkerServes restarted = queue.expectMessageClass(WorkerServes.class);
    assertNotEquals(first.incarnation(), restarted.incarnation());
    assertEquals(Set.of(WorkerRegistrationTask.NAME), restarted.taskTypes());

    register(new Spawned(first.worker(), queue, restarted.incarnation()), "w9", Set.of("fragile"));
    assertEquals(2, fragile.prepares.get());
  }

  @Test
  void aBadPayloadFailsItsTaskForGoodAndTheWorkerGoesOn() {
    Spawned w = readyWorker("w5", 1);
    TestProbe<QueueCommand> queue = w.queue();

    w.worker().tell(dispatch(w, "bad-1", "square", new EncodedPayload("{not json")));
    TaskFailed failed = queue.expectMessageClass(TaskFailed.class);
    assertFalse(failed.retryable());
    assertEquals("bad-1", failed.taskId());
    assertTrue(failed.reason().contains("bad-1"), failed.reason());
    assertTrue(failed.reason().contains("square"), failed.reason());
    assertTrue(failed.reason().contains(Num.class.getName()), failed.reason());

    w.worker().tell(dispatch(w, "bad-2", "square", "not a Num"));
    TaskFailed wrongType = queue.expectMessageClass(TaskFailed.class);
    assertFalse(wrongType.retryable());
    assertTrue(wrongType.reason().contains("java.lang.String"), wrongType.reason());

    w.worker().tell(dispatch(w, "good-1", "square", Num.of(4)));
    assertEquals(Num.of(16), queue.expectMessageClass(TaskSucceeded.class).result());
    w.worker()
        .tell(
            dispatch(w, "good-2", "square", new EncodedPayload("{\"value\": 6, \"mode\": \"\"}")));
    TaskSucceeded decoded = queue.expectMessageClass(TaskSucceeded.class);
    assertEquals("good-2", decoded.taskId());
    assertEquals(Num.of(36), decoded.result());
  }

  @Test
  void aWorkerNeverRunsMoreTasksThanItsConcurrencyAndKeepsOneHandedBeyondItForTheNextFreeSlot() {
    Spawned w = readyWorker("w6", 2);
    TestProbe<QueueCommand> queue = w.queue();

    w.worker().tell(dispatch(w, "h1", "square", new Num(2, "hold:w6")));
    w.worker().tell(dispatch(w, "h2", "square", new Num(3, "hold:w6")));
    // in a cluster two queue entities may each hand over the last free slot: the worker keeps the
    // task, no decline
    w.worker().tell(dispatch(w, "h3", "square", new Num(4, "hold:w6")));
    queue.expectNoMessage(Duration.ofMillis(200));

    TestTasks.release("w6");
    assertEquals(Set.of("h1", "h2", "h3"), succeededIds(queue, 3));
    assertEquals(2, TestTasks.maxConcurrent.get("w6"));

    // capacity is free again
    w.worker().tell(dispatch(w, "h4", "square", Num.of(5)));
    assertEquals(Num.of(25), queue.expectMessageClass(TaskSucceeded.class).result());
  }

  /**
   * The ids of the next {@code count} successes, reported alone or together in a Reports message.
   */
  private static Set<String> succeededIds(TestProbe<QueueCommand> queue, int count) {
    Set<String> ids = new java.util.HashSet<>();
    while (ids.size() < count) {
      QueueCommand message = queue.receiveMessage();
      if (message instanceof TaskSucceeded success) {
        ids.add(success.taskId());
      } else if (message instanceof QueueCommand.Reports reports) {
        reports.succeeded().forEach(success -> ids.add(success.taskId()));
      } else {
        throw new AssertionError("expected results, got " + message);
      }
    }
    return ids;
  }

  /** An inline type whose compute throws what its input names. */
  private static final class InlineThrower extends NamedTaskType<String, String> {
    private InlineThrower() {
      super("inline", String.class, String.class);
    }

    @Override
    public boolean isUnprepared() {
      return true;
    }

    @Override
    public boolean runsInline() {
      return true;
    }

    @Override
    public String compute(String input, TaskContext context) {
      return switch (input) {
        case "fail" -> throw new IllegalArgumentException("inline failure");
        case "permanent" -> throw new PermanentTaskFailure("inline bad input");
        default -> input + " on " + Thread.currentThread().getName();
      };
    }
  }

  @Test
  void computeFailuresAreReportedRetryableUnlessPermanent() {
    Spawned w = readyWorker("w7", 1);
    TestProbe<QueueCommand> queue = w.queue();

    w.worker().tell(dispatch(w, "f1", "square", new Num(3, "fail")));
    TaskFailed failed = queue.expectMessageClass(TaskFailed.class);
    assertEquals("f1", failed.taskId());
    assertTrue(failed.retryable());
    assertEquals(
        "java.lang.IllegalStateException: simulated failure of square on 3", failed.reason());

    w.worker()
        .tell(dispatch(w, "f2", "add", new TestTasks.Pair(new Num(1, "permanent"), Num.of(2))));
    TaskFailed permanent = queue.expectMessageClass(TaskFailed.class);
    assertEquals("f2", permanent.taskId());
    assertFalse(permanent.retryable());
    assertEquals("simulated bad input 1", permanent.reason());

    // the worker still computes after both failures
    w.worker().tell(dispatch(w, "f3", "add", new TestTasks.Pair(Num.of(1), Num.of(2))));
    assertEquals(Num.of(3), queue.expectMessageClass(TaskSucceeded.class).result());
  }

  @Test
  void inlineComputeFailuresAreReportedTheSameWay() {
    Spawned w = spawnUnprepared(settings("w8"), TaskCatalog.of(new InlineThrower()), null);
    TestProbe<QueueCommand> queue = w.queue();

    w.worker().tell(dispatch(w, "i1", "inline", "fail"));
    TaskFailed failed = queue.expectMessageClass(TaskFailed.class);
    assertTrue(failed.retryable());
    assertEquals("java.lang.IllegalArgumentException: inline failure", failed.reason());

    w.worker().tell(dispatch(w, "i2", "inline", "permanent"));
    TaskFailed permanent = queue.expectMessageClass(TaskFailed.class);
    assertFalse(permanent.retryable());
    assertEquals("inline bad input", permanent.reason());

    w.worker().tell(dispatch(w, "i3", "inline", "ok"));
    String result = (String) queue.expectMessageClass(TaskSucceeded.class).result();
    assertFalse(result.contains("compute-dispatcher"), result);
  }

  @Test
  void repeatsItsAnnouncementSoThatAQueueThatLostItsStateLearnsItAgain() {
    WorkerSettings settings =
        WorkerSettings.fromConfig(
            com.typesafe.config.ConfigFactory.parseString("prover.worker.announce-interval = 100ms")
                .withFallback(testKit.system().settings().config()),
            "w-announcing");
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    testKit.spawn(Worker.create(settings, CATALOG, queue.getRef(), null), "w-announcing");
    WorkerServes first = queue.expectMessageClass(WorkerServes.class);
    WorkerServes again =
        queue.expectMessageClass(WorkerServes.class, java.time.Duration.ofSeconds(3));
    assertEquals(first, again, "the same incarnation, types and capacity");
  }

  @Test
  void aResultThatCannotCrossANodeFailsItsTaskForGood() {
    Spawned w = spawnUnprepared(settings("w-builder"), TaskCatalog.of(new BuilderResult()), null);
    w.worker().tell(dispatch(w, "r1", "builder", "x"));
    TaskFailed failed = w.queue().expectMessageClass(TaskFailed.class);
    assertFalse(failed.retryable());
    assertTrue(failed.reason().contains("java.lang.StringBuilder"), failed.reason());
    assertTrue(failed.reason().contains("CborSerializable"), "says what to do: " + failed.reason());
  }

  @Test
  void eachReportGoesToTheQueueThatDispatchedItsTask() {
    // in a cluster each task type's queue is an entity of its own; a worker reports straight to the
    // dispatcher
    Spawned w = readyWorker("w-reply", 4);
    TestProbe<QueueCommand> squares = testKit.createTestProbe();
    TestProbe<QueueCommand> adds = testKit.createTestProbe();
    w.worker()
        .tell(
            new Dispatch(
                new TaskEnvelope("sq", "flow-1", "run-1", "square", 1, Num.of(6)),
                squares.getRef()));
    w.worker()
        .tell(
            new WorkerCommand.DispatchAll(
                List.of(
                    new TaskEnvelope(
                        "a1",
                        "flow-1",
                        "run-1",
                        "add",
                        1,
                        new TestTasks.Pair(Num.of(1), Num.of(2))),
                    new TaskEnvelope("x1", "flow-1", "run-1", "no-such-type", 1, Num.of(1))),
                adds.getRef()));

    TaskSucceeded square = squares.expectMessageClass(TaskSucceeded.class);
    assertEquals("sq", square.taskId());
    assertEquals(Num.of(36), square.result());
    // the decline is made at once, the add's result comes back from the compute dispatcher: one or
    // two messages
    List<String> succeededAdds = new ArrayList<>();
    List<String> declinedAdds = new ArrayList<>();
    while (succeededAdds.size() + declinedAdds.size() < 2) {
      QueueCommand report = adds.receiveMessage();
      if (report instanceof QueueCommand.Reports reports) {
        reports.succeeded().forEach(r -> succeededAdds.add(r.taskId()));
        reports.declined().forEach(r -> declinedAdds.add(r.taskId()));
        assertTrue(reports.failed().isEmpty(), reports.toString());
      } else if (report instanceof TaskSucceeded succeeded) {
        succeededAdds.add(succeeded.taskId());
      } else if (report instanceof TaskDeclined declined) {
        declinedAdds.add(declined.taskId());
      } else {
        throw new AssertionError("not a report of the add tasks: " + report);
      }
    }
    assertEquals(List.of("a1"), succeededAdds);
    assertEquals(List.of("x1"), declinedAdds);
    squares.expectNoMessage(Duration.ofMillis(100));
    w.queue().expectNoMessage(Duration.ZERO); // the worker's own queue ref got none of them
  }

  @Test
  void onceTheEntityThatHandedOutATaskStoppedItsReportGoesThroughTheWorkersQueue() {
    // a queue node leaves: the entity's shard is handed off and the entity starts anew elsewhere,
    // where only the worker's queue (its node's front) can route the report
    Spawned w = readyWorker("w-moved", 2);
    TestProbe<QueueCommand> entity = testKit.createTestProbe();
    w.worker()
        .tell(
            new Dispatch(
                new TaskEnvelope("held", "flow-1", "run-1", "square", 1, new Num(5, "hold:moved")),
                entity.getRef()));
    entity.awaitAssert(
        () -> {
          assertEquals(
              List.of(new TestTasks.Run("square", 5, "w-moved")), List.copyOf(TestTasks.runs));
          return null;
        });
    entity.stop();
    // at once, not at the next periodic announcement: who it is, then what it holds
    WorkerServes announced = w.queue().expectMessageClass(WorkerServes.class);
    assertEquals(w.incarnation(), announced.incarnation());
    QueueCommand.WorkerLoad load = w.queue().expectMessageClass(QueueCommand.WorkerLoad.class);
    assertEquals(List.of("held"), load.heldTaskIds());
    assertEquals(List.of("held"), load.orphanedTaskIds(), "for the entity's new life to hand back");

    TestTasks.release("moved");
    TaskSucceeded result =
        (TaskSucceeded)
            w.queue()
                .fishForMessage(
                    Duration.ofSeconds(3),
                    m ->
                        m instanceof TaskSucceeded
                            ? FishingOutcomes.complete()
                            : FishingOutcomes.continueAndIgnore())
                .get(0);
    assertEquals("held", result.taskId());
    assertEquals(Num.of(25), result.result());

    // another task with that id (task ids start again with each sequencer run): computed
    TestProbe<QueueCommand> other = testKit.createTestProbe();
    w.worker()
        .tell(
            new Dispatch(
                new TaskEnvelope("held", "flow-2", "run-1", "square", 1, new Num(7, "hold:moved")),
                other.getRef()));
    assertEquals(Num.of(49), other.expectMessageClass(TaskSucceeded.class).result());
    assertEquals(2, TestTasks.runs.size(), TestTasks.runs.toString());

    // the entity's new life hands it out again before that result reached it: the same result,
    // not a second compute
    TestProbe<QueueCommand> anew = testKit.createTestProbe();
    w.worker()
        .tell(
            new Dispatch(
                new TaskEnvelope("held", "flow-1", "run-1", "square", 1, new Num(5, "hold:moved")),
                anew.getRef()));
    assertEquals(Num.of(25), anew.expectMessageClass(TaskSucceeded.class).result());
    assertEquals(2, TestTasks.runs.size(), "not computed again: " + TestTasks.runs);
  }

  @Test
  void anEntityThatSaysItStopsAsItsNodeShutsDownIsHandledAsStoppedOnce() {
    // a queue node's CoordinatedShutdown hands its shards off: Pekko sends no death-watch
    // notification until the node is removed, so the entity says it stops, and the worker acts on
    // that at once
    Spawned w = readyWorker("w-told", 1);
    TestProbe<QueueCommand> entity = testKit.createTestProbe();
    TestProbe<QueueCommand> stranger = testKit.createTestProbe();
    w.worker()
        .tell(
            new WorkerCommand.DispatchAll(
                List.of(
                    new TaskEnvelope(
                        "told", "flow-1", "run-1", "square", 1, new Num(4, "hold:told")),
                    new TaskEnvelope(
                        "next", "flow-1", "run-1", "square", 1, new Num(5, "hold:next"))),
                entity.getRef()));
    // another entity's task, which waits too: the last entity the worker heard from is not the
    // stopped one when the waiting task of the stopped one starts
    TestProbe<QueueCommand> other = testKit.createTestProbe();
    w.worker()
        .tell(
            new Dispatch(
                new TaskEnvelope("aside", "flow-2", "run-1", "square", 1, new Num(6, "hold:aside")),
                other.getRef()));
    entity.awaitAssert(
        () -> {
          assertEquals(1, TestTasks.runningNow("w-told"), "one slot: the other tasks wait");
          return null;
        });

    w.worker().tell(new WorkerCommand.QueueEntityStopping(stranger.getRef()));
    w.queue().expectNoMessage(Duration.ofMillis(200)); // it took nothing from that one

    w.worker().tell(new WorkerCommand.QueueEntityStopping(entity.getRef()));
    assertEquals(w.incarnation(), w.queue().expectMessageClass(WorkerServes.class).incarnation());
    QueueCommand.WorkerLoad load = w.queue().expectMessageClass(QueueCommand.WorkerLoad.class);
    assertTrue(load.orphanedTaskIds().contains("told"), "for the entity's new life: " + load);

    // the waiting task starts (it still names the stopped entity) without watching it again
    TestTasks.release("told");
    assertEquals(Num.of(16), w.queue().expectMessageClass(TaskSucceeded.class).result());
    entity.awaitAssert(
        () -> {
          assertEquals(2, TestTasks.runs.size(), "the waiting task started: " + TestTasks.runs);
          return null;
        });
    // the notification at the node's removal: the watch ended, nothing is announced again
    entity.stop();
    w.queue().expectNoMessage(Duration.ofMillis(300));

    TestTasks.release("next");
    assertEquals(
        Num.of(25),
        ((TaskSucceeded)
                w.queue()
                    .fishForMessage(
                        Duration.ofSeconds(3),
                        m ->
                            m instanceof TaskSucceeded
                                ? FishingOutcomes.complete()
                                : FishingOutcomes.continueAndIgnore())
                    .get(0))
            .result());
    entity.expectNoMessage(Duration.ZERO); // every report went through the worker's queue
    TestTasks.release("aside");
    assertEquals(Num.of(36), other.expectMessageClass(TaskSucceeded.class).result());
  }

  @Test
  void aTaskHandedOutAgainWhileHeldIsReportedToTheQueueThatHandedItOutLast() {
    Spawned w = readyWorker("w-again", 2);
    TestProbe<QueueCommand> before = testKit.createTestProbe();
    TestProbe<QueueCommand> now = testKit.createTestProbe();
    TaskEnvelope task =
        new TaskEnvelope("again", "flow-1", "run-1", "square", 1, new Num(6, "hold:again"));
    w.worker().tell(new Dispatch(task, before.getRef()));
    before.awaitAssert(
        () -> {
          assertEquals(1, TestTasks.runs.size());
          return null;
        });
    w.worker().tell(new Dispatch(task, now.getRef())); // the entity that holds it now
    // a task of another flow under the same id (ids start again with each run) is not this one
    TestProbe<QueueCommand> stranger = testKit.createTestProbe();
    w.worker()
        .tell(
            new Dispatch(
                new TaskEnvelope("again", "flow-2", "run-1", "square", 1, Num.of(6)),
                stranger.getRef()));
    assertEquals("again", stranger.expectMessageClass(TaskDeclined.class).taskId());
    TestTasks.release("again");
    assertEquals("again", now.expectMessageClass(TaskSucceeded.class).taskId());
    before.expectNoMessage(Duration.ofMillis(200));
    assertEquals(1, TestTasks.runs.size(), "run once: " + TestTasks.runs);
  }

  @Test
  void aTaskHandedOutAgainIsNoLongerReportedOrphanedWhenItsFirstEntityStops() {
    Spawned w = readyWorker("w-orphans", 2);
    TestProbe<QueueCommand> first = testKit.createTestProbe();
    TestProbe<QueueCommand> anew = testKit.createTestProbe();
    TaskEnvelope kept =
        new TaskEnvelope("kept", "flow-1", "run-1", "square", 1, new Num(2, "hold:orphans"));
    TaskEnvelope again =
        new TaskEnvelope("again", "flow-1", "run-1", "square", 1, new Num(3, "hold:orphans"));
    w.worker().tell(new WorkerCommand.DispatchAll(List.of(kept, again), first.getRef()));
    first.awaitAssert(
        () -> {
          assertEquals(2, TestTasks.runs.size());
          return null;
        });
    w.worker().tell(new Dispatch(again, anew.getRef())); // its new holder
    first.stop();
    QueueCommand.WorkerLoad load =
        (QueueCommand.WorkerLoad)
            w.queue()
                .fishForMessage(
                    Duration.ofSeconds(3),
                    m ->
                        m instanceof QueueCommand.WorkerLoad l && !l.orphanedTaskIds().isEmpty()
                            ? FishingOutcomes.complete()
                            : FishingOutcomes.continueAndIgnore())
                .get(0);
    assertEquals(Set.of("kept", "again"), Set.copyOf(load.heldTaskIds()));
    assertEquals(List.of("kept"), load.orphanedTaskIds(), "again has a queue that holds it");
    TestTasks.release("orphans");
    assertEquals("again", anew.expectMessageClass(TaskSucceeded.class).taskId());
  }

  @Test
  void tasksHandedOverTogetherAreReportedTogether() {
    Spawned w =
        spawnUnprepared(
            settings("w-batch").withConcurrency(4), TaskCatalog.of(new InlineThrower()), null);
    w.worker()
        .tell(
            new WorkerCommand.DispatchAll(
                List.of(
                    new TaskEnvelope("b1", "flow-1", "run-1", "inline", 1, "ok"),
                    new TaskEnvelope("b2", "flow-1", "run-1", "inline", 1, "fail"),
                    new TaskEnvelope("b3", "flow-1", "run-1", "inline", 1, "ok")),
                w.queue().getRef()));
    QueueCommand.Reports reports = w.queue().expectMessageClass(QueueCommand.Reports.class);
    assertEquals(
        List.of("b1", "b3"), reports.succeeded().stream().map(TaskSucceeded::taskId).toList());
    assertEquals(List.of("b2"), reports.failed().stream().map(TaskFailed::taskId).toList());
    // and a lone task is reported on its own, without waiting for company
    w.worker().tell(dispatch(w, "b4", "inline", "ok"));
    assertEquals("b4", w.queue().expectMessageClass(TaskSucceeded.class).taskId());
  }

  @Test
  void inlineTasksBeyondItsSlotsArePrefetchedWorkAndRunAtOnceNoneDeclined() {
    // the queue's inline prefetch hands a worker of one slot more inline tasks than it has slots
    Spawned w =
        spawnUnprepared(
            settings("w-prefetch").withConcurrency(1), TaskCatalog.of(new InlineThrower()), null);
    List<TaskEnvelope> tasks =
        java.util.stream.IntStream.rangeClosed(1, 5)
            .mapToObj(i -> new TaskEnvelope("p" + i, "flow-1", "run-1", "inline", 1, "ok"))
            .toList();
    w.worker().tell(new WorkerCommand.DispatchAll(tasks, w.queue().getRef()));
    QueueCommand.Reports reports = w.queue().expectMessageClass(QueueCommand.Reports.class);
    assertEquals(
        List.of("p1", "p2", "p3", "p4", "p5"),
        reports.succeeded().stream().map(TaskSucceeded::taskId).toList());
    assertTrue(reports.failed().isEmpty());
    assertTrue(reports.declined().isEmpty());
  }

  private static Dispatch dispatchOfRun(
      Spawned w, String runId, String taskId, String type, Object payload) {
    return new Dispatch(
        new TaskEnvelope(taskId, "flow-1", runId, type, 1, payload), w.queue().getRef());
  }

  @Test
  void aCancelledComputeIsInterruptedAndItsSlotServesTheNextTask() {
    Spawned w = readyWorker("w-cancel", 1);
    TestProbe<QueueCommand> queue = w.queue();
    w.worker().tell(dispatch(w, "hung", "square", new Num(2, "hold:never-released")));
    w.worker().tell(dispatch(w, "next", "square", Num.of(3))); // waits for the only slot
    queue.expectNoMessage(Duration.ofMillis(100));

    w.worker().tell(new WorkerCommand.Cancel(List.of("hung"), "run-1", "lease of 500 ms ran out"));
    List<QueueCommand> reports = new ArrayList<>();
    Set<String> succeeded = new java.util.HashSet<>();
    TaskFailed cancelled = null;
    while (cancelled == null || succeeded.isEmpty()) {
      QueueCommand message = queue.receiveMessage(Duration.ofSeconds(5));
      reports.add(message);
      List<TaskFailed> failed =
          message instanceof QueueCommand.Reports r
              ? r.failed()
              : message instanceof TaskFailed f ? List.of(f) : List.of();
      List<TaskSucceeded> done =
          message instanceof QueueCommand.Reports r
              ? r.succeeded()
              : message instanceof TaskSucceeded ok ? List.of(ok) : List.of();
      for (TaskFailed f : failed) {
        cancelled = f;
      }
      done.forEach(ok -> succeeded.add(ok.taskId()));
    }
    assertEquals("hung", cancelled.taskId());
    assertTrue(
        cancelled.reason().contains("cancelled: lease of 500 ms ran out"), cancelled.reason());
    assertEquals(Set.of("next"), succeeded);
  }

  /**
   * A Ready worker of two slots whose cancelled computes may take 10 s to return before it
   * restarts: longer than any test here waits, so that a slow test machine cannot end the grace.
   */
  private Spawned patientWorker(String workerId) {
    WorkerSettings patient =
        WorkerSettings.fromConfig(
                ConfigFactory.parseString("prover.worker.cancel-grace = 10s")
                    .withFallback(testKit.system().settings().config()),
                workerId)
            .withConcurrency(2);
    Spawned spawned = spawnUnprepared(patient, CATALOG, null);
    register(spawned, workerId, READY_TYPES);
    return spawned;
  }

  /** Until one compute of this worker runs (its thread has entered the task). */
  private void awaitRunning(String workerId) {
    testKit
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              assertEquals(1, TestTasks.runningNow(workerId));
              return null;
            });
  }

  /** Every report in this message, alone or in a batch. */
  private static List<QueueCommand> reportsIn(QueueCommand message) {
    if (message instanceof QueueCommand.Reports r) {
      List<QueueCommand> all = new ArrayList<>(r.succeeded());
      all.addAll(r.failed());
      all.addAll(r.declined());
      return all;
    }
    return List.of(message);
  }

  /**
   * Receives reports (alone or in batches, 5 s each) until one of {@code kind} for {@code taskId},
   * which it returns; every report received, that batch's in full, is added to {@code seen}.
   */
  private static <T extends QueueCommand> T awaitReport(
      TestProbe<QueueCommand> queue, Class<T> kind, String taskId, List<QueueCommand> seen) {
    while (true) {
      List<QueueCommand> batch = reportsIn(queue.receiveMessage(Duration.ofSeconds(5)));
      seen.addAll(batch);
      for (QueueCommand report : batch) {
        if (kind.isInstance(report) && taskId.equals(taskIdOf(report))) {
          return kind.cast(report);
        }
      }
    }
  }

  private static String taskIdOf(QueueCommand report) {
    if (report instanceof TaskSucceeded ok) {
      return ok.taskId();
    }
    if (report instanceof TaskFailed failed) {
      return failed.taskId();
    }
    return report instanceof TaskDeclined declined ? declined.taskId() : null;
  }

  @Test
  void aTaskHandedBackWhileItsCancelledComputeRunsStartsAfterItWithoutReportingItsFailure() {
    // The queue's lease on "t" ran out: it told the worker to cancel it and, the worker having a
    // free slot, handed attempt 2 to the same worker. The interrupted compute throws only later.
    Spawned w = patientWorker("w-handed-back");
    TestProbe<QueueCommand> queue = w.queue();
    Num slow = new Num(5, "hold-once-slow:w-handed-back");
    w.worker().tell(dispatch(w, "t", "square", 1, slow));
    awaitRunning("w-handed-back");
    w.worker().tell(new WorkerCommand.Cancel(List.of("t"), "run-1", "lease of 500 ms ran out"));
    w.worker().tell(dispatch(w, "t", "square", 2, slow));
    // handled in order: once "x" (a type it does not serve) is declined, attempt 2 has been seen
    w.worker().tell(dispatch(w, "x", "unknown-type", Num.of(1)));
    List<QueueCommand> reports = new ArrayList<>();
    awaitReport(queue, TaskDeclined.class, "x", reports);
    TestTasks.release("w-handed-back-after"); // the interrupted compute throws now
    TaskSucceeded done = awaitReport(queue, TaskSucceeded.class, "t", reports);
    assertEquals(2, done.attempt(), "the attempt the queue holds it to");
    assertEquals(Num.of(25), done.result());
    assertTrue(
        reports.stream().noneMatch(r -> r instanceof TaskFailed),
        "the cancelled attempt's failure is not reported: " + reports);
    assertEquals(
        2,
        TestTasks.runs.stream()
            .filter(r -> r.value() == 5 && r.workerId().equals("w-handed-back"))
            .count(),
        "attempt 1, interrupted, then attempt 2");
  }

  @Test
  void aLaterAttemptCancelledBeforeItsTurnIsNotStartedAndTheFailureAnswersForIt() {
    // as above, but the queue cancels attempt 2 too (its flow was cancelled) before the
    // interrupted compute returns: attempt 2 never starts, and the failure is reported under
    // attempt 2, the one the queue holds this worker to, so that the queue lets go of it
    Spawned w = patientWorker("w-cancelled-again");
    TestProbe<QueueCommand> queue = w.queue();
    Num slow = new Num(7, "hold-once-slow:w-cancelled-again");
    w.worker().tell(dispatch(w, "t", "square", 1, slow));
    awaitRunning("w-cancelled-again");
    w.worker().tell(new WorkerCommand.Cancel(List.of("t"), "run-1", "lease of 500 ms ran out"));
    w.worker().tell(dispatch(w, "t", "square", 2, slow));
    w.worker().tell(new WorkerCommand.Cancel(List.of("t"), "run-1", "flow flow-1 is over"));
    w.worker().tell(dispatch(w, "x", "unknown-type", Num.of(1)));
    List<QueueCommand> reports = new ArrayList<>();
    awaitReport(queue, TaskDeclined.class, "x", reports);
    TestTasks.release("w-cancelled-again-after");
    TaskFailed failed = awaitReport(queue, TaskFailed.class, "t", reports);
    assertEquals(2, failed.attempt());
    assertTrue(failed.reason().contains("cancelled"), failed.reason());
    assertEquals(
        1,
        TestTasks.runs.stream()
            .filter(r -> r.value() == 7 && r.workerId().equals("w-cancelled-again"))
            .count(),
        "attempt 2 never ran");
  }

  @Test
  void aTaskHandedAgainWhileItRunsUncancelledReportsUnderTheLaterAttempt() {
    // the queue found it missing (its reports late) and handed it again: the compute that runs
    // answers for attempt 2
    Spawned w = patientWorker("w-again-uncancelled");
    TestProbe<QueueCommand> queue = w.queue();
    w.worker().tell(dispatch(w, "t", "square", 1, new Num(8, "hold:w-again-uncancelled")));
    awaitRunning("w-again-uncancelled");
    w.worker().tell(dispatch(w, "t", "square", 2, new Num(8, "hold:w-again-uncancelled")));
    w.worker().tell(dispatch(w, "x", "unknown-type", Num.of(1)));
    List<QueueCommand> reports = new ArrayList<>();
    awaitReport(queue, TaskDeclined.class, "x", reports);
    TestTasks.release("w-again-uncancelled");
    TaskSucceeded done = awaitReport(queue, TaskSucceeded.class, "t", reports);
    assertEquals(2, done.attempt());
    assertEquals(Num.of(64), done.result());
  }

  @Test
  void aDrainingWorkerDeclinesATaskHandedBackWhileItsCancelledComputeReturns() {
    Spawned w = patientWorker("w-drain-again");
    TestProbe<QueueCommand> queue = w.queue();
    TestProbe<WorkerCommand.Drained> drained = testKit.createTestProbe();
    Num slow = new Num(9, "hold-once-slow:w-drain-again");
    w.worker().tell(dispatch(w, "t", "square", 1, slow));
    awaitRunning("w-drain-again");
    w.worker().tell(new WorkerCommand.Cancel(List.of("t"), "run-1", "lease of 500 ms ran out"));
    w.worker().tell(new WorkerCommand.Drain(10_000, drained.getRef()));
    w.worker().tell(dispatch(w, "t", "square", 2, slow));
    TaskDeclined declined = awaitReport(queue, TaskDeclined.class, "t", new ArrayList<>());
    assertEquals(2, declined.attempt(), "attempt 2 goes to another worker at once");
    TestTasks.release("w-drain-again-after");
    WorkerCommand.Drained answer = drained.receiveMessage(Duration.ofSeconds(10));
    assertEquals(1, answer.declined());
  }

  @Test
  void aCancelledComputeThatReturnsAResultAfterAllAnswersForTheAttemptHandedBack() {
    Spawned w = patientWorker("w-late");
    TestProbe<QueueCommand> queue = w.queue();
    Num hard = new Num(6, "hold-hard:w-late");
    w.worker().tell(dispatch(w, "t", "square", 1, hard));
    awaitRunning("w-late");
    w.worker().tell(new WorkerCommand.Cancel(List.of("t"), "run-1", "lease of 500 ms ran out"));
    w.worker().tell(dispatch(w, "t", "square", 2, hard));
    w.worker().tell(dispatch(w, "x", "unknown-type", Num.of(1)));
    List<QueueCommand> reports = new ArrayList<>();
    awaitReport(queue, TaskDeclined.class, "x", reports);
    TestTasks.release("w-late"); // it ignored the interrupt and returns its result
    TaskSucceeded done = awaitReport(queue, TaskSucceeded.class, "t", reports);
    assertEquals(Num.of(36), done.result());
    assertEquals(
        1,
        TestTasks.runs.stream()
            .filter(r -> r.value() == 6 && r.workerId().equals("w-late"))
            .count(),
        "its result stands for the attempt handed back: not computed again");
  }

  @Test
  void aComputeThatIgnoresItsCancellationRestartsTheWorkerNamingTheTask() {
    Spawned w = readyWorker("w-hung", 1);
    TestProbe<QueueCommand> queue = w.queue();
    w.worker().tell(dispatch(w, "stuck", "square", new Num(2, "hold-hard:w-hung")));
    queue.expectNoMessage(Duration.ofMillis(100));
    w.worker().tell(new WorkerCommand.Cancel(List.of("stuck"), "run-1", "lease of 500 ms ran out"));
    QueueCommand.WorkerGoingDown down =
        queue.expectMessageClass(QueueCommand.WorkerGoingDown.class, Duration.ofSeconds(5));
    assertEquals(List.of("stuck"), down.causedBy());
    assertTrue(down.reason().contains("did not stop within 300 ms"), down.reason());
    WorkerServes restarted = queue.expectMessageClass(WorkerServes.class);
    assertNotEquals(w.incarnation(), restarted.incarnation());
    assertEquals(
        UNPREPARED_TYPES,
        restarted.taskTypes(),
        "a new incarnation, free to register and take work");
    TestTasks.release("w-hung"); // lets the abandoned thread go
  }

  /** The ids of the tasks declined in this report, alone or in a batch; empty for others. */
  private static List<String> declinedIds(QueueCommand message) {
    if (message instanceof TaskDeclined declined) {
      return List.of(declined.taskId());
    }
    if (message instanceof QueueCommand.Reports reports) {
      return reports.declined().stream().map(TaskDeclined::taskId).toList();
    }
    return List.of();
  }

  @Test
  void aDrainingWorkerHandsBackWhatWaitsDeclinesWhatComesAndFinishesWhatRunsBeforeItAnswers() {
    Spawned w = readyWorker("w-drain", 1);
    TestProbe<QueueCommand> queue = w.queue();
    TestProbe<WorkerCommand.Drained> drained = testKit.createTestProbe();
    w.worker().tell(dispatch(w, "proof", "square", new Num(6, "hold:w-drain")));
    w.worker().tell(dispatch(w, "waits", "square", Num.of(7))); // for the only slot
    queue.expectNoMessage(Duration.ofMillis(100));

    w.worker().tell(new WorkerCommand.Drain(10_000, drained.getRef()));
    WorkerServes draining = queue.expectMessageClass(WorkerServes.class);
    assertEquals(WorkerState.DRAINING, draining.state());
    assertEquals(w.incarnation(), draining.incarnation());
    assertEquals(READY_TYPES, draining.taskTypes(), "named so that it reaches those queues");
    w.worker().tell(dispatch(w, "comes", "add", Num.of(1)));
    List<String> declined = new ArrayList<>();
    while (declined.size() < 2) {
      QueueCommand message = queue.receiveMessage(Duration.ofSeconds(3));
      assertFalse(message instanceof TaskSucceeded, "nothing finished yet: " + message);
      declined.addAll(declinedIds(message));
    }
    assertEquals(List.of("waits", "comes"), declined);
    drained.expectNoMessage(Duration.ofMillis(200)); // the proof still runs

    TestTasks.release("w-drain");
    TaskSucceeded proof = queue.expectMessageClass(TaskSucceeded.class);
    assertEquals("proof", proof.taskId());
    assertEquals(Num.of(36), proof.result());
    WorkerCommand.Drained answer = drained.receiveMessage(Duration.ofSeconds(3));
    assertEquals("w-drain", answer.workerId());
    assertEquals(1, answer.finished());
    assertEquals(2, answer.declined());
    assertEquals(0, answer.putBack());
    assertEquals(
        List.of(6L),
        TestTasks.runs.stream().map(TestTasks.Run::value).toList(),
        "the tasks handed back never ran here");

    // a second drain (two shutdown paths) is answered at once with the same figures
    w.worker().tell(new WorkerCommand.Drain(10_000, drained.getRef()));
    assertEquals(answer, drained.receiveMessage(Duration.ofSeconds(3)));
  }

  @Test
  void aComputeStillRunningWhenTheDrainsTimeIsOverIsPutBackByTheQueueAtOnce() {
    Spawned w = readyWorker("w-drain-late", 1);
    TestProbe<QueueCommand> queue = w.queue();
    TestProbe<WorkerCommand.Drained> drained = testKit.createTestProbe();
    w.worker().tell(dispatch(w, "long", "square", new Num(2, "hold:w-drain-late")));
    queue.expectNoMessage(Duration.ofMillis(100));

    w.worker().tell(new WorkerCommand.Drain(1000, drained.getRef()));
    assertEquals(WorkerState.DRAINING, queue.expectMessageClass(WorkerServes.class).state());
    // the drain's time counts from when the worker took the Drain, this window from when the test
    // saw the state: the margin between them is for a loaded machine
    drained.expectNoMessage(Duration.ofMillis(300));
    QueueCommand.WorkerGoingDown down =
        queue
            .fishForMessage(
                Duration.ofSeconds(3),
                m ->
                    m instanceof QueueCommand.WorkerGoingDown
                        ? FishingOutcomes.complete()
                        : FishingOutcomes.continueAndIgnore())
            .stream()
            .map(QueueCommand.WorkerGoingDown.class::cast)
            .reduce((a, b) -> b)
            .orElseThrow();
    assertEquals(w.incarnation(), down.incarnation());
    assertEquals(List.of(), down.causedBy(), "a drain's end charges no task");
    assertTrue(down.drainOver(), "counted apart from a crash");
    assertTrue(down.reason().contains("drain's 1000 ms are over"), down.reason());
    WorkerCommand.Drained answer = drained.receiveMessage(Duration.ofSeconds(3));
    assertEquals(0, answer.finished());
    assertEquals(1, answer.putBack());
    TestTasks.release("w-drain-late");
  }

  @Test
  void anIdleWorkerAnswersADrainAtOnceAndAnUnpreparedOneDeclinesItsRegistration() {
    Spawned w = spawnUnprepared(settings("w-drain-idle"), CATALOG, null);
    TestProbe<WorkerCommand.Drained> drained = testKit.createTestProbe();
    w.worker().tell(new WorkerCommand.Drain(10_000, drained.getRef()));
    WorkerCommand.Drained answer = drained.receiveMessage(Duration.ofSeconds(3));
    assertEquals(new WorkerCommand.Drained("w-drain-idle", 0, 0, 0, answer.millis()), answer);
    WorkerServes draining = w.queue().expectMessageClass(WorkerServes.class);
    assertEquals(WorkerState.DRAINING, draining.state());
    assertEquals(UNPREPARED_TYPES, draining.taskTypes());
    w.worker().tell(dispatch(w, "reg", WorkerRegistrationTask.NAME, new Keys("test-key")));
    assertEquals(List.of("reg"), declinedIds(w.queue().receiveMessage(Duration.ofSeconds(3))));
  }

  @Test
  void aTaskWaitingForASlotIsDroppedWhenCancelled() {
    Spawned w = readyWorker("w-drop", 1);
    TestProbe<QueueCommand> queue = w.queue();
    w.worker().tell(dispatch(w, "first", "square", new Num(2, "hold:w-drop")));
    w.worker().tell(dispatch(w, "second", "square", Num.of(3)));
    w.worker().tell(new WorkerCommand.Cancel(List.of("second"), "run-1", "node unreachable"));
    TestTasks.release("w-drop");
    assertEquals("first", queue.expectMessageClass(TaskSucceeded.class).taskId());
    queue.expectNoMessage(Duration.ofMillis(300));
    assertEquals(1, TestTasks.runs.size(), "the dropped task never ran");
  }

  /**
   * A waiting task that another queue (entity) handed again, then cancelled before it started, gets
   * no report: the next task under that id reports to the queue that handed it out, not to the one
   * the dropped task was redirected to.
   */
  @Test
  void aDroppedWaitingTaskLeavesNoRedirectForTheNextTaskOfItsId() {
    Spawned w = readyWorker("w-redirect", 1);
    TestProbe<QueueCommand> queue = w.queue();
    TestProbe<QueueCommand> other = testKit.createTestProbe(QueueCommand.class);
    w.worker().tell(dispatch(w, "first", "square", new Num(2, "hold:w-redirect")));
    w.worker().tell(dispatch(w, "second", "square", Num.of(3))); // waits for the only slot
    w.worker()
        .tell(
            new Dispatch(
                new TaskEnvelope("second", "flow-1", "run-1", "square", 2, Num.of(3)),
                other.getRef())); // the entity's new life handed it again: reports go there
    w.worker().tell(new WorkerCommand.Cancel(List.of("second"), "run-1", "flow flow-1 is over"));
    w.worker().tell(dispatch(w, "second", "square", Num.of(4))); // sent again later, waits
    TestTasks.release("w-redirect");
    List<QueueCommand> seen = new ArrayList<>();
    assertEquals(Num.of(16), awaitReport(queue, TaskSucceeded.class, "second", seen).result());
    other.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aSecondDispatchOfATaskItAlreadyHoldsIsIgnored() {
    Spawned w = readyWorker("w-dup", 2);
    TestProbe<QueueCommand> queue = w.queue();
    w.worker().tell(dispatch(w, "t", "square", new Num(2, "hold:w-dup")));
    w.worker().tell(dispatch(w, "t", "square", 2, new Num(2, "hold:w-dup")));
    TestTasks.release("w-dup");
    assertEquals("t", queue.expectMessageClass(TaskSucceeded.class).taskId());
    queue.expectNoMessage(Duration.ofMillis(200));
    assertEquals(1, TestTasks.runs.size());
  }

  @Test
  void whereTheQueueIsShardedItReportsWhatItHoldsAtEachChange() {
    Spawned w =
        spawnUnprepared(settings("w-load").withConcurrency(1).withReportLoad(true), CATALOG, null);
    register(w, "w-load", READY_TYPES);
    TestProbe<QueueCommand> queue = w.queue();
    w.worker().tell(dispatch(w, "a", "square", new Num(2, "hold:w-load")));
    w.worker().tell(dispatch(w, "b", "square", Num.of(3)));
    QueueCommand.WorkerLoad load = queue.expectMessageClass(QueueCommand.WorkerLoad.class);
    if (load.heldTaskIds().size() == 1) { // the two dispatches may be handled in one flush or two
      assertEquals(List.of("a"), load.heldTaskIds());
      load = queue.expectMessageClass(QueueCommand.WorkerLoad.class);
    }
    assertEquals(List.of("a", "b"), load.heldTaskIds(), "running first, then waiting");
    assertEquals(List.of("b"), load.waitingTaskIds(), "its queue's lease starts when it starts");
    assertFalse(load.periodic());
    TestTasks.release("w-load");
    Set<String> done = new java.util.HashSet<>();
    List<String> lastHeld = load.heldTaskIds();
    while (done.size() < 2 || !lastHeld.isEmpty()) {
      QueueCommand message = queue.receiveMessage(Duration.ofSeconds(5));
      if (message instanceof TaskSucceeded ok) {
        done.add(ok.taskId());
      } else if (message instanceof QueueCommand.Reports r) {
        r.succeeded().forEach(ok -> done.add(ok.taskId()));
      } else if (message instanceof QueueCommand.WorkerLoad l) {
        assertTrue(
            done.containsAll(
                load.heldTaskIds().stream().filter(id -> !l.heldTaskIds().contains(id)).toList()),
            "a task leaves the load report only after its result went out");
        assertEquals(List.of(), l.waitingTaskIds(), "b started as soon as a's slot was free");
        lastHeld = l.heldTaskIds();
      }
    }
    assertEquals(Set.of("a", "b"), done);
  }

  /**
   * A task waiting for a slot that its queue entity withdraws (it sees a free slot on another
   * worker) goes back to that entity at once, without running here, and leaves the load report; a
   * withdraw of a running task, or naming another run, changes nothing.
   */
  @Test
  void aWaitingTaskWithdrawnByItsQueueGoesBackUnstartedAndARunningOneGoesOn() {
    Spawned w =
        spawnUnprepared(
            settings("w-withdraw").withConcurrency(1).withReportLoad(true), CATALOG, null);
    register(w, "w-withdraw", READY_TYPES);
    TestProbe<QueueCommand> queue = w.queue();
    TestProbe<QueueCommand> otherEntity = testKit.createTestProbe(QueueCommand.class);
    w.worker().tell(dispatch(w, "a", "square", new Num(2, "hold:w-withdraw")));
    w.worker()
        .tell(
            new Dispatch(
                new TaskEnvelope("b", "flow-1", "run-1", "square", 1, Num.of(3)),
                otherEntity.getRef()));
    w.worker().tell(dispatch(w, "c", "square", Num.of(4)));
    w.worker().tell(new WorkerCommand.Withdraw("c", "run-0")); // another run's: not this one
    w.worker().tell(new WorkerCommand.Withdraw("a", "run-1")); // running: goes on
    w.worker().tell(new WorkerCommand.Withdraw("b", "run-1"));
    List<QueueCommand> seen = new ArrayList<>();
    TaskDeclined back = awaitReport(otherEntity, TaskDeclined.class, "b", seen);
    assertTrue(back.noFreeSlot());
    assertEquals(1, back.attempt());
    assertTrue(back.reason().contains("withdrawn before it started"), back.reason());
    QueueCommand.WorkerLoad load; // reports until the withdraw's: a running, c waiting, b gone
    do {
      load = queue.expectMessageClass(QueueCommand.WorkerLoad.class);
    } while (!load.heldTaskIds().equals(List.of("a", "c")));
    assertEquals(List.of("c"), load.waitingTaskIds());
    TestTasks.release("w-withdraw");
    List<QueueCommand> reports = new ArrayList<>();
    awaitReport(queue, TaskSucceeded.class, "a", reports);
    awaitReport(queue, TaskSucceeded.class, "c", reports);
    assertEquals(
        List.of(2L, 4L),
        TestTasks.runs.stream()
            .filter(r -> r.taskType().equals("square"))
            .map(TestTasks.Run::value)
            .toList(),
        "a and c ran, b did not");
    otherEntity.expectNoMessage(Duration.ofMillis(100));
  }

  /** Two sequencer runs, the second started after the first (a standby took over). */
  private static final String OLD_RUN = "r0000000000001-00000000";

  private static final String NEW_RUN = "r0000000000002-00000000";

  /** Registers an Unprepared worker by a registration task of {@code runId}, until it is Ready. */
  private static void registerForRun(Spawned w, String runId) {
    w.worker()
        .tell(
            dispatchOfRun(w, runId, "reg-old", WorkerRegistrationTask.NAME, new Keys("test-key")));
    w.queue().expectMessageClass(TaskSucceeded.class);
    w.queue().expectMessageClass(WorkerServes.class);
    assertEquals(READY_TYPES, w.queue().expectMessageClass(WorkerServes.class).taskTypes());
  }

  @Test
  void aTaskOfANewerRunMakesAReadyWorkerRegisterAgainAndOneOfAnOlderRunFails() {
    Spawned w = spawnUnprepared(settings("w-run"), CATALOG, null);
    TestProbe<QueueCommand> queue = w.queue();
    registerForRun(w, OLD_RUN);

    // the sequencer restarted: its first task reaches a worker registered for the old run
    w.worker().tell(dispatchOfRun(w, NEW_RUN, "new-1", "square", Num.of(4)));
    assertEquals(
        UNPREPARED_TYPES,
        queue.expectMessageClass(WorkerServes.class).taskTypes(),
        "registers again");
    TaskDeclined declined = queue.expectMessageClass(TaskDeclined.class);
    assertEquals("new-1", declined.taskId());
    assertTrue(declined.reason().contains("not registered"), declined.reason());

    // the registration entity still holds the old run's offers until the new run's reach it
    w.worker()
        .tell(dispatchOfRun(w, OLD_RUN, "reg-old-2", WorkerRegistrationTask.NAME, new Keys("old")));
    TaskFailed oldOffer = queue.expectMessageClass(TaskFailed.class);
    assertEquals("reg-old-2", oldOffer.taskId());
    assertFalse(oldOffer.retryable());
    assertTrue(oldOffer.reason().contains("older than run " + NEW_RUN), oldOffer.reason());
    assertEquals(
        List.of("square w-run", "add w-run"),
        List.copyOf(TestTasks.prepares),
        "nothing prepared for the run that is over");

    w.worker()
        .tell(
            dispatchOfRun(
                w, NEW_RUN, "reg-new", WorkerRegistrationTask.NAME, new Keys("test-key")));
    queue.expectMessageClass(TaskSucceeded.class);
    queue.expectMessageClass(WorkerServes.class);
    assertEquals(READY_TYPES, queue.expectMessageClass(WorkerServes.class).taskTypes());
    assertEquals(
        List.of("square w-run", "add w-run", "square w-run", "add w-run"),
        List.copyOf(TestTasks.prepares),
        "prepared again with the new run's parameters");

    w.worker().tell(dispatchOfRun(w, OLD_RUN, "stale", "square", Num.of(5)));
    TaskFailed stale = queue.expectMessageClass(TaskFailed.class);
    assertFalse(stale.retryable());
    assertTrue(stale.reason().contains("older than run " + NEW_RUN), stale.reason());
    w.worker().tell(dispatchOfRun(w, NEW_RUN, "new-2", "square", Num.of(6)));
    assertEquals(Num.of(36), queue.expectMessageClass(TaskSucceeded.class).result());
  }

  /**
   * A standby sequencer took over: the worker's computes of the older run are interrupted when it
   * first sees the newer run, since their results would be dropped, and their slots go to the newer
   * run's tasks.
   */
  @Test
  void aWorkerThatSeesANewerRunCancelsItsComputesOfTheOlderRun() {
    Spawned w = spawnUnprepared(settings("w-over").withConcurrency(2), CATALOG, null);
    TestProbe<QueueCommand> queue = w.queue();
    registerForRun(w, OLD_RUN);
    List<QueueCommand> seen = new ArrayList<>();
    w.worker().tell(dispatchOfRun(w, OLD_RUN, "old-proof", "square", new Num(2, "hold:w-over")));
    awaitRunning("w-over");

    w.worker().tell(dispatchOfRun(w, NEW_RUN, "new-1", "square", Num.of(4)));
    TaskFailed cancelled = awaitReport(queue, TaskFailed.class, "old-proof", seen);
    assertEquals(OLD_RUN, cancelled.runId());
    assertTrue(
        cancelled.reason().contains("run " + OLD_RUN + " is over: run " + NEW_RUN + " took over"),
        cancelled.reason());
    assertEquals(0, TestTasks.runningNow("w-over"), "interrupted, not left to run");
    assertTrue(
        seen.stream()
            .noneMatch(r -> r instanceof TaskSucceeded ok && ok.taskId().equals("old-proof")));
  }

  /**
   * Task ids start again with each run: a newer run's task handed to the worker that still computes
   * an older run's task of the same id (its queue entity moved, and the new life hands the id back)
   * makes it register again like any task of a newer run. The older compute is interrupted, and the
   * newer task declined to go to a worker that can take it now.
   */
  @Test
  void aNewerRunsTaskUnderTheIdOfAnOlderRunsComputeMakesTheWorkerRegisterAgain() {
    Spawned w = spawnUnprepared(settings("w-same-id").withConcurrency(2), CATALOG, null);
    TestProbe<QueueCommand> queue = w.queue();
    registerForRun(w, OLD_RUN);
    w.worker().tell(dispatchOfRun(w, OLD_RUN, "f-1:7", "square", new Num(2, "hold:w-same-id")));
    awaitRunning("w-same-id");

    w.worker().tell(dispatchOfRun(w, NEW_RUN, "f-1:7", "square", Num.of(3)));
    TaskFailed cancelled = null;
    TaskDeclined declined = null;
    boolean registersAgain = false;
    while (cancelled == null || declined == null || !registersAgain) {
      for (QueueCommand m : reportsIn(queue.receiveMessage(Duration.ofSeconds(5)))) {
        if (m instanceof TaskFailed failed) {
          cancelled = failed;
        } else if (m instanceof TaskDeclined decline) {
          declined = decline;
        } else if (m instanceof WorkerServes serves) {
          registersAgain |= serves.taskTypes().equals(UNPREPARED_TYPES);
        }
      }
    }
    assertEquals(OLD_RUN, cancelled.runId(), "the older run's compute is interrupted");
    assertTrue(
        cancelled.reason().contains("run " + OLD_RUN + " is over: run " + NEW_RUN + " took over"),
        cancelled.reason());
    assertEquals(NEW_RUN, declined.runId(), "the newer run's task goes to another worker");
    assertEquals(0, TestTasks.runningNow("w-same-id"));
  }

  /**
   * Task ids start again with each run, so a cancel names its run: a late cancel of an older run's
   * task (a queue entity superseding that run) leaves the newer run's task of the same id running,
   * and waiting, here. A cancel without a run (a sender of an older build) stops what is held under
   * the id.
   */
  @Test
  void aCancelOfAnotherRunsTaskUnderTheSameIdLeavesTheHeldTaskAlone() {
    Spawned w = spawnUnprepared(settings("w-run-cancel").withConcurrency(1), CATALOG, null);
    TestProbe<QueueCommand> queue = w.queue();
    registerForRun(w, NEW_RUN);
    w.worker().tell(dispatchOfRun(w, NEW_RUN, "f-1:7", "square", new Num(2, "hold:w-run-cancel")));
    awaitRunning("w-run-cancel");
    w.worker().tell(dispatchOfRun(w, NEW_RUN, "f-1:8", "square", Num.of(3))); // waits for the slot

    String over = "run " + OLD_RUN + " is over: run " + NEW_RUN + " took over";
    w.worker().tell(new WorkerCommand.Cancel(List.of("f-1:7", "f-1:8"), OLD_RUN, over));
    // a task of the older run fails at once: its report comes after the cancel was handled
    w.worker().tell(dispatchOfRun(w, OLD_RUN, "stale", "square", Num.of(4)));
    List<QueueCommand> seen = new ArrayList<>();
    awaitReport(queue, TaskFailed.class, "stale", seen);
    assertEquals(1, TestTasks.runningNow("w-run-cancel"), "the newer run's compute goes on");

    TestTasks.release("w-run-cancel");
    assertEquals(Num.of(4), awaitReport(queue, TaskSucceeded.class, "f-1:7", seen).result());
    assertEquals(Num.of(9), awaitReport(queue, TaskSucceeded.class, "f-1:8", seen).result());
    assertTrue(
        seen.stream().noneMatch(r -> r instanceof TaskFailed f && f.taskId().startsWith("f-1:")),
        "nothing of the newer run failed: " + seen);

    w.worker()
        .tell(dispatchOfRun(w, NEW_RUN, "f-1:9", "square", new Num(5, "hold:w-run-cancel-2")));
    awaitRunning("w-run-cancel");
    w.worker().tell(new WorkerCommand.Cancel(List.of("f-1:9"), null, "flow flow-1 is over"));
    TaskFailed cancelled = awaitReport(queue, TaskFailed.class, "f-1:9", seen);
    assertTrue(cancelled.reason().contains("flow flow-1 is over"), cancelled.reason());
  }

  /** Unprepared and inline, returning a value that is no task value. */
  private static final class BuilderResult extends NamedTaskType<String, Object> {
    private BuilderResult() {
      super("builder", String.class, Object.class);
    }

    @Override
    public boolean isUnprepared() {
      return true;
    }

    @Override
    public boolean runsInline() {
      return true;
    }

    @Override
    public Object compute(String input, TaskContext context) {
      return new StringBuilder(input);
    }
  }
}
