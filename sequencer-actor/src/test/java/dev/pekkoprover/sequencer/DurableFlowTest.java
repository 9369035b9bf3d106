package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Flows with durability on, against a queue played by a probe and a real result store (in-memory
 * journal): a flow restarted mid-way reuses what was stored and computes only the rest; two flows
 * pushing the same work compute it once; a failed or cancelled task is never stored and runs again
 * when asked for; a callback waits for the store. Every task a probe sees in an Enqueue is a task
 * run.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DurableFlowTest {
  private static final String RUN = "run-1";
  private final ActorTestKit testKit =
      ActorTestKit.create(
          "durable-flow", DurableTestConfig.config("prover.persistence.write-timeout = 500ms"));
  private final StoreSettings settings =
      StoreSettings.fromConfig(testKit.system().settings().config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  /** A store as the sequencer runs it: the event-sourced store, its writer and the read view. */
  private record Store(
      ResultIndex index,
      ActorRef<ResultStore.Command> store,
      ActorRef<ResultWriter.Command> writer) {
    FlowRunner.Durable durable() {
      return new FlowRunner.Durable(index, writer, "params");
    }
  }

  private Store startStore(String persistenceId) {
    ResultIndex index = new ResultIndex();
    TestProbe<ResultStore.Recovered> recovered = testKit.createTestProbe();
    ActorRef<ResultStore.Command> store =
        testKit.spawn(
            ResultStore.create(
                persistenceId, settings, settings.results(), index, recovered.getRef()));
    recovered.expectMessageClass(ResultStore.Recovered.class);
    return new Store(
        index, store, testKit.spawn(ResultWriter.create(store, persistenceId, settings)));
  }

  private void stopStore(Store store) {
    testKit.stop(store.writer());
    testKit.stop(store.store());
  }

  private static FanOutReduce<Num, Num, Pair> sumOfSquares(int leaves) {
    List<Num> inputs = LongStream.rangeClosed(1, leaves).mapToObj(Num::of).toList();
    return new FanOutReduce<>(TestTasks.Square.INSTANCE, inputs, TestTasks.Add.INSTANCE, Pair::new);
  }

  private static void succeed(QueueCommand.Enqueue enqueue, TaskEnvelope task, long value) {
    enqueue
        .replyTo()
        .tell(
            new TaskOutcome.Succeeded(
                task.taskId(), task.flowId(), RUN, task.taskType(), 1, "w", Num.of(value)));
  }

  private static void fail(QueueCommand.Enqueue enqueue, TaskEnvelope task) {
    enqueue
        .replyTo()
        .tell(
            new TaskOutcome.Failed(
                task.taskId(),
                task.flowId(),
                RUN,
                task.taskType(),
                3,
                "IllegalStateException: boom"));
  }

  private static List<Object> payloads(QueueCommand.Enqueue enqueue) {
    return enqueue.tasks().stream().map(TaskEnvelope::payload).toList();
  }

  private static long value(Object payload) {
    return payload instanceof Num num
        ? num.value() * num.value()
        : ((Pair) payload).left().value() + ((Pair) payload).right().value();
  }

  @Test
  void aFlowRestartedMidWayReusesWhatWasStoredAndComputesOnlyTheRest() {
    Store store = startStore("restart");
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    ActorRef<FlowRunner.Command> first =
        testKit.spawn(
            TestFlows.create(
                "sum",
                RUN,
                queue.getRef(),
                sumOfSquares(4),
                requester.getRef(),
                Duration.ZERO,
                store.durable()));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(4, leaves.tasks().size());
    succeed(leaves, leaves.tasks().get(0), 1);
    succeed(leaves, leaves.tasks().get(1), 4);
    QueueCommand.Enqueue merge = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(
        List.of(new Pair(Num.of(1), Num.of(4))),
        payloads(merge),
        "1+4 pushed once both were stored");

    // the flow dies with two leaves and the merge in flight; the store restarts and recovers from
    // its journal
    testKit.stop(first);
    stopStore(store);
    Store again = startStore("restart");
    assertEquals(2, again.index().size(), "the two stored leaves were recovered");

    TestProbe<QueueCommand> queue2 = testKit.createTestProbe();
    TestProbe<FlowResult> requester2 = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "sum",
            "run-2",
            queue2.getRef(),
            sumOfSquares(4),
            requester2.getRef(),
            Duration.ZERO,
            again.durable()));
    QueueCommand.Enqueue rest = queue2.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(
        List.of(Num.of(3), Num.of(4), new Pair(Num.of(1), Num.of(4))),
        payloads(rest),
        "only what was not stored runs: the two leaves in flight and the merge in flight");
    for (TaskEnvelope task : rest.tasks()) {
      rest.replyTo()
          .tell(
              new TaskOutcome.Succeeded(
                  task.taskId(),
                  task.flowId(),
                  "run-2",
                  task.taskType(),
                  1,
                  "w",
                  Num.of(value(task.payload()))));
    }
    QueueCommand.Enqueue right = queue2.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(List.of(new Pair(Num.of(9), Num.of(16))), payloads(right));
    TaskEnvelope rightTask = right.tasks().get(0);
    right
        .replyTo()
        .tell(
            new TaskOutcome.Succeeded(
                rightTask.taskId(), rightTask.flowId(), "run-2", "add", 1, "w", Num.of(25)));
    QueueCommand.Enqueue root = queue2.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope rootTask = root.tasks().get(0);
    root.replyTo()
        .tell(
            new TaskOutcome.Succeeded(
                rootTask.taskId(), rootTask.flowId(), "run-2", "add", 1, "w", Num.of(30)));
    FlowResult.Completed done = requester2.expectMessageClass(FlowResult.Completed.class);
    assertEquals(Num.of(30), done.result());
    assertEquals(2, done.stats().reused(), "the two stored leaves");
    assertEquals(7, done.stats().tasks());
    stopStore(again);
  }

  @Test
  void twoFlowsPushingTheSameWorkComputeItOnce() {
    Store store = startStore("twice");
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requesterA = testKit.createTestProbe();
    TestProbe<FlowResult> requesterB = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "a",
            RUN,
            queue.getRef(),
            sumOfSquares(4),
            requesterA.getRef(),
            Duration.ZERO,
            store.durable()));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    testKit.spawn(
        TestFlows.create(
            "b",
            RUN,
            queue.getRef(),
            sumOfSquares(4),
            requesterB.getRef(),
            Duration.ZERO,
            store.durable()));
    queue.expectNoMessage(Duration.ofMillis(200)); // b waits on a's four leaves

    int tasksRun = leaves.tasks().size();
    leaves.tasks().forEach(task -> succeed(leaves, task, value(task.payload())));
    List<FlowResult> results = new ArrayList<>();
    while (results.size() < 2) {
      QueueCommand.Enqueue enqueue =
          queue.expectMessageClass(QueueCommand.Enqueue.class, Duration.ofSeconds(5));
      tasksRun += enqueue.tasks().size();
      enqueue.tasks().forEach(task -> succeed(enqueue, task, value(task.payload())));
      if (tasksRun == 7) {
        results.add(requesterA.expectMessageClass(FlowResult.Completed.class));
        results.add(requesterB.expectMessageClass(FlowResult.Completed.class));
      }
    }
    queue.expectNoMessage(Duration.ofMillis(100));
    assertEquals(7, tasksRun, "4 leaves and 3 merges, each run once for both flows");
    FlowResult.Completed a = (FlowResult.Completed) results.get(0);
    FlowResult.Completed b = (FlowResult.Completed) results.get(1);
    assertEquals(Num.of(30), a.result());
    assertEquals(Num.of(30), b.result());
    assertEquals(
        7,
        a.stats().reused() + b.stats().reused(),
        "every task ran for one flow and was reused by the other");
    stopStore(store);
  }

  @Test
  void aFailedTaskIsNeverStoredAndTheCancelledTasksOfItsFlowRunWhenAskedForAgain() {
    Store store = startStore("failed");
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requesterA = testKit.createTestProbe();
    TestProbe<FlowResult> requesterB = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "a",
            RUN,
            queue.getRef(),
            sumOfSquares(2),
            requesterA.getRef(),
            Duration.ZERO,
            store.durable()));
    QueueCommand.Enqueue leavesA = queue.expectMessageClass(QueueCommand.Enqueue.class);
    testKit.spawn(
        TestFlows.create(
            "b",
            RUN,
            queue.getRef(),
            sumOfSquares(2),
            requesterB.getRef(),
            Duration.ZERO,
            store.durable()));
    queue.expectNoMessage(Duration.ofMillis(200)); // b waits on a's claims

    // a's first leaf fails for good: a fails and withdraws its second leaf, which is cancelled
    fail(leavesA, leavesA.tasks().get(0));
    requesterA.expectMessageClass(FlowResult.Failed.class);

    // b was waiting on both: neither the failure nor the cancelled task is handed to it; it runs
    // both itself
    List<TaskEnvelope> tasksB = new ArrayList<>();
    List<QueueCommand.Enqueue> enqueuesB = new ArrayList<>();
    boolean cancelled = false;
    while (tasksB.size() < 2 || !cancelled) {
      QueueCommand command = queue.receiveMessage();
      if (command instanceof QueueCommand.CancelFlow cancel) {
        assertEquals("a", cancel.flowId());
        cancelled = true;
      } else {
        QueueCommand.Enqueue enqueue = (QueueCommand.Enqueue) command;
        enqueuesB.add(enqueue);
        tasksB.addAll(enqueue.tasks());
      }
    }
    assertEquals(
        List.of(Num.of(1), Num.of(2)),
        tasksB.stream()
            .map(TaskEnvelope::payload)
            .sorted(java.util.Comparator.comparingLong(p -> ((Num) p).value()))
            .toList());
    assertEquals(0, store.index().size(), "nothing was stored: the failure is not a result");

    enqueuesB.forEach(
        enqueue -> enqueue.tasks().forEach(task -> succeed(enqueue, task, value(task.payload()))));
    QueueCommand.Enqueue merge = queue.expectMessageClass(QueueCommand.Enqueue.class);
    succeed(merge, merge.tasks().get(0), 5);
    FlowResult.Completed b = requesterB.expectMessageClass(FlowResult.Completed.class);
    assertEquals(Num.of(5), b.result());
    assertEquals(0, b.stats().reused());

    // and a later flow asking for the task that failed runs it again: it is not served from the
    // store
    TestProbe<FlowResult> requesterC = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "c",
            RUN,
            queue.getRef(),
            new FanOutReduce<>(
                TestTasks.Square.INSTANCE,
                List.of(new Num(7, "fail")),
                TestTasks.Add.INSTANCE,
                Pair::new),
            requesterC.getRef(),
            Duration.ZERO,
            store.durable()));
    QueueCommand.Enqueue failing = queue.expectMessageClass(QueueCommand.Enqueue.class);
    fail(failing, failing.tasks().get(0));
    requesterC.expectMessageClass(FlowResult.Failed.class);
    testKit.spawn(
        TestFlows.create(
            "d",
            RUN,
            queue.getRef(),
            new FanOutReduce<>(
                TestTasks.Square.INSTANCE,
                List.of(new Num(7, "fail")),
                TestTasks.Add.INSTANCE,
                Pair::new),
            TestProbe.<FlowResult>create(testKit.system()).getRef(),
            Duration.ZERO,
            store.durable()));
    QueueCommand command = queue.receiveMessage();
    if (command instanceof QueueCommand.CancelFlow) {
      command = queue.receiveMessage();
    }
    assertTrue(
        command instanceof QueueCommand.Enqueue enqueue && enqueue.tasks().size() == 1,
        "the failed task runs again when asked for: " + command);
    stopStore(store);
  }

  /**
   * A task that waited on another flow's identical one, and runs itself once that one failed, is
   * asked about resend-after from when it is sent, not from when it was pushed: with resend-after 1
   * s and a wait of 1.3 s, asking from the push would send a CheckHeld at the next check tick (250
   * ms) after the send, for a task the queue has just been given.
   */
  @Test
  void aTaskThatWaitedOnAnotherFlowIsAskedAboutResendAfterFromItsSendNotItsPush() {
    Store store = startStore("waited");
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requesterA = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "a",
            RUN,
            queue.getRef(),
            sumOfSquares(1),
            requesterA.getRef(),
            Duration.ZERO,
            store.durable()));
    QueueCommand.Enqueue leafA = queue.expectMessageClass(QueueCommand.Enqueue.class);
    testKit.spawn(
        TestFlows.create(
            "b",
            RUN,
            queue.getRef(),
            sumOfSquares(1),
            testKit.<FlowResult>createTestProbe().getRef(),
            Duration.ofSeconds(1),
            store.durable()));
    // b waits on a's claim past its own resend-after: a task not at the queue is not asked about
    queue.expectNoMessage(Duration.ofMillis(1300));

    fail(leafA, leafA.tasks().get(0)); // a fails: b runs the leaf itself
    requesterA.expectMessageClass(FlowResult.Failed.class);
    TaskEnvelope leafB = null;
    while (leafB == null) {
      QueueCommand command = queue.receiveMessage();
      if (command instanceof QueueCommand.Enqueue enqueue) {
        leafB = enqueue.tasks().get(0);
      } else {
        assertTrue(command instanceof QueueCommand.CancelFlow, "only a's cancel: " + command);
      }
    }
    queue.expectNoMessage(Duration.ofMillis(400)); // not due before 1 s after the send
    QueueCommand.CheckHeld check =
        queue.expectMessageClass(QueueCommand.CheckHeld.class, Duration.ofSeconds(2));
    assertEquals(List.of(leafB.taskId()), check.taskIds(), "asked about once due");
    stopStore(store);
  }

  @Test
  void aCallbackRunsAndItsResultCountsOnlyOnceTheStoreConfirmedAndResultsMeanwhileGoTogether() {
    TestProbe<ResultStore.Command> journal =
        testKit.createTestProbe(); // plays the store: confirms when told
    ActorRef<ResultWriter.Command> writer =
        testKit.spawn(ResultWriter.create(journal.getRef(), "probe", settings));
    ResultIndex index = new ResultIndex();
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create(
            "slow-store",
            RUN,
            queue.getRef(),
            sumOfSquares(4),
            requester.getRef(),
            Duration.ZERO,
            new FlowRunner.Durable(index, writer, "params")));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    String leafType = leaves.tasks().get(0).taskType();
    TaskResultCounts counts = TaskResultCounts.get(testKit.system());
    long before = counts.computedPerType().getOrDefault(leafType, 0L); // other tests' flows
    leaves.tasks().forEach(task -> succeed(leaves, task, value(task.payload())));

    ResultStore.Write first = journal.expectMessageClass(ResultStore.Write.class);
    assertEquals(1, first.results().size(), "a lone result is written at once");
    queue.expectNoMessage(
        Duration.ofMillis(300)); // nothing confirmed: no merge, and the other three queue up
    assertEquals(
        before,
        counts.computedPerType().getOrDefault(leafType, 0L),
        "a result the store has not confirmed is not counted as computed: a crash would lose it");
    first.replyTo().tell(new ResultStore.Written(1));
    testKit
        .createTestProbe()
        .awaitAssert(
            () -> {
              assertEquals(
                  before + 1,
                  counts.computedPerType().getOrDefault(leafType, 0L),
                  "the confirmed result counts");
              return null;
            });
    ResultStore.Write second = journal.expectMessageClass(ResultStore.Write.class);
    assertEquals(
        3,
        second.results().size(),
        "the three results that came while the first write was in flight");
    // the store does not answer within write-timeout: the writer sends the same write again, still
    // unacknowledged
    ResultStore.Write repeated =
        journal.expectMessageClass(ResultStore.Write.class, Duration.ofSeconds(3));
    assertEquals(
        second.results().stream().map(StoredResult::key).toList(),
        repeated.results().stream().map(StoredResult::key).toList());
    queue.expectNoMessage(
        Duration.ofMillis(100)); // no merge: only leaf 1 is confirmed, and it has no pair yet
    assertEquals(before + 1, counts.computedPerType().getOrDefault(leafType, 0L));
    repeated.replyTo().tell(new ResultStore.Written(3));
    QueueCommand.Enqueue merges = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(before + 4, counts.computedPerType().getOrDefault(leafType, 0L));
    assertEquals(
        List.of(new Pair(Num.of(1), Num.of(4)), new Pair(Num.of(9), Num.of(16))),
        payloads(merges),
        "both merges pushed once their leaves were confirmed");
  }
}
