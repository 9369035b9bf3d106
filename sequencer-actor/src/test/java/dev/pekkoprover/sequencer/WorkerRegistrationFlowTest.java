package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.MissingTasks;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
 * The registration loop keeps {@code registration-offers} registration tasks on offer and tops up
 * after each completion; with several on offer, a lost entity or a failed task is mended for each
 * task id.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerRegistrationFlowTest {
  private final ActorTestKit testKit = ActorTestKit.create("registration", TestConfig.config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private SequencerSettings settings(int offers) {
    return SequencerSettings.fromConfig(testKit.system().settings().config())
        .withRegistrationOffers(offers);
  }

  private static TaskOutcome.Succeeded registered(TaskEnvelope task, String workerId) {
    return new TaskOutcome.Succeeded(
        task.taskId(),
        task.flowId(),
        "run-1",
        task.taskType(),
        1,
        workerId,
        new WorkerRegistrationTask.Registered(workerId));
  }

  private WorkerRegistrationFlow.Status status(ActorRef<WorkerRegistrationFlow.Command> flow) {
    TestProbe<WorkerRegistrationFlow.Status> status = testKit.createTestProbe();
    flow.tell(new WorkerRegistrationFlow.GetStatus(status.getRef()));
    return status.receiveMessage();
  }

  @Test
  void theDefaultKeepsOneOnOffer() {
    assertEquals(
        1, SequencerSettings.fromConfig(testKit.system().settings().config()).registrationOffers());
  }

  @Test
  void offersOneTaskAtATimeForever() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestTasks.Keys keys = new TestTasks.Keys("test-key");
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(WorkerRegistrationFlow.create(queue.getRef(), "run-1", keys, settings(1)));

    for (int worker = 1; worker <= 3; worker++) {
      QueueCommand.Enqueue offer = queue.expectMessageClass(QueueCommand.Enqueue.class);
      assertEquals(1, offer.tasks().size());
      TaskEnvelope task = offer.tasks().get(0);
      assertEquals(WorkerRegistrationTask.NAME, task.taskType());
      assertEquals(keys, task.payload(), "the registration task carries the parameters");
      queue.expectNoMessage(Duration.ofMillis(50)); // nothing more while this one is on offer
      offer
          .replyTo()
          .tell(
              new TaskOutcome.Succeeded(
                  task.taskId(),
                  task.flowId(),
                  "run-1",
                  task.taskType(),
                  1,
                  "w" + worker,
                  new WorkerRegistrationTask.Registered("w" + worker)));
    }
    queue.expectMessageClass(QueueCommand.Enqueue.class);

    assertEquals(
        new WorkerRegistrationFlow.Status(3, true, 1, List.of("w1", "w2", "w3")), status(flow));
  }

  /**
   * Parameters the queue refuses at enqueue (a trial's record that was not CborSerializable): one
   * ERROR line that says what to do, no offer again (the same parameters would be refused again),
   * and the line among the node's problems for {@code /status} and the job's progress until the
   * loop stops.
   */
  @Test
  void registrationTasksTheQueueRefusesAreNotOfferedAgainAndShowAsTheNodesProblem() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(
            WorkerRegistrationFlow.create(
                queue.getRef(), "run-1", new TestTasks.Keys("test-key"), settings(2)));
    QueueCommand.Enqueue offer = QueueProbes.nextEnqueue(queue);
    assertEquals(2, offer.tasks().size());
    String reason = "payload of class x.Keys cannot travel as a task input: make it a record";
    LoggingTestKit.error(
            "workers cannot register: the queue refused registration task "
                + offer.tasks().get(0).taskId()
                + " of run run-1: "
                + reason
                + ". Its parameters (dev.pekkoprover.testing.TestTasks$Keys) are what the start-up"
                + " plan made")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              for (TaskEnvelope task : offer.tasks()) {
                offer
                    .replyTo()
                    .tell(
                        new TaskOutcome.Rejected(
                            task.taskId(), task.flowId(), "run-1", task.taskType(), reason));
              }
              // past the 1 s registration-retry of a task that failed: nothing offered again
              queue.expectNoMessage(Duration.ofMillis(2500));
              return null;
            });
    assertEquals(new WorkerRegistrationFlow.Status(0, false, 0, List.of()), status(flow));
    List<String> problems = NodeProblems.get(testKit.system()).current();
    assertTrue(
        problems.stream()
            .anyMatch(
                line ->
                    line.startsWith("workers cannot register: the queue refused")
                        && line.endsWith("and start the sequencer again")),
        problems.toString());
    testKit.stop(flow);
    testKit
        .createTestProbe()
        .awaitAssert(
            () -> {
              assertTrue(
                  NodeProblems.get(testKit.system()).current().stream()
                      .noneMatch(line -> line.startsWith("workers cannot register")),
                  "a stopped loop reports nothing");
              return null;
            });
  }

  @Test
  void aLoopRunningForMonthsListsOnlyItsLatestRegistrationsButCountsThemAll() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(
            WorkerRegistrationFlow.create(
                queue.getRef(), "run-1", new TestTasks.Keys("test-key"), settings(1)));
    int total = WorkerRegistrationFlow.LISTED + 5;
    for (int i = 1; i <= total; i++) { // workers restarting over and over
      QueueCommand.Enqueue offer = queue.expectMessageClass(QueueCommand.Enqueue.class);
      offer.replyTo().tell(registered(offer.tasks().get(0), "w" + (i % 7)));
    }
    queue.expectMessageClass(QueueCommand.Enqueue.class);
    WorkerRegistrationFlow.Status seen = status(flow);
    assertEquals(total, seen.registrations());
    assertEquals(WorkerRegistrationFlow.LISTED, seen.registeredWorkers().size());
    assertEquals("w6", seen.registeredWorkers().get(0), "registration 6 is the oldest listed");
    assertEquals(
        "w" + (total % 7), seen.registeredWorkers().get(WorkerRegistrationFlow.LISTED - 1));
  }

  @Test
  void keepsSeveralOnOfferSoThatSeveralWorkersRegisterAtOnce() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestTasks.Keys keys = new TestTasks.Keys("test-key");
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(WorkerRegistrationFlow.create(queue.getRef(), "run-1", keys, settings(3)));

    QueueCommand.Enqueue first = queue.expectMessageClass(QueueCommand.Enqueue.class);
    List<TaskEnvelope> offered = first.tasks();
    assertEquals(3, offered.size(), "three tasks on offer from the start, in one Enqueue");
    assertEquals(3, offered.stream().map(TaskEnvelope::taskId).distinct().count());
    for (TaskEnvelope task : offered) {
      assertEquals(WorkerRegistrationTask.NAME, task.taskType());
      assertEquals(keys, task.payload());
    }
    queue.expectNoMessage(Duration.ofMillis(50)); // nothing more while three are on offer

    // two workers take two of them; the loop tops up to three again, with new ids
    first.replyTo().tell(registered(offered.get(1), "w1"));
    first.replyTo().tell(registered(offered.get(0), "w2"));
    Set<String> fresh = new HashSet<>();
    while (fresh.size() < 2) {
      for (TaskEnvelope task : queue.expectMessageClass(QueueCommand.Enqueue.class).tasks()) {
        fresh.add(task.taskId());
      }
    }
    assertTrue(
        fresh.stream().noneMatch(id -> offered.stream().anyMatch(t -> t.taskId().equals(id))),
        "new task ids: " + fresh);
    queue.expectNoMessage(Duration.ofMillis(50));
    assertEquals(new WorkerRegistrationFlow.Status(2, true, 3, List.of("w1", "w2")), status(flow));
  }

  @Test
  void severalOnOfferAreEachMendedAfterALoss() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestTasks.Keys keys = new TestTasks.Keys("test-key");
    SequencerSettings settings = settings(3);
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(
            WorkerRegistrationFlow.create(
                queue.getRef(),
                "run-1",
                keys,
                new SequencerSettings(
                    settings.resendAfter(),
                    settings.resendBackoffMax(),
                    settings.checkIdsPerMessage(),
                    settings.checkIdsPerTick(),
                    settings.checkTickMin(),
                    settings.lossCheckInterval(),
                    settings.lossCheckWindow(),
                    Duration.ofMillis(200),
                    Duration.ofMillis(300),
                    3,
                    settings.startupRetry(),
                    settings.startupMaxWaiting(),
                    settings.progressTimeout(),
                    settings.storeStatsTimeout())));
    QueueCommand.Enqueue first = queue.expectMessageClass(QueueCommand.Enqueue.class);
    List<TaskEnvelope> offered = first.tasks();
    List<String> ids = offered.stream().map(TaskEnvelope::taskId).toList();

    // a queue node left: every task on offer is offered again, same ids
    flow.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.7:2552", 42));
    assertEquals(offered, QueueProbes.nextEnqueue(queue).tasks());

    // the periodic check asks about all three; only the one the queue no longer holds is offered
    QueueCommand.CheckHeld check = queue.expectMessageClass(QueueCommand.CheckHeld.class);
    assertEquals(ids, check.taskIds());
    check.replyTo().tell(new MissingTasks(WorkerRegistrationTask.NAME, List.of(ids.get(2))));
    assertEquals(List.of(offered.get(2)), QueueProbes.nextEnqueue(queue).tasks());

    // one fails for good: its replacement waits out registration-retry, the other two stay
    first
        .replyTo()
        .tell(
            new TaskOutcome.Failed(
                ids.get(0),
                WorkerRegistrationFlow.FLOW_ID,
                "run-1",
                WorkerRegistrationTask.NAME,
                1,
                "worker broke"));
    assertEquals(new WorkerRegistrationFlow.Status(0, true, 2, List.of()), status(flow));
    QueueCommand.Enqueue replacement =
        queue
            .fishForMessage(
                Duration.ofSeconds(3),
                m ->
                    m instanceof QueueCommand.Enqueue
                        ? FishingOutcomes.complete()
                        : FishingOutcomes.continueAndIgnore())
            .stream()
            .map(QueueCommand.Enqueue.class::cast)
            .reduce((a, b) -> b)
            .orElseThrow();
    assertEquals(1, replacement.tasks().size());
    assertFalse(ids.contains(replacement.tasks().get(0).taskId()), "a new task id");
    assertEquals(3, status(flow).tasksOnOffer());
  }
}
