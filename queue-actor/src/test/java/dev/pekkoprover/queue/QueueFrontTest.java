package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.Reports;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/** The cluster queue's node-local front, with a probe standing in for the shard region. */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueueFrontTest {
  private final ActorTestKit testKit = ActorTestKit.create("front", TestConfig.config());
  private final TaskCatalog catalog =
      TaskCatalog.of(
          TestTasks.Square.INSTANCE,
          TestTasks.Add.INSTANCE,
          TestTasks.Compile.INSTANCE,
          TestTasks.Echo.INSTANCE);

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private record Front(
      ActorRef<QueueCommand> front, TestProbe<ShardingEnvelope<QueueCommand>> region) {}

  private Front front(FrontSettings settings) {
    TestProbe<ShardingEnvelope<QueueCommand>> region = testKit.createTestProbe();
    return new Front(testKit.spawn(QueueFront.create(region.getRef(), catalog, settings)), region);
  }

  private static FrontSettings settings(
      int maxTasks, int maxBytes, int maxPayload, Map<String, Integer> partitions) {
    return new FrontSettings(partitions, maxTasks, maxBytes, maxPayload, Duration.ofSeconds(1));
  }

  /**
   * The run start the front told each of its {@code entities} entities at its first task of a run
   * ({@link #theFirstTaskOfANewerRunTellsEveryEntityThatTheRunStarted}), before that task.
   */
  private static void expectRunStarted(Front f, String run, int entities) {
    for (int i = 0; i < entities; i++) {
      assertEquals(new QueueCommand.RunStarted(run), f.region().receiveMessage().message());
    }
  }

  private static TaskEnvelope task(String id, String type, Object payload) {
    return new TaskEnvelope(id, "f", "run-1", type, 1, payload);
  }

  @Test
  void aLargeEnqueueGoesOutInSlicesPerEntityAndUnknownTypesAreRefused() {
    Front f = front(settings(3, 1 << 20, 1 << 20, Map.of()));
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    List<TaskEnvelope> tasks = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      tasks.add(task("s" + i, "square", Num.of(i)));
    }
    tasks.add(task("a0", "add", new TestTasks.Pair(Num.of(1), Num.of(2))));
    tasks.add(task("x0", "no-such-type", Num.of(1)));
    f.front().tell(new Enqueue(tasks, flow.getRef()));

    TaskOutcome.Rejected rejected = (TaskOutcome.Rejected) flow.receiveMessage();
    assertEquals("x0", rejected.taskId());
    assertTrue(rejected.reason().contains("unknown task type 'no-such-type'"), rejected.reason());
    Map<String, List<Integer>> slices = new HashMap<>();
    int tasksSent = 0;
    while (tasksSent < 8) {
      ShardingEnvelope<QueueCommand> sent = f.region().receiveMessage();
      int size = ((Enqueue) sent.message()).tasks().size();
      slices.computeIfAbsent(sent.entityId(), id -> new ArrayList<>()).add(size);
      tasksSent += size;
    }
    assertEquals(Map.of("square", List.of(3, 3, 1), "add", List.of(1)), slices);
  }

  @Test
  void slicesAlsoRespectTheByteBudgetAndOversizedInputsAreRefused() {
    Front f = front(settings(100, 2_500, 2_000, Map.of()));
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    TestTasks.Text kilobyte = TestTasks.Text.ofSize(1_000, false);
    f.front()
        .tell(
            new Enqueue(
                List.of(
                    task("e1", "echo", kilobyte),
                    task("e2", "echo", kilobyte),
                    task("e3", "echo", kilobyte),
                    task("big", "echo", TestTasks.Text.ofSize(3_000, false))),
                flow.getRef()));
    TaskOutcome.Rejected rejected = (TaskOutcome.Rejected) flow.receiveMessage();
    assertEquals("big", rejected.taskId());
    assertTrue(rejected.reason().contains("2000-byte limit"), rejected.reason());
    assertTrue(
        rejected.reason().contains("split the work"), "says what to do: " + rejected.reason());
    List<Integer> slices = new ArrayList<>();
    for (int sent = 0; sent < 3; ) {
      int size = ((Enqueue) f.region().receiveMessage().message()).tasks().size();
      slices.add(size);
      sent += size;
    }
    assertEquals(
        List.of(2, 1),
        slices,
        "two ~1 KB inputs fit the 2.5 KB budget, the third starts a new slice");
  }

  @Test
  void anInputThatPassedItsCheckGoesOnAsTheBytesOfThatCheck() {
    Front f = front(settings(100, 1 << 20, 1 << 20, Map.of()));
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    TestTasks.Pair input = new TestTasks.Pair(Num.of(1), Num.of(2));
    f.front().tell(new Enqueue(List.of(task("a1", "add", input)), flow.getRef()));
    TaskEnvelope sent = ((Enqueue) f.region().receiveMessage().message()).tasks().get(0);
    SerializedPayload bytes = assertInstanceOf(SerializedPayload.class, sent.payload());
    Serialization serialization = SerializationExtension.get(testKit.system());
    assertEquals(input, SerializedPayload.decode(serialization, bytes));
    assertEquals(task("a1", "add", bytes), sent, "the rest of the task as it was");

    // a task that comes back with its bytes (from another front) is checked by their length alone
    Front small = front(settings(100, 1 << 20, bytes.size() - 1, Map.of()));
    small.front().tell(new Enqueue(List.of(task("a2", "add", bytes)), flow.getRef()));
    TaskOutcome.Rejected rejected = (TaskOutcome.Rejected) flow.receiveMessage();
    assertTrue(
        rejected.reason().contains(bytes.size() + " bytes serialised, over the"),
        rejected.reason());
  }

  @Test
  void aRegistrationOfferTellsEveryEntityThisNodesVersionsAndTheRunsKeys() {
    String run7 = "r0000000000007-00000000";
    Front f = front(settings(500, 1 << 20, 1 << 20, Map.of("square", 2)));
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    TestTasks.Keys keys = new TestTasks.Keys("k");
    f.front()
        .tell(
            new Enqueue(
                List.of(
                    new TaskEnvelope(
                        "reg-1",
                        "register",
                        run7,
                        dev.pekkoprover.protocol.WorkerRegistrationTask.NAME,
                        1,
                        keys),
                    new TaskEnvelope(
                        "reg-2",
                        "register",
                        run7,
                        dev.pekkoprover.protocol.WorkerRegistrationTask.NAME,
                        1,
                        keys)),
                flow.getRef()));
    expectRunStarted(f, run7, 6);
    ShardingEnvelope<QueueCommand> offer = f.region().receiveMessage();
    assertEquals("worker-registration", offer.entityId());
    assertTrue(offer.message() instanceof Enqueue, offer.toString());
    assertEquals(2, ((Enqueue) offer.message()).tasks().size(), "both tasks in one Enqueue");
    assertEquals(
        keys,
        ((Enqueue) offer.message()).tasks().get(0).payload(),
        "a registration offer stays a live value: its entity reads it");
    Map<String, QueueCommand> sent = new HashMap<>();
    for (int i = 0; i < 6; i++) { // worker-registration, square#0, square#1, add, compile, echo
      ShardingEnvelope<QueueCommand> envelope = f.region().receiveMessage();
      sent.put(envelope.entityId(), envelope.message());
    }
    assertEquals(
        Set.of("worker-registration", "square#0", "square#1", "add", "compile", "echo"),
        sent.keySet());
    QueueCommand.RunCatalog expected =
        new QueueCommand.RunCatalog(
            run7,
            dev.pekkoprover.protocol.CatalogFingerprint.of(catalog).versions(),
            dev.pekkoprover.protocol.CatalogFingerprint.keysDigestOf(keys));
    sent.values().forEach(message -> assertEquals(expected, message));
    // two tasks of one run offered together: each entity hears of the run once
    f.region().expectNoMessage(java.time.Duration.ofMillis(100));
  }

  /**
   * A restart or a standby's takeover: the first task of a newer run tells every entity that the
   * run started, before the task itself, so that entities the run has not reached give up the older
   * run's tasks. The same run again, an older one, or one not named by {@code RunIds} (which tells
   * no order: tests and benchmarks name runs freely) tells nobody.
   */
  @Test
  void theFirstTaskOfANewerRunTellsEveryEntityThatTheRunStarted() {
    Front f = front(settings(500, 1 << 20, 1 << 20, Map.of("square", 2)));
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    String older = "r0000000000001-00000000";
    String newer = "r0000000000002-00000000";
    List<String> entities =
        List.of("worker-registration", "square#0", "square#1", "add", "compile", "echo");
    for (String run : List.of(older, newer)) {
      f.front()
          .tell(
              new Enqueue(
                  List.of(
                      new TaskEnvelope(
                          "a1", "f", run, "add", 1, new TestTasks.Pair(Num.of(1), Num.of(2)))),
                  flow.getRef()));
      Map<String, QueueCommand> told = new HashMap<>();
      for (int i = 0; i < entities.size(); i++) {
        ShardingEnvelope<QueueCommand> envelope = f.region().receiveMessage();
        told.put(envelope.entityId(), envelope.message());
      }
      assertEquals(Set.copyOf(entities), told.keySet(), "every entity, once");
      told.values().forEach(m -> assertEquals(new QueueCommand.RunStarted(run), m));
      ShardingEnvelope<QueueCommand> task = f.region().receiveMessage();
      assertEquals("add", task.entityId());
      assertEquals(run, ((Enqueue) task.message()).tasks().get(0).runId(), "then the task");
    }
    for (String run : List.of(newer, older, "run-9", "zz")) { // the latter two: not RunIds
      f.front()
          .tell(
              new Enqueue(
                  List.of(new TaskEnvelope("s1", "f", run, "square", 1, Num.of(3))),
                  flow.getRef()));
      ShardingEnvelope<QueueCommand> only = f.region().receiveMessage();
      assertInstanceOf(Enqueue.class, only.message(), "no announcement for " + run);
    }
    f.region().expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aWorkerAnnouncementReachesTheEntitiesOfTheTypesItServesAndOfThoseItDropped() {
    Front f = front(settings(500, 1 << 20, 1 << 20, Map.of("square", 2)));
    TestProbe<WorkerCommand> worker = testKit.createTestProbe();
    f.front()
        .tell(
            new WorkerServes(
                worker.getRef(), "w1", "i1", Set.of("worker-registration", "compile"), 2));
    assertEquals(Set.of("worker-registration", "compile"), entities(f, 2));
    f.front().tell(new WorkerServes(worker.getRef(), "w1", "i1", Set.of("compile", "square"), 2));
    assertEquals(
        Set.of("worker-registration", "compile", "square#0", "square#1"),
        entities(f, 4),
        "the registration entity hears that w1 no longer serves it; both partitions of square hear of w1");
  }

  /**
   * A Terminated for a worker (Pekko answers a watch at once from the tombstone of an earlier node
   * at the same address, for a live worker on a node not Up here yet) does not make the front
   * forget the types the worker announced: its next announcement, Registered with no types, still
   * reaches the registration entity, which must hear that it registered (a trial's stall).
   */
  @Test
  void aWorkerReportedTerminatedStillHasItsNextAnnouncementRoutedToTheTypesItServedBefore() {
    Front f = front(settings(500, 1 << 20, 1 << 20, Map.of()));
    TestProbe<WorkerCommand> worker = testKit.createTestProbe();
    f.front().tell(new WorkerServes(worker.getRef(), "w1", "i1", Set.of("worker-registration"), 1));
    assertEquals(Set.of("worker-registration"), entities(f, 1));
    TestProbe<Object> watcher = testKit.createTestProbe();
    testKit.spawn(
        Behaviors.setup(
            context -> {
              context.watchWith(worker.getRef(), "stopped");
              return Behaviors.receiveMessage(
                  message -> {
                    watcher.getRef().tell(message);
                    return Behaviors.same();
                  });
            }));
    worker.stop();
    watcher.expectMessage("stopped");
    // a round trip through the front: its Terminated (a system message) came before this
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    f.front().tell(new Enqueue(List.of(task("x", "no-such-type", Num.of(1))), flow.getRef()));
    flow.expectMessageClass(TaskOutcome.Rejected.class);

    f.front().tell(new WorkerServes(worker.getRef(), "w1", "i1", Set.of(), 1));
    assertEquals(Set.of("worker-registration"), entities(f, 1));
  }

  private static Set<String> entities(Front f, int count) {
    Set<String> ids = new java.util.HashSet<>();
    for (int i = 0; i < count; i++) {
      ids.add(f.region().receiveMessage().entityId());
    }
    return ids;
  }

  @Test
  void reportsThatArriveTogetherTravelTogetherAndALoneOneAlone() {
    Front f = front(settings(500, 1 << 20, 1 << 20, Map.of()));
    f.front().tell(new TaskSucceeded("w1", "i1", "t1", "run-1", "square", 1, Num.of(1)));
    ShardingEnvelope<QueueCommand> alone = f.region().receiveMessage();
    assertEquals(
        new TaskSucceeded("w1", "i1", "t1", "run-1", "square", 1, Num.of(1)), alone.message());

    f.front()
        .tell(
            new Reports(
                List.of(
                    new TaskSucceeded("w1", "i1", "t2", "run-1", "square", 1, Num.of(4)),
                    new TaskSucceeded("w1", "i1", "t3", "run-1", "square", 1, Num.of(9)),
                    new TaskSucceeded("w1", "i1", "t4", "run-1", "add", 1, Num.of(13))),
                List.of(),
                List.of()));
    Map<String, QueueCommand> byEntity = new HashMap<>();
    for (int i = 0; i < 2; i++) {
      ShardingEnvelope<QueueCommand> sent = f.region().receiveMessage();
      byEntity.put(sent.entityId(), sent.message());
    }
    assertEquals(
        2,
        ((Reports) byEntity.get("square")).succeeded().size(),
        "both square results in one message");
    assertEquals(
        new TaskSucceeded("w1", "i1", "t4", "run-1", "add", 1, Num.of(13)), byEntity.get("add"));
  }

  @Test
  void aWorkersLoadReportNeverOvertakesTheReportsItSentBeforeIt() {
    // a worker sends reports here (for the tasks of an entity that stopped) and then its load
    // report: an entity that got the load first would take the tasks missing from it as not run
    Front f = front(settings(500, 1 << 20, 1 << 20, Map.of()));
    TestProbe<WorkerCommand> worker = testKit.createTestProbe();
    f.front().tell(new WorkerServes(worker.getRef(), "w1", "i1", Set.of("square"), 2));
    assertEquals("square", f.region().receiveMessage().entityId());
    f.front().tell(new TaskSucceeded("w1", "i1", "t1", "run-1", "square", 1, Num.of(1)));
    f.front().tell(new QueueCommand.WorkerLoad(worker.getRef(), "w1", "i1", List.of(), true));
    assertEquals(
        new TaskSucceeded("w1", "i1", "t1", "run-1", "square", 1, Num.of(1)),
        f.region().receiveMessage().message());
    assertEquals(QueueCommand.WorkerLoad.class, f.region().receiveMessage().message().getClass());
    f.region().expectNoMessage(Duration.ofMillis(100));
  }

  /**
   * Answers the fleet view for each of the front's entities the region probe receives now, except
   * {@code silent}: every entity holds {@code pending} tasks of its type.
   */
  private static void answerFleet(Front f, int entities, String silent, long pending) {
    for (int i = 0; i < entities; i++) {
      ShardingEnvelope<QueueCommand> asked = f.region().receiveMessage(Duration.ofSeconds(3));
      QueueCommand.GetFleet get = (QueueCommand.GetFleet) asked.message();
      if (!asked.entityId().equals(silent)) {
        get.replyTo()
            .tell(
                new FleetView(
                    List.of(),
                    Map.of(
                        asked.entityId(),
                        new FleetView.TypeView(
                            new QueueStats.TypeStats(pending, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                            1,
                            0,
                            0,
                            0)),
                    List.of(),
                    0,
                    0,
                    1,
                    1));
      }
    }
  }

  @Test
  void anEntityThatDoesNotAnswerIsShownAsItLastAnsweredAndWaitedForOnlyBrieflyOnceItMissed() {
    // a queue node lost: its entity ("echo") cannot answer until its shard moves. Its queued tasks
    // stay in the view (the autoscaling signal and /status are computed from it) instead of
    // dropping out, and the questions after the first do not each wait out the stats timeout
    Duration timeout = Duration.ofSeconds(3);
    Front f = front(new FrontSettings(Map.of(), 500, 1 << 20, 1 << 20, timeout));
    TestProbe<FleetView> views = testKit.createTestProbe();
    int entities = catalog.names().size();

    f.front().tell(new QueueCommand.GetFleet(views.getRef()));
    answerFleet(f, entities, null, 5);
    FleetView all = views.receiveMessage();
    assertEquals(entities, all.answered());
    assertEquals(0, all.carriedOver().size());
    assertEquals(5, all.type("echo").counts().pending());

    f.front().tell(new QueueCommand.GetFleet(views.getRef()));
    answerFleet(f, entities, "echo", 7);
    FleetView first = views.receiveMessage(timeout.plusSeconds(3));
    assertEquals(entities - 1, first.answered());
    assertEquals(1, first.carriedOver().size());
    assertEquals(7, first.type("square").counts().pending(), "the fresh answers");
    assertEquals(5, first.type("echo").counts().pending(), "echo as it last answered");
    assertEquals(java.util.Set.of("echo"), first.carriedOver().keySet());
    assertTrue(first.carriedOverMillis("echo") >= timeout.toMillis() - 50, first.toString());

    long asked = System.nanoTime();
    f.front().tell(new QueueCommand.GetFleet(views.getRef()));
    answerFleet(f, entities, "echo", 8);
    FleetView second = views.receiveMessage(timeout.plusSeconds(3));
    long millis = (System.nanoTime() - asked) / 1_000_000;
    assertTrue(
        millis < timeout.toMillis() / 2,
        "echo missed the last answer: waited for only briefly, not " + millis + " ms");
    assertEquals(1, second.carriedOver().size());
    assertEquals(5, second.type("echo").counts().pending());
    assertEquals(8, second.type("add").counts().pending());
  }

  @Test
  void theQueueStatsOfAnEntityThatDoesNotAnswerAreItsLastOnes() {
    Front f = front(new FrontSettings(Map.of(), 500, 1 << 20, 1 << 20, Duration.ofSeconds(1)));
    TestProbe<QueueStats> stats = testKit.createTestProbe();
    int entities = catalog.names().size();
    for (long pending : new long[] {4, 6}) {
      f.front().tell(new QueueCommand.GetStats(stats.getRef()));
      for (int i = 0; i < entities; i++) {
        ShardingEnvelope<QueueCommand> asked = f.region().receiveMessage(Duration.ofSeconds(3));
        if (pending == 6 && asked.entityId().equals("echo")) {
          continue; // silent the second time
        }
        ((QueueCommand.GetStats) asked.message())
            .replyTo()
            .tell(
                new QueueStats(
                    Map.of(
                        asked.entityId(),
                        new QueueStats.TypeStats(pending, 1, 0, 0, 0, 0, 0, 0, 0, 0)),
                    1,
                    0,
                    0));
      }
      QueueStats merged = stats.receiveMessage(Duration.ofSeconds(5));
      assertEquals(pending, merged.of("square").pending());
      assertEquals(4, merged.of("echo").pending(), "echo's last answer, also when it is silent");
      assertEquals(1, merged.of("echo").inFlight());
    }
  }
}
