package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.MissingTasks;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;
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
import org.slf4j.event.Level;

/**
 * A flow sends a task again only when it was lost: overdue tasks are asked about (CheckHeld) and
 * only those the queue no longer holds are re-sent; a lost queue node re-sends every pending task.
 * The queue is a probe.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FlowRunnerResendTest {
  private static final String RUN = "run-1";
  private final ActorTestKit testKit = ActorTestKit.create("flow-resend", TestConfig.config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  /** Squares of 1..leaves, reduced by Add: one leaf task per input, all pushed at start. */
  private static FanOutReduce<Num, Num, Pair> sumOfSquares(int leaves) {
    List<Num> inputs = LongStream.rangeClosed(1, leaves).mapToObj(Num::of).toList();
    return new FanOutReduce<>(TestTasks.Square.INSTANCE, inputs, TestTasks.Add.INSTANCE, Pair::new);
  }

  private static TaskOutcome.Succeeded success(TaskEnvelope task, long value) {
    return new TaskOutcome.Succeeded(
        task.taskId(), task.flowId(), RUN, task.taskType(), 1, "w", Num.of(value));
  }

  private static List<String> ids(List<TaskEnvelope> tasks) {
    return tasks.stream().map(TaskEnvelope::taskId).toList();
  }

  @Test
  void tasksMissingWhileAQueueNodeLeavesAreReSentAndSaidAtInfo() {
    // a rolling restart: the leaving node's entities were handed off, and the flow's question
    // about overdue tasks came before the node's removal
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    ActorRef<FlowRunner.Command> flow =
        testKit.spawn(
            TestFlows.create(
                "moved",
                RUN,
                queue.getRef(),
                sumOfSquares(1),
                requester.getRef(),
                Duration.ofSeconds(1)));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    flow.tell(new ProvingOrchestrator.QueueNodeLeaving("pekko://prover@10.0.0.7:2552", 42));
    QueueCommand.CheckHeld check =
        queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofSeconds(3));
    QueueCommand.Enqueue resent =
        LoggingTestKit.info(
                "re-sent 1 task(s) the queue no longer held: moved:1, while queue node(s)"
                    + " pekko://prover@10.0.0.7:2552 leave")
            .expect(
                testKit.system(),
                () -> {
                  check
                      .replyTo()
                      .tell(new MissingTasks("square", List.of(leaves.tasks().get(0).taskId())));
                  return queue.expectMessageClass(QueueCommand.Enqueue.class);
                });
    assertEquals(leaves.tasks(), resent.tasks());
    testKit.stop(flow);
  }

  /**
   * A queue node whose catalog lacks the type (restarted without the plugin) refuses the task: the
   * flow does not fail, says so once, and sends the task again once it is overdue; a queue node
   * that knows the type then computes it and the flow completes (a trial's job failed at once).
   */
  @Test
  void aTaskRefusedByAQueueNodeOfAnotherBuildIsKeptAndSentAgainOnceOverdue() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "other-build",
            RUN,
            queue.getRef(),
            sumOfSquares(1),
            requester.getRef(),
            Duration.ofSeconds(1)));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope leaf = leaves.tasks().get(0);
    String reason =
        TaskOutcome.Rejected.NOT_IN_QUEUE_NODE_CATALOG
            + "10.0.0.7:2552, which knows [worker-registration]: it runs another --plugin";
    TaskOutcome.Rejected refused =
        new TaskOutcome.Rejected(leaf.taskId(), leaf.flowId(), RUN, leaf.taskType(), reason);
    LoggingTestKit.warn("was refused by a queue node whose task catalog lacks the type: " + reason)
        .expect(
            testKit.system(),
            () -> {
              leaves.replyTo().tell(refused);
              return null;
            });
    // a second refusal (the task sent again) says nothing more, and the flow has not failed
    LoggingTestKit.warn("lacks the type")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () -> {
              leaves.replyTo().tell(refused);
              return null;
            });
    requester.expectNoMessage(Duration.ofMillis(300));
    // overdue: asked about, missing, sent again; this time a queue node computes it
    QueueCommand.CheckHeld check =
        queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofSeconds(5));
    check.replyTo().tell(new MissingTasks("square", List.of(leaf.taskId())));
    QueueCommand.Enqueue again = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(List.of(leaf.taskId()), ids(again.tasks()));
    again.replyTo().tell(success(leaf, 1));
    FlowResult result = requester.expectMessageClass(FlowResult.class, Duration.ofSeconds(5));
    assertTrue(result instanceof FlowResult.Completed, result.toString());
  }

  @Test
  void asksAboutOverdueTasksAndReSendsOnlyThoseTheQueueNoLongerHolds() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "lost",
            RUN,
            queue.getRef(),
            sumOfSquares(2),
            requester.getRef(),
            Duration.ofSeconds(1)));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope first = leaves.tasks().get(0);
    TaskEnvelope second = leaves.tasks().get(1);

    QueueCommand.CheckHeld check =
        queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofSeconds(3));
    assertEquals("square", check.taskType());
    assertEquals(
        ids(leaves.tasks()), check.taskIds(), "both leaves are overdue: the flow asks about both");

    QueueCommand.Enqueue resent =
        LoggingTestKit.warn("re-sent 1 task(s) the queue no longer held: lost:2")
            .expect(
                testKit.system(),
                () -> {
                  check.replyTo().tell(new MissingTasks("square", List.of(second.taskId())));
                  // the same answer twice (two entities, or a repeat) re-sends once
                  check.replyTo().tell(new MissingTasks("square", List.of(second.taskId())));
                  return queue.expectMessageClass(QueueCommand.Enqueue.class);
                });
    assertEquals(
        List.of(second), resent.tasks(), "only the missing task, with its own id and input");
    queue.expectNoMessage(Duration.ofMillis(300));

    leaves.replyTo().tell(success(first, 1));
    leaves.replyTo().tell(success(second, 4));
    QueueCommand.Enqueue merge = queue.expectMessageClass(QueueCommand.Enqueue.class);
    // an answer naming a task that is no longer pending (its outcome came meanwhile) re-sends
    // nothing
    check.replyTo().tell(new MissingTasks("square", List.of(first.taskId(), second.taskId())));
    leaves.replyTo().tell(success(merge.tasks().get(0), 5));
    FlowResult.Completed done = requester.expectMessageClass(FlowResult.Completed.class);
    assertEquals(Num.of(5), done.result());
    assertEquals(1, done.stats().resent(), "one task re-sent in all");
    queue.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void whileTheQueueHoldsEveryOverdueTaskNothingIsReSentAndNothingWarns() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "waiting",
            RUN,
            queue.getRef(),
            sumOfSquares(2),
            requester.getRef(),
            Duration.ofMillis(200)));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);

    List<Long> checkedAt =
        LoggingTestKit.empty()
            .withLogLevel(Level.WARN)
            .withOccurrences(0)
            .expect(
                testKit.system(),
                () -> {
                  List<Long> times = new ArrayList<>();
                  // the queue holds both tasks (they wait behind a long queue): each check is
                  // answered with nothing missing
                  for (int i = 0; i < 3; i++) {
                    QueueCommand.CheckHeld check =
                        queue.expectMessageClass(
                            QueueCommand.CheckHeld.class, Duration.ofSeconds(3));
                    times.add(System.nanoTime());
                    assertEquals(ids(leaves.tasks()), check.taskIds());
                    check.replyTo().tell(new MissingTasks("square", List.of()));
                  }
                  return times;
                });
    // checks back off: the second 400 ms after the first, the third 800 ms after the second, so
    // 1200 ms from the first to the third (without backoff 400 ms). Measured where the test takes
    // them, the span is short by how late it took the first: 800 ms leaves 400 ms for that
    assertTrue(
        checkedAt.get(2) - checkedAt.get(0) >= Duration.ofMillis(800).toNanos(),
        "checks back off (200 ms, 400 ms, 800 ms ...): "
            + (checkedAt.get(2) - checkedAt.get(0)) / 1_000_000
            + " ms from the first to the third");

    leaves.replyTo().tell(success(leaves.tasks().get(0), 1));
    leaves.replyTo().tell(success(leaves.tasks().get(1), 4));
    QueueCommand.Enqueue merge = queue.expectMessageClass(QueueCommand.Enqueue.class);
    leaves.replyTo().tell(success(merge.tasks().get(0), 5));
    FlowResult.Completed done = requester.expectMessageClass(FlowResult.Completed.class);
    assertEquals(0, done.stats().resent(), "nothing was lost, nothing re-sent");
  }

  @Test
  void checksCarryAtMostAThousandIdsEach() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "wide",
            RUN,
            queue.getRef(),
            sumOfSquares(2500),
            requester.getRef(),
            Duration.ofMillis(300)));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(2500, leaves.tasks().size());

    Set<String> asked = new HashSet<>();
    List<Integer> sizes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      QueueCommand.CheckHeld check =
          queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofSeconds(3));
      sizes.add(check.taskIds().size());
      asked.addAll(check.taskIds());
    }
    assertEquals(List.of(1000, 1000, 500), sizes, "ids split into messages of at most 1000");
    assertEquals(new HashSet<>(ids(leaves.tasks())), asked, "every overdue task asked about once");
  }

  @Test
  void aLostQueueNodeReSendsEveryPendingTaskAtOnceAndChecksThemSoonAfter() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    ActorRef<FlowRunner.Command> flow =
        testKit.spawn(
            TestFlows.create(
                "moved",
                RUN,
                queue.getRef(),
                sumOfSquares(3),
                requester.getRef(),
                Duration.ofSeconds(2)));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    leaves.replyTo().tell(success(leaves.tasks().get(0), 1));
    queue.expectNoMessage(Duration.ofMillis(100));

    QueueCommand.Enqueue resent =
        LoggingTestKit.info(
                "queue node pekko://prover@10.0.0.7:2552 left: re-sent 2 pending task(s)")
            .expect(
                testKit.system(),
                () -> {
                  flow.tell(
                      new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.7:2552", 42));
                  return queue.expectMessageClass(QueueCommand.Enqueue.class);
                });
    assertEquals(
        leaves.tasks().subList(1, 3),
        resent.tasks(),
        "every pending task, same ids, in one Enqueue");

    // asked about at the next tick (every 500 ms here), not only after resend-after: a re-send that
    // raced with the
    // shard's move to another node may have been lost
    QueueCommand.CheckHeld check =
        queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofSeconds(1));
    assertEquals(ids(resent.tasks()), check.taskIds());
    check.replyTo().tell(new MissingTasks("square", List.of()));

    FlowResult.Completed done = finish(queue, requester, leaves.replyTo(), resent.tasks(), 2);
    assertEquals(2, done.stats().resent());
  }

  /**
   * Two queue nodes stopped together are removed in one gossip round (13 ms apart in a trial):
   * every flow re-sent all its pending tasks twice, and a copy that reached a free worker after the
   * first one's result was computed again. Now the second loss re-sends nothing; the first loss
   * check asks about every queued task, a task pushed between the two losses too (pushed in the
   * window, it would wait for the second check), and re-sends only what the queue no longer holds.
   * A loss more than a loss-check-interval later re-sends everything again. The interval is 2 s
   * here, so that the two losses (sent back to back) fall within one on a loaded machine.
   */
  @Test
  void aSecondQueueNodeLostWithinAnIntervalOfTheFirstReSendsNothingMoreAndTheLossCheckCoversIt() {
    ActorTestKit kit =
        ActorTestKit.create(
            "two-lost", TestConfig.config("prover.sequencer.loss-check-interval = 2s"));
    try {
      TestProbe<QueueCommand> queue = kit.createTestProbe();
      TestProbe<FlowResult> requester = kit.createTestProbe();
      ActorRef<FlowRunner.Command> flow =
          kit.spawn(
              TestFlows.create(
                  "two-lost",
                  RUN,
                  queue.getRef(),
                  sumOfSquares(3),
                  requester.getRef(),
                  Duration.ofSeconds(60)));
      QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
      flow.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.7:2552", 1));
      assertEquals(
          ids(leaves.tasks()), ids(queue.expectMessageClass(QueueCommand.Enqueue.class).tasks()));
      // nothing else goes out before the first loss check (2 s); half a second on, two leaves
      // answered: their merge is pushed between the two losses, due at the second check by itself
      queue.expectNoMessage(Duration.ofMillis(500));
      leaves.replyTo().tell(success(leaves.tasks().get(1), 4));
      leaves.replyTo().tell(success(leaves.tasks().get(2), 9));
      List<String> merge = ids(queue.expectMessageClass(QueueCommand.Enqueue.class).tasks());
      LoggingTestKit.info("Flow two-lost: queue node pekko://prover@10.0.0.8:2552 left too, ")
          .withMessageRegex(
              ".* not sent again; the next loss check asks the queue about the 2 queued"
                  + " task\\(s\\).*")
          .expect(
              kit.system(),
              () -> {
                flow.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.8:2552", 2));
                return null;
              });
      // nothing more is sent before the check: its first messages are the questions, one per
      // task type
      QueueCommand.CheckHeld check =
          (QueueCommand.CheckHeld) queue.receiveMessage(Duration.ofSeconds(4));
      QueueCommand.CheckHeld otherType =
          (QueueCommand.CheckHeld) queue.receiveMessage(Duration.ofSeconds(1));
      if (!check.taskType().equals("square")) {
        QueueCommand.CheckHeld swap = check;
        check = otherType;
        otherType = swap;
      }
      Set<String> asked = new HashSet<>(check.taskIds());
      asked.addAll(otherType.taskIds());
      List<String> queued = new ArrayList<>(merge);
      queued.add(leaves.tasks().get(0).taskId());
      assertEquals(
          new HashSet<>(queued),
          asked,
          "every queued task asked about at the first check, the merge pushed between the losses"
              + " too");
      check.replyTo().tell(new MissingTasks("square", List.of(leaves.tasks().get(0).taskId())));
      assertEquals(
          List.of(leaves.tasks().get(0).taskId()),
          ids(queue.expectMessageClass(QueueCommand.Enqueue.class).tasks()),
          "only what the second node's entity held, which the first re-send missed");

      // a loss outside the interval is a loss of its own: everything again
      queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofSeconds(4));
      flow.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.9:2552", 3));
      List<String> again = ids(nextEnqueue(queue).tasks());
      assertEquals(new HashSet<>(queued), new HashSet<>(again));
    } finally {
      kit.shutdownTestKit();
    }
  }

  /**
   * An operator's trial killed two queue nodes: two tasks pushed just after the removal's re-send
   * went to a dead region, and only the resend-after check (60 s in the cluster) found them. A task
   * pushed within the loss window is asked about at the loss checks, and re-sent when missing.
   */
  @Test
  void aTaskPushedJustAfterAQueueNodeLossAndLostIsFoundByTheLossChecksNotAfterResendAfter() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    ActorRef<FlowRunner.Command> flow =
        testKit.spawn(
            TestFlows.create(
                "pushed-after",
                RUN,
                queue.getRef(),
                sumOfSquares(2),
                requester.getRef(),
                Duration.ofSeconds(60)));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    flow.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.7:2552", 5));
    queue.expectMessageClass(QueueCommand.Enqueue.class); // the re-send of both leaves
    leaves.replyTo().tell(success(leaves.tasks().get(0), 1));
    leaves.replyTo().tell(success(leaves.tasks().get(1), 4));
    // the merge, pushed after the re-send: this Enqueue is the one lost
    List<String> merge = null;
    while (merge == null) {
      if (queue.receiveMessage(Duration.ofSeconds(3)) instanceof QueueCommand.Enqueue pushed) {
        merge = ids(pushed.tasks());
      }
    }
    List<String> lost = merge;
    QueueCommand.CheckHeld asked =
        (QueueCommand.CheckHeld)
            queue
                .fishForMessage(
                    Duration.ofSeconds(4),
                    m ->
                        m instanceof QueueCommand.CheckHeld check
                                && check.taskIds().containsAll(lost)
                            ? FishingOutcomes.complete()
                            : FishingOutcomes.continueAndIgnore())
                .get(0);
    asked.replyTo().tell(new MissingTasks("add", lost));
    QueueCommand.Enqueue again = nextEnqueue(queue);
    assertEquals(lost, ids(again.tasks()), "the lost merge sent again within seconds");
    again.replyTo().tell(success(again.tasks().get(0), 5));
    assertEquals(Num.of(5), requester.expectMessageClass(FlowResult.Completed.class).result());
  }

  /** The next Enqueue the flow sends within 3 s; the checks it sends before are passed over. */
  private static QueueCommand.Enqueue nextEnqueue(TestProbe<QueueCommand> queue) {
    return (QueueCommand.Enqueue)
        queue
            .fishForMessage(
                Duration.ofSeconds(3),
                m ->
                    m instanceof QueueCommand.Enqueue
                        ? FishingOutcomes.complete()
                        : FishingOutcomes.continueAndIgnore())
            .get(0);
  }

  /**
   * Answers these tasks, then each of the {@code merges} merge tasks the flow pushes, with success.
   */
  private static FlowResult.Completed finish(
      TestProbe<QueueCommand> queue,
      TestProbe<FlowResult> requester,
      ActorRef<TaskOutcome> replyTo,
      List<TaskEnvelope> open,
      int merges) {
    open.forEach(task -> replyTo.tell(success(task, 0)));
    int answered = 0;
    while (answered < merges) {
      if (queue.receiveMessage(Duration.ofSeconds(3)) instanceof QueueCommand.Enqueue merge) {
        merge.tasks().forEach(task -> replyTo.tell(success(task, 0)));
        answered += merge.tasks().size();
      }
    }
    return requester.expectMessageClass(FlowResult.Completed.class);
  }

  @Test
  void afterAQueueNodeLossTheReSentTasksAreAskedAboutEverySecondAndALostReSendIsSentAgain() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    ActorRef<FlowRunner.Command> flow =
        testKit.spawn(
            TestFlows.create(
                "lossy",
                RUN,
                queue.getRef(),
                sumOfSquares(2),
                requester.getRef(),
                Duration.ofSeconds(60))); // the cluster's resend-after: ticks every 15 s
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    flow.tell(new ProvingOrchestrator.QueueNodeLost("pekko://prover@10.0.0.7:2552", 7));
    assertEquals(
        ids(leaves.tasks()), ids(queue.expectMessageClass(QueueCommand.Enqueue.class).tasks()));
    // that re-send raced with the shard's move and was lost: the question a second later finds it
    // missing
    QueueCommand.CheckHeld first =
        queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofSeconds(3));
    assertEquals(ids(leaves.tasks()), first.taskIds());
    // that race is part of a crashed queue node's loss: said at INFO (at the next tick), no WARN
    QueueCommand.CheckHeld second =
        LoggingTestKit.info(
                "re-sent 2 task(s) the queue no longer held: lossy:1, lossy:2, after queue node(s)"
                    + " pekko://prover@10.0.0.7:2552 were removed")
            .expect(
                testKit.system(),
                () -> {
                  first.replyTo().tell(new MissingTasks("square", first.taskIds()));
                  assertEquals(
                      ids(leaves.tasks()),
                      ids(queue.expectMessageClass(QueueCommand.Enqueue.class).tasks()));
                  // and it is asked about again a second later, not after the 60 s backoff
                  return queue.expectMessageClass(
                      QueueCommand.CheckHeld.class, Duration.ofSeconds(3));
                });
    assertEquals(ids(leaves.tasks()), second.taskIds());
    second.replyTo().tell(new MissingTasks("square", List.of()));
    leaves.replyTo().tell(success(leaves.tasks().get(0), 1));
    leaves.replyTo().tell(success(leaves.tasks().get(1), 4));
    QueueCommand.Enqueue merge = nextEnqueue(queue);
    leaves.replyTo().tell(success(merge.tasks().get(0), 5));
    assertEquals(Num.of(5), requester.expectMessageClass(FlowResult.Completed.class).result());
  }
}
