package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.Kill;
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
 * Durable flow outcomes: a flow whose name completed is answered from the store at once, also by a
 * sequencer started again; its task results are reused by another flow with other names; a failed
 * flow is not stored and runs again. The queue is a probe: every task in a flow's Enqueue is a task
 * run.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProvingOrchestratorDurabilityTest {
  private final ActorTestKit testKit =
      ActorTestKit.create("sequencer-durable", DurableTestConfig.config(""));

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private static FanOutReduce<Num, Num, Pair> sumOfSquares(Num... leaves) {
    return new FanOutReduce<>(
        TestTasks.Square.INSTANCE, List.of(leaves), TestTasks.Add.INSTANCE, Pair::new);
  }

  /**
   * The next Enqueue of a flow's tasks; the registration loop's offers and questions are skipped.
   */
  private static QueueCommand.Enqueue nextFlowEnqueue(TestProbe<QueueCommand> queue) {
    while (true) {
      QueueCommand command = queue.receiveMessage(Duration.ofSeconds(5));
      if (command instanceof QueueCommand.Enqueue enqueue
          && enqueue.tasks().stream()
              .noneMatch(t -> t.taskType().equals(WorkerRegistrationTask.NAME))) {
        return enqueue;
      }
    }
  }

  /** For 300 ms no flow task reaches the queue. */
  private static void noFlowEnqueue(TestProbe<QueueCommand> queue) {
    long deadline = System.nanoTime() + Duration.ofMillis(300).toNanos();
    while (System.nanoTime() < deadline) {
      QueueCommand command;
      try {
        command = queue.receiveMessage(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      } catch (AssertionError timeout) {
        return;
      }
      if (command instanceof QueueCommand.Enqueue enqueue
          && enqueue.tasks().stream()
              .noneMatch(t -> t.taskType().equals(WorkerRegistrationTask.NAME))) {
        throw new AssertionError("a task ran: " + enqueue.tasks());
      }
    }
  }

  private static void answer(QueueCommand.Enqueue enqueue, String runId) {
    for (TaskEnvelope task : enqueue.tasks()) {
      Object result =
          task.payload() instanceof Num n
              ? Num.of(n.value() * n.value())
              : Num.of(
                  ((Pair) task.payload()).left().value() + ((Pair) task.payload()).right().value());
      enqueue
          .replyTo()
          .tell(
              new TaskOutcome.Succeeded(
                  task.taskId(), task.flowId(), runId, task.taskType(), 1, "w", result));
    }
  }

  private record Started(ActorRef<ProvingOrchestrator.Command> sequencer, String runId) {}

  private Started start(TestProbe<QueueCommand> queue) {
    CompletableFuture<Object> started = new CompletableFuture<>();
    ActorRef<ProvingOrchestrator.Command> sequencer =
        testKit.spawn(
            ProvingOrchestrator.create(
                queue.getRef(), StartupPlan.fixed(new TestTasks.Keys("k")), started));
    started
        .orTimeout(10, java.util.concurrent.TimeUnit.SECONDS)
        .join(); // the stores have recovered
    return new Started(sequencer, status(sequencer).runId());
  }

  private ProvingOrchestrator.Status status(ActorRef<ProvingOrchestrator.Command> sequencer) {
    TestProbe<ProvingOrchestrator.Status> status = testKit.createTestProbe();
    sequencer.tell(new ProvingOrchestrator.GetStatus(status.getRef()));
    return status.receiveMessage();
  }

  @Test
  void aCompletedFlowNameIsAnsweredFromTheStoreAlsoAfterARestartAndItsResultsServeOtherFlows() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    Started first = start(queue);
    TestProbe<FlowResult> requester = testKit.createTestProbe();

    first
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "batch-1", sumOfSquares(Num.of(1), Num.of(2)), requester.getRef()));
    QueueCommand.Enqueue leaves = nextFlowEnqueue(queue);
    answer(leaves, first.runId());
    answer(nextFlowEnqueue(queue), first.runId());
    FlowResult.Completed done = requester.expectMessageClass(FlowResult.Completed.class);
    assertEquals(Num.of(5), done.result());
    assertFalse(done.restored());

    first
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "batch-1", sumOfSquares(Num.of(1), Num.of(2)), requester.getRef()));
    FlowResult.Completed again = requester.expectMessageClass(FlowResult.Completed.class);
    assertTrue(again.restored(), "answered from the flow-outcome store");
    assertEquals(Num.of(5), again.result());
    noFlowEnqueue(queue);

    // a sequencer started again (the process restarted): its stores recover from the journal
    testKit.stop(first.sequencer());
    Started second = start(queue);
    TestProbe<ProvingOrchestrator.StoredFlows> stored = testKit.createTestProbe();
    second
        .sequencer()
        .tell(
            new ProvingOrchestrator.GetStoredFlows(List.of("batch-1", "batch-2"), stored.getRef()));
    assertEquals(List.of("batch-1"), stored.receiveMessage().names());

    second
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "batch-1", sumOfSquares(Num.of(1), Num.of(2)), requester.getRef()));
    assertTrue(requester.expectMessageClass(FlowResult.Completed.class).restored());
    // another name, the same work and two more leaves: only the new leaves and the merges they take
    // run
    second
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "batch-2",
                sumOfSquares(Num.of(1), Num.of(2), Num.of(3), Num.of(4)),
                requester.getRef()));
    QueueCommand.Enqueue rest = nextFlowEnqueue(queue);
    assertEquals(
        List.of(Num.of(3), Num.of(4)),
        rest.tasks().stream().map(TaskEnvelope::payload).toList(),
        "leaves 1 and 2 (and their merge, 1+4) come from the result store");
    answer(rest, second.runId());
    QueueCommand.Enqueue merge = nextFlowEnqueue(queue);
    assertEquals(
        List.of(new Pair(Num.of(9), Num.of(16))),
        merge.tasks().stream().map(TaskEnvelope::payload).toList());
    answer(merge, second.runId());
    QueueCommand.Enqueue root = nextFlowEnqueue(queue);
    assertEquals(
        List.of(new Pair(Num.of(5), Num.of(25))),
        root.tasks().stream().map(TaskEnvelope::payload).toList());
    answer(root, second.runId());
    FlowResult.Completed batch2 = requester.expectMessageClass(FlowResult.Completed.class);
    assertEquals(Num.of(30), batch2.result());
    assertEquals(3, batch2.stats().reused());

    ProvingOrchestrator.Status seen = status(second.sequencer());
    assertEquals(1, seen.flowsRestored());
    assertEquals(3, seen.tasksReused());
    testKit.stop(second.sequencer());
  }

  @Test
  void aFailedFlowIsNotStoredAndRunsAgainUnderItsName() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    Started started = start(queue);
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    started
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "doomed/1 x", sumOfSquares(Num.of(40)), requester.getRef()));
    QueueCommand.Enqueue first = nextFlowEnqueue(queue);
    TaskEnvelope task = first.tasks().get(0);
    first
        .replyTo()
        .tell(
            new TaskOutcome.Failed(
                task.taskId(),
                task.flowId(),
                started.runId(),
                task.taskType(),
                3,
                "IllegalStateException: boom"));
    assertTrue(requester.expectMessageClass(FlowResult.Failed.class).reason().contains("boom"));

    started
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "doomed/1 x", sumOfSquares(Num.of(40)), requester.getRef()));
    QueueCommand.Enqueue retry = nextFlowEnqueue(queue);
    assertEquals(
        List.of(Num.of(40)),
        retry.tasks().stream().map(TaskEnvelope::payload).toList(),
        "neither the flow nor its failed task was stored: it runs again");
    answer(retry, started.runId());
    assertEquals(Num.of(1600), requester.expectMessageClass(FlowResult.Completed.class).result());
    testKit.stop(started.sequencer());
  }

  /** Not CborSerializable: Pekko has no serializer for it. */
  record Plain(long value) {}

  @Test
  void aFlowResultWithoutASerializerIsNotStoredAndTheSequencerRunsOn() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    Started started = start(queue);
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    FlowLogic<Plain> plain =
        scope ->
            scope.push(
                TestTasks.Square.INSTANCE, Num.of(6), r -> scope.complete(new Plain(r.value())));
    // Pekko's NotSerializableException is checked and undeclared: it used to pass the store's
    // catch and stop the sequencer with every flow it ran
    LoggingTestKit.warn("result cannot be serialised")
        .expect(
            testKit.system(),
            () -> {
              started
                  .sequencer()
                  .tell(new ProvingOrchestrator.RunFlow<>("plain", plain, requester.getRef()));
              answer(nextFlowEnqueue(queue), started.runId());
              return null;
            });
    // (the answer itself does not reach the probe: serialize-messages is on, and Plain has no
    // serializer; a requester in the same JVM gets it)
    started
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "after", sumOfSquares(Num.of(7)), requester.getRef()));
    answer(nextFlowEnqueue(queue), started.runId());
    assertEquals(Num.of(49), requester.expectMessageClass(FlowResult.Completed.class).result());
    testKit.stop(started.sequencer());
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> RuntimeException sneaky(Throwable e) throws E {
    throw (E) e;
  }

  @Test
  void whateverAFlowsLogicThrowsFailsThatFlowWithTheErrorAsReason() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    Started started = start(queue);
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    started
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<Num>(
                "sneaky",
                scope -> {
                  throw sneaky(new IOException("disk gone"));
                },
                requester.getRef()));
    String sneakyReason = requester.expectMessageClass(FlowResult.Failed.class).reason();
    assertTrue(sneakyReason.contains("IOException: disk gone"), sneakyReason);

    started
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<Num>(
                "asserts",
                scope ->
                    scope.push(
                        TestTasks.Square.INSTANCE,
                        Num.of(11),
                        r -> {
                          throw new AssertionError("not a square: " + r.value());
                        }),
                requester.getRef()));
    answer(nextFlowEnqueue(queue), started.runId());
    String assertReason = requester.expectMessageClass(FlowResult.Failed.class).reason();
    assertTrue(assertReason.contains("AssertionError: not a square: 121"), assertReason);

    ProvingOrchestrator.Status seen = status(started.sequencer());
    assertEquals(0, seen.flowsRunning());
    assertEquals(2, seen.flowsFailed());
    testKit.stop(started.sequencer());
  }

  @Test
  void aFlowWhoseActorFailsIsAnsweredItsTasksWithdrawnAndItsClaimsGivenUp() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    Started started = start(queue);
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    started
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "killed", sumOfSquares(Num.of(13)), requester.getRef()));
    String flowId = nextFlowEnqueue(queue).tasks().get(0).flowId();
    // another flow pushes the same task meanwhile: it waits on the first flow's claim
    TestProbe<FlowResult> waiter = testKit.createTestProbe();
    started
        .sequencer()
        .tell(
            new ProvingOrchestrator.RunFlow<>(
                "waits-on-killed", sumOfSquares(Num.of(13)), waiter.getRef()));
    noFlowEnqueue(queue);
    // a fault in the flow runner itself, as Pekko's Kill makes one (values no other test here
    // stores, so that their tasks run)
    testKit
        .system()
        .classicSystem()
        .actorSelection(started.sequencer().path().child(flowId))
        .tell(Kill.getInstance(), org.apache.pekko.actor.ActorRef.noSender());
    String reason = requester.expectMessageClass(FlowResult.Failed.class).reason();
    assertTrue(reason.contains("stopped without an outcome"), reason);
    boolean withdrawn = false;
    QueueCommand.Enqueue computedByTheWaiter = null;
    while (!withdrawn || computedByTheWaiter == null) {
      QueueCommand command = queue.receiveMessage(Duration.ofSeconds(5));
      if (command instanceof QueueCommand.CancelFlow cancel && cancel.flowId().equals(flowId)) {
        withdrawn = true;
      } else if (command instanceof QueueCommand.Enqueue enqueue
          && enqueue.tasks().get(0).taskType().equals(TestTasks.Square.INSTANCE.name())) {
        computedByTheWaiter = enqueue; // the dead flow's claim was given up: the waiter runs it
      } // the registration loop's messages, skipped
    }
    assertEquals(
        List.of(Num.of(13)),
        computedByTheWaiter.tasks().stream().map(TaskEnvelope::payload).toList());
    assertFalse(computedByTheWaiter.tasks().get(0).flowId().equals(flowId));
    assertEquals(1, status(started.sequencer()).flowsRunning());
    testKit.stop(started.sequencer());
  }

  /**
   * A sequencer that cannot start (a bound of its result store out of range) fails what waits for
   * its start, naming the setting, instead of leaving it waiting for ever.
   */
  @Test
  void aSequencerThatCannotStartFailsItsStartNamingWhy() throws Exception {
    ActorTestKit kit =
        ActorTestKit.create(
            "sequencer-bad-bound",
            DurableTestConfig.config("prover.persistence.results.max-entries = 0"));
    try {
      CompletableFuture<Object> started = new CompletableFuture<>();
      kit.spawn(
          ProvingOrchestrator.create(
              kit.createTestProbe(QueueCommand.class).getRef(),
              StartupPlan.fixed(new TestTasks.Keys("k")),
              started));
      java.util.concurrent.ExecutionException failed =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.util.concurrent.ExecutionException.class,
              () -> started.get(10, java.util.concurrent.TimeUnit.SECONDS));
      org.junit.jupiter.api.Assertions.assertEquals(
          "the sequencer failed to start: prover.persistence.results.max-entries must be at least"
              + " 1, was 0",
          failed.getCause().getMessage());
    } finally {
      kit.shutdownTestKit();
    }
  }
}
