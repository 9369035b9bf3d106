package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.MissingTasks;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import java.time.Duration;
import java.util.List;
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
 * The registration task on offer is not lost with the queue entity that held it: the loop offers
 * the same task again when a queue node is gone, and when the queue, asked every check interval, no
 * longer holds it.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerRegistrationRecoveryTest {
  private static final String RUN = "run-1";
  // one task on offer: these tests follow that one task through its losses; a queue node's loss
  // is said at INFO for a second after its removal, then a task missing is a WARN again
  private static final Duration LOSS_WINDOW = Duration.ofSeconds(1);
  private final ActorTestKit testKit =
      ActorTestKit.create(
          "registration-recovery",
          TestConfig.config(
              "prover.sequencer.registration-offers = 1\n"
                  + "prover.sequencer.loss-check-interval = 200ms\n"
                  + "prover.sequencer.loss-check-window = "
                  + LOSS_WINDOW.toMillis()
                  + "ms"));
  private final TestTasks.Keys keys = new TestTasks.Keys("test-key");

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private static TaskOutcome.Succeeded registered(TaskEnvelope task, String workerId) {
    return new TaskOutcome.Succeeded(
        task.taskId(),
        task.flowId(),
        RUN,
        task.taskType(),
        1,
        workerId,
        new WorkerRegistrationTask.Registered(workerId));
  }

  private WorkerRegistrationFlow.Status status(ActorRef<WorkerRegistrationFlow.Command> flow) {
    TestProbe<WorkerRegistrationFlow.Status> probe = testKit.createTestProbe();
    flow.tell(new WorkerRegistrationFlow.GetStatus(probe.getRef()));
    return probe.receiveMessage();
  }

  @Test
  void aLostQueueNodeReOffersTheTaskOnOffer() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(WorkerRegistrationFlow.create(queue.getRef(), RUN, keys, Duration.ZERO));
    TaskEnvelope offered = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks().get(0);

    QueueCommand.Enqueue again =
        LoggingTestKit.info(
                "queue node pekko://prover@10.0.0.7:2552 left: re-offered task " + offered.taskId())
            .expect(
                testKit.system(),
                () -> {
                  flow.tell(
                      new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.7:2552", 42));
                  return queue.expectMessageClass(QueueCommand.Enqueue.class);
                });
    assertEquals(
        List.of(offered),
        again.tasks(),
        "the same task: the queue ignores it where it still holds it");

    // a worker that joins afterwards takes it and registers; the loop goes on with the next task
    again.replyTo().tell(registered(offered, "w1"));
    TaskEnvelope next = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks().get(0);
    assertEquals(WorkerRegistrationTask.NAME, next.taskType());
    assertEquals(new WorkerRegistrationFlow.Status(1, true, 1, List.of("w1")), status(flow));
  }

  @Test
  void anOfferLostAtAQueueNodesRemovalIsAskedAboutASecondLaterAndOfferedAgainAtInfo() {
    // a queue node that crashed: the offer made at its removal can reach its region before the
    // shards moved, and be lost; the loop asks loss-check-interval later (200 ms here, 1 s
    // shipped), not at its next periodic check (60 s here)
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(
            WorkerRegistrationFlow.create(queue.getRef(), RUN, keys, Duration.ofSeconds(60)));
    TaskEnvelope offered = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks().get(0);
    String lost = "pekko://prover@10.0.0.7:2552";
    flow.tell(new ProvingOrchestrator.QueueNodeLost(lost, 42));
    assertEquals(List.of(offered), queue.expectMessageClass(QueueCommand.Enqueue.class).tasks());
    QueueCommand.CheckHeld check =
        queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofMillis(800));
    assertEquals(List.of(offered.taskId()), check.taskIds());

    QueueCommand.Enqueue again =
        missingThenOfferedAgain(
            LoggingTestKit.info(
                "Registration task "
                    + offered.taskId()
                    + " was no longer held by the queue after queue node(s) "
                    + lost
                    + " were removed"),
            queue,
            check,
            offered);
    assertEquals(List.of(offered), again.tasks());
    testKit.stop(flow);
  }

  @Test
  void aTaskTheQueueNoLongerHoldsIsOfferedAgainAtTheNextCheck() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(
            WorkerRegistrationFlow.create(queue.getRef(), RUN, keys, Duration.ofMillis(200)));
    QueueCommand.Enqueue offer = queue.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope offered = offer.tasks().get(0);

    QueueCommand.CheckHeld check = queue.expectMessageClass(QueueCommand.CheckHeld.class);
    assertEquals(
        new QueueCommand.CheckHeld(
            WorkerRegistrationTask.NAME, List.of(offered.taskId()), check.replyTo()),
        check);
    check
        .replyTo()
        .tell(new MissingTasks(WorkerRegistrationTask.NAME, List.of())); // held: nothing to do
    queue.expectMessageClass(QueueCommand.CheckHeld.class);

    QueueCommand.Enqueue again =
        missingThenOfferedAgain(
            LoggingTestKit.warn(
                "Registration task " + offered.taskId() + " was no longer held by the queue"),
            queue,
            check,
            offered);
    assertEquals(List.of(offered), again.tasks());
    assertEquals(new WorkerRegistrationFlow.Status(0, true, 1, List.of()), status(flow));
  }

  @Test
  void aTaskMissingWhileAQueueNodeLeavesIsOfferedAgainAndSaidAtInfo() {
    // a rolling restart: the node's shards are handed off before it is Leaving, and the check
    // may come before its removal; that is expected, not a loss nobody reported
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(
            WorkerRegistrationFlow.create(queue.getRef(), RUN, keys, Duration.ofMillis(200)));
    TaskEnvelope offered = queue.expectMessageClass(QueueCommand.Enqueue.class).tasks().get(0);
    String leaving = "pekko://prover@10.0.0.7:2552";
    flow.tell(new ProvingOrchestrator.QueueNodeLeaving(leaving, 42));
    QueueCommand.CheckHeld check = queue.expectMessageClass(QueueCommand.CheckHeld.class);

    QueueCommand.Enqueue again =
        missingThenOfferedAgain(
            LoggingTestKit.info(
                "Registration task "
                    + offered.taskId()
                    + " was no longer held by the queue while queue node(s) "
                    + leaving
                    + " leave"),
            queue,
            check,
            offered);
    assertEquals(List.of(offered), again.tasks());

    // once it is removed (and its re-offer went out), a task missing again after the loss window
    // is a loss nobody reported: WARN
    flow.tell(new ProvingOrchestrator.QueueNodeLost(leaving, 42));
    long lostAt = System.nanoTime();
    queue.fishForMessage(
        Duration.ofSeconds(3),
        m ->
            m instanceof QueueCommand.Enqueue
                ? FishingOutcomes.complete()
                : FishingOutcomes.continueAndIgnore());
    QueueCommand.CheckHeld later =
        (QueueCommand.CheckHeld)
            queue
                .fishForMessage(
                    Duration.ofSeconds(5),
                    m ->
                        m instanceof QueueCommand.CheckHeld
                                && System.nanoTime() - lostAt > LOSS_WINDOW.toNanos()
                            ? FishingOutcomes.complete()
                            : FishingOutcomes.continueAndIgnore())
                .get(0);
    missingThenOfferedAgain(
        LoggingTestKit.warn(
            "Registration task " + offered.taskId() + " was no longer held by the queue: offered"),
        queue,
        later,
        offered);
  }

  @Test
  void aReOfferedTaskCompletedByTwoWorkersCountsBoth() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(WorkerRegistrationFlow.create(queue.getRef(), RUN, keys, Duration.ZERO));
    QueueCommand.Enqueue offer = queue.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope first = offer.tasks().get(0);
    flow.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.7:2552", 42));
    queue.expectMessageClass(QueueCommand.Enqueue.class);

    // the copy the lost entity dispatched did reach a worker after all, and the re-offered copy
    // reached another
    offer.replyTo().tell(registered(first, "w1"));
    queue.expectMessageClass(QueueCommand.Enqueue.class); // the next task
    offer.replyTo().tell(registered(first, "w2"));
    offer.replyTo().tell(registered(first, "w2")); // a repeated outcome counts once
    queue.expectNoMessage(Duration.ofMillis(100)); // still one task on offer
    assertEquals(new WorkerRegistrationFlow.Status(2, true, 1, List.of("w1", "w2")), status(flow));
  }

  /**
   * Answers {@code check} that the queue no longer holds {@code offered}; returns the loop's offer
   * of it again, which comes with {@code line} in the log.
   */
  private QueueCommand.Enqueue missingThenOfferedAgain(
      LoggingTestKit line,
      TestProbe<QueueCommand> queue,
      QueueCommand.CheckHeld check,
      TaskEnvelope offered) {
    return line.expect(
        testKit.system(),
        () -> {
          check
              .replyTo()
              .tell(new MissingTasks(WorkerRegistrationTask.NAME, List.of(offered.taskId())));
          return QueueProbes.nextEnqueue(queue);
        });
  }
}
