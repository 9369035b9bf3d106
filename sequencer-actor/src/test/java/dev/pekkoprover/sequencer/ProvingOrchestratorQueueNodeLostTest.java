package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The sequencer passes a lost queue node on to whatever has tasks in the queue (the compile flow
 * during start-up, afterwards every running flow and the registration loop), once per lost node;
 * its run ids are ordered.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProvingOrchestratorQueueNodeLostTest {
  private final ActorTestKit testKit = ActorTestKit.create("sequencer", TestConfig.config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void aLostQueueNodeReachesTheCompileFlowThenEveryFlowAndTheRegistrationLoopOnce() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestTasks.Keys keys = new TestTasks.Keys("k");
    StartupPlan<TestTasks.CompileRequest, TestTasks.Keys> plan =
        StartupPlan.of(
            TestTasks.Compile.INSTANCE,
            List.of(new TestTasks.CompileRequest("c")),
            results -> keys);
    ActorRef<ProvingOrchestrator.Command> sequencer =
        testKit.spawn(ProvingOrchestrator.create(queue.getRef(), plan, new CompletableFuture<>()));

    // start-up: the compile task is re-sent when a queue node goes
    QueueCommand.Enqueue compile = queue.expectMessageClass(QueueCommand.Enqueue.class);
    sequencer.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.7:2552", 1));
    assertEquals(compile.tasks(), queue.expectMessageClass(QueueCommand.Enqueue.class).tasks());

    TaskEnvelope task = compile.tasks().get(0);
    TestProbe<ProvingOrchestrator.Status> status = testKit.createTestProbe();
    sequencer.tell(new ProvingOrchestrator.GetStatus(status.getRef()));
    String runId = status.receiveMessage().runId();
    assertTrue(
        runId.matches("r\\d{13}-[0-9a-f]{8}"),
        "a run id from RunIds, ordered by start time: " + runId);
    assertEquals(runId, task.runId());
    compile
        .replyTo()
        .tell(
            new TaskOutcome.Succeeded(
                task.taskId(), task.flowId(), runId, task.taskType(), 1, "w", keys));
    List<TaskEnvelope> offers = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks();
    assertEquals(
        SequencerSettings.fromConfig(testKit.system().settings().config()).registrationOffers(),
        offers.size(),
        "registration-offers tasks on offer, in one Enqueue");
    offers.forEach(offer -> assertEquals(WorkerRegistrationTask.NAME, offer.taskType()));

    // running: a flow with two leaves pending
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    List<Num> inputs = List.of(Num.of(1), Num.of(2));
    sequencer.tell(
        new ProvingOrchestrator.RunFlow<>(
            "sum",
            new FanOutReduce<>(
                TestTasks.Square.INSTANCE, inputs, TestTasks.Add.INSTANCE, Pair::new),
            requester.getRef()));
    List<TaskEnvelope> leaves = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks();
    assertEquals(0, task.flowSeq(), "the start-up's compile flow goes before every flow");
    offers.forEach(offer -> assertEquals(0, offer.flowSeq()));
    leaves.forEach(leaf -> assertEquals(1, leaf.flowSeq(), "the run's first flow"));

    ProvingOrchestrator.QueueNodeLost lost =
        new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.8:2552", 2);
    sequencer.tell(lost);
    Map<String, List<TaskEnvelope>> resent = new HashMap<>();
    for (QueueCommand message : queue.receiveSeveralMessages(2)) {
      List<TaskEnvelope> tasks = ((QueueCommand.Enqueue) message).tasks();
      resent.put(tasks.get(0).taskType(), tasks);
    }
    assertEquals(
        Map.of(WorkerRegistrationTask.NAME, offers, "square", leaves),
        resent,
        "the registration loop re-offers its tasks, the flow re-sends its pending tasks");

    // the same loss told again (another sequencer node's watcher) changes nothing
    sequencer.tell(lost);
    queue.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void aLeavingToldAfterTheSameMembersRemovalIsDropped() {
    // with a standby sequencer node, its watcher's Leaving may come after this node's Removed:
    // kept, it would never be cleared, and every later loss would be said at INFO
    ActorTestKit kit =
        ActorTestKit.create(
            "late-leaving",
            TestConfig.config(
                "prover.sequencer.registration-check-interval = 200ms\n"
                    + "prover.sequencer.loss-check-window = 500ms"));
    try {
      TestProbe<QueueCommand> queue = kit.createTestProbe();
      ActorRef<ProvingOrchestrator.Command> sequencer = spawnSequencer(kit, queue);
      QueueCommand.Enqueue compile = queue.expectMessageClass(QueueCommand.Enqueue.class);
      compiled(compile);
      TaskEnvelope offered = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks().get(0);

      String address = "pekko://prover@10.0.0.9:2552";
      sequencer.tell(new ProvingOrchestrator.QueueNodeLost(address, 3));
      long lostAt = System.nanoTime();
      sequencer.tell(new ProvingOrchestrator.QueueNodeLeaving(address, 3)); // late
      // a check after the loss window (in it, a missing task is the removal's race, at INFO)
      QueueCommand.CheckHeld check =
          (QueueCommand.CheckHeld)
              queue
                  .fishForMessage(
                      Duration.ofSeconds(3),
                      m ->
                          m instanceof QueueCommand.CheckHeld
                                  && System.nanoTime() - lostAt > 500_000_000L
                              ? FishingOutcomes.complete()
                              : FishingOutcomes.continueAndIgnore())
                  .get(0);
      LoggingTestKit.warn(
              "Registration task " + offered.taskId() + " was no longer held by the queue: offered")
          .expect(
              kit.system(),
              () -> {
                check
                    .replyTo()
                    .tell(
                        new dev.pekkoprover.protocol.MissingTasks(
                            WorkerRegistrationTask.NAME, List.of(offered.taskId())));
                return null;
              });
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void aRegistrationLoopAndAFlowStartedWhileAQueueNodeLeavesAreToldOfIt() {
    // the Leaving comes during start-up, before the registration loop and the flow exist: each is
    // told at its start, so a task it finds missing before the node's removal is said at INFO
    ActorTestKit kit =
        ActorTestKit.create(
            "leaving-before-start",
            TestConfig.config(
                "prover.sequencer.registration-check-interval = 200ms\n"
                    + "prover.sequencer.resend-after = 400ms"));
    try {
      TestProbe<QueueCommand> queue = kit.createTestProbe();
      ActorRef<ProvingOrchestrator.Command> sequencer = spawnSequencer(kit, queue);
      QueueCommand.Enqueue compile = queue.expectMessageClass(QueueCommand.Enqueue.class);
      String address = "pekko://prover@10.0.0.9:2552";
      sequencer.tell(new ProvingOrchestrator.QueueNodeLeaving(address, 4));
      compiled(compile);
      TaskEnvelope offered = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks().get(0);
      TestProbe<FlowResult> requester = kit.createTestProbe();
      sequencer.tell(
          new ProvingOrchestrator.RunFlow<>(
              "sum",
              new FanOutReduce<>(
                  TestTasks.Square.INSTANCE, List.of(Num.of(3)), TestTasks.Add.INSTANCE, Pair::new),
              requester.getRef()));
      TaskEnvelope leaf = QueueProbes.nextEnqueue(queue).tasks().get(0);

      QueueCommand.CheckHeld registrationCheck = checkHeld(queue, WorkerRegistrationTask.NAME);
      LoggingTestKit.info(
              "Registration task "
                  + offered.taskId()
                  + " was no longer held by the queue while queue node(s) "
                  + address
                  + " leave")
          .expect(
              kit.system(),
              () -> {
                registrationCheck
                    .replyTo()
                    .tell(
                        new dev.pekkoprover.protocol.MissingTasks(
                            WorkerRegistrationTask.NAME, List.of(offered.taskId())));
                return null;
              });
      QueueCommand.CheckHeld flowCheck = checkHeld(queue, "square");
      LoggingTestKit.info("while queue node(s) " + address + " leave")
          .withMessageRegex("Flow .* re-sent 1 task\\(s\\) .*")
          .expect(
              kit.system(),
              () -> {
                flowCheck
                    .replyTo()
                    .tell(
                        new dev.pekkoprover.protocol.MissingTasks(
                            "square", List.of(leaf.taskId())));
                return null;
              });
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void aLeavingNoticeForItsOwnNodeIsDropped() {
    // a node with roles sequencer and queue that hosts the sequencer tells it that it leaves too
    // (it cannot know where the singleton runs): the sequencer leaves with it, nothing to tell
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<ProvingOrchestrator.Command> sequencer = spawnSequencer(testKit, queue);
    String own = testKit.system().address().toString();
    String other = "pekko://prover@10.0.0.11:2552";
    LoggingTestKit.info("Queue node " + own + " leaves")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () ->
                // the other node's line comes after the own one's notice was handled
                LoggingTestKit.info("Queue node " + other + " leaves: its queue entities move")
                    .expect(
                        testKit.system(),
                        () -> {
                          sequencer.tell(new ProvingOrchestrator.QueueNodeLeaving(own, 7));
                          sequencer.tell(new ProvingOrchestrator.QueueNodeLeaving(other, 8));
                          return null;
                        }));
    testKit.stop(sequencer);
  }

  /** A sequencer whose start-up compiles one circuit, on its own test kit's queue probe. */
  /**
   * A flow started just after a queue node's removal pushes into a cluster whose regions may still
   * route to the removed node (a trial lost two tasks pushed then, found only by resend-after): it
   * is told of the loss as it starts, and its tasks are asked about at the loss checks, without a
   * re-send. A flow started after the loss window waits resend-after as any.
   */
  @Test
  void aFlowStartedWithinTheLossWindowHasItsTasksAskedAboutAtTheLossChecks() {
    ActorTestKit kit =
        ActorTestKit.create(
            "started-after-loss",
            TestConfig.config(
                "prover.sequencer.resend-after = 60s\n"
                    + "prover.sequencer.loss-check-window = 3s\n"
                    + "prover.sequencer.registration-check-interval = 1h"));
    try {
      TestProbe<QueueCommand> queue = kit.createTestProbe();
      ActorRef<ProvingOrchestrator.Command> sequencer = spawnSequencer(kit, queue);
      compiled(queue.expectMessageClass(QueueCommand.Enqueue.class));
      queue.expectMessageClass(QueueCommand.Enqueue.class); // the registration offers
      sequencer.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.9:2552", 9));
      queue.expectMessageClass(QueueCommand.Enqueue.class); // the registration loop's re-offer

      TestProbe<FlowResult> requester = kit.createTestProbe();
      sequencer.tell(
          new ProvingOrchestrator.RunFlow<>(
              "after-loss",
              new FanOutReduce<>(
                  TestTasks.Square.INSTANCE, List.of(Num.of(3)), TestTasks.Add.INSTANCE, Pair::new),
              requester.getRef()));
      TaskEnvelope leaf = QueueProbes.nextEnqueue(queue).tasks().get(0);
      QueueCommand.CheckHeld check = checkHeld(queue, "square");
      assertEquals(List.of(leaf.taskId()), check.taskIds(), "asked within seconds, not 60 s");
      check.replyTo().tell(new dev.pekkoprover.protocol.MissingTasks("square", List.of()));

      // after the window (3 s here; what comes meanwhile, the loss checks, passed over): a new
      // flow's task waits resend-after
      received(queue, Duration.ofMillis(3500));
      sequencer.tell(
          new ProvingOrchestrator.RunFlow<>(
              "calm",
              new FanOutReduce<>(
                  TestTasks.Square.INSTANCE, List.of(Num.of(4)), TestTasks.Add.INSTANCE, Pair::new),
              requester.getRef()));
      TaskEnvelope calm = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks().get(0);
      assertEquals(
          List.of(1L, 2L),
          List.of(leaf.flowSeq(), calm.flowSeq()),
          "flows numbered in the order they were requested, for the queue to serve them so");
      List<String> asked = new java.util.ArrayList<>();
      for (QueueCommand later : received(queue, Duration.ofSeconds(3))) {
        if (later instanceof QueueCommand.CheckHeld check2) {
          asked.addAll(check2.taskIds());
        }
      }
      assertTrue(!asked.contains(calm.taskId()), "asked about only after resend-after: " + asked);
    } finally {
      kit.shutdownTestKit();
    }
  }

  /** What {@code queue} receives within {@code within}. */
  private static List<QueueCommand> received(TestProbe<QueueCommand> queue, Duration within) {
    List<QueueCommand> messages = new java.util.ArrayList<>();
    long until = System.nanoTime() + within.toNanos();
    while (System.nanoTime() - until < 0) {
      try {
        messages.add(
            queue.receiveMessage(Duration.ofNanos(Math.max(1_000_000, until - System.nanoTime()))));
      } catch (AssertionError nothingMore) {
        break;
      }
    }
    return messages;
  }

  private static ActorRef<ProvingOrchestrator.Command> spawnSequencer(
      ActorTestKit kit, TestProbe<QueueCommand> queue) {
    StartupPlan<TestTasks.CompileRequest, TestTasks.Keys> plan =
        StartupPlan.of(
            TestTasks.Compile.INSTANCE,
            List.of(new TestTasks.CompileRequest("c")),
            results -> new TestTasks.Keys("k"));
    return kit.spawn(ProvingOrchestrator.create(queue.getRef(), plan, new CompletableFuture<>()));
  }

  /**
   * Answers the compile task of {@link #spawnSequencer}: start-up ends, the registration loop
   * starts.
   */
  private static void compiled(QueueCommand.Enqueue compile) {
    TaskEnvelope task = compile.tasks().get(0);
    compile
        .replyTo()
        .tell(
            new TaskOutcome.Succeeded(
                task.taskId(),
                task.flowId(),
                task.runId(),
                task.taskType(),
                1,
                "w",
                new TestTasks.Keys("k")));
  }

  /** The next CheckHeld about {@code taskType}; Enqueues and other checks are passed over. */
  private static QueueCommand.CheckHeld checkHeld(TestProbe<QueueCommand> queue, String taskType) {
    return (QueueCommand.CheckHeld)
        queue
            .fishForMessage(
                Duration.ofSeconds(5),
                m ->
                    m instanceof QueueCommand.CheckHeld check && check.taskType().equals(taskType)
                        ? FishingOutcomes.complete()
                        : FishingOutcomes.continueAndIgnore())
            .get(0);
  }
}
