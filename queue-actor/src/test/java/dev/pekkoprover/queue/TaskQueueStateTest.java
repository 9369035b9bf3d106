package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.queue.TaskQueueState.Redelivery;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The queue's bookkeeping without an actor: workers and flows are plain names, time is a manual
 * clock.
 */
class TaskQueueStateTest {

  private static final Duration LEASE = Duration.ofSeconds(10);
  private static final Duration ADD_LEASE = Duration.ofSeconds(30);
  private static final int MAX_ATTEMPTS = 3;
  private static final int MAX_LOSSES = 4;
  private static final Duration LOST_AFTER = Duration.ofSeconds(3);

  record Sent(String worker, TaskEnvelope task) {}

  record Retry(String taskId, int failures, String reason) {}

  record PutBack(String taskId, int attempt, String workerId, Redelivery cause) {}

  record Cancelled(String worker, String taskId, String runId, String reason) {}

  /** Records every effect; {@code now} is the clock. */
  static final class Recorder implements TaskQueueState.Effects<String, String> {
    final List<Sent> sent = new ArrayList<>();
    final List<TaskOutcome> outcomes = new ArrayList<>();
    final List<Retry> retries = new ArrayList<>();
    final List<PutBack> putBacks = new ArrayList<>();
    final List<String> budgets = new ArrayList<>();
    final List<Cancelled> cancels = new ArrayList<>();
    final List<String> superseded = new ArrayList<>();
    final List<String> runOver = new ArrayList<>();
    final List<String> withdraws = new ArrayList<>();
    final Map<String, Integer> running = new HashMap<>();
    long now;

    @Override
    public void dispatch(String worker, TaskEnvelope task) {
      sent.add(new Sent(worker, task));
    }

    @Override
    public void reply(String replyTo, TaskOutcome outcome) {
      outcomes.add(outcome);
    }

    @Override
    public void retryLater(TaskEnvelope task, String workerId, int failures, String reason) {
      retries.add(new Retry(task.taskId(), failures, reason));
    }

    @Override
    public void putBack(TaskEnvelope task, String workerId, Redelivery cause, String budget) {
      putBacks.add(new PutBack(task.taskId(), task.attempt(), workerId, cause));
      budgets.add(budget);
    }

    @Override
    public void cancel(String worker, String taskId, String runId, String reason) {
      cancels.add(new Cancelled(worker, taskId, runId, reason));
    }

    @Override
    public void withdraw(String worker, String taskId, String runId) {
      withdraws.add(worker + " " + taskId + " " + runId);
    }

    @Override
    public void superseded(String runId, int dropped, int cancelled) {
      superseded.add(runId + ": " + dropped + " dropped, " + cancelled + " cancelled");
    }

    @Override
    public void runOver(TaskEnvelope task, String latestRun) {
      runOver.add(task.taskId() + " of " + task.runId() + " after " + latestRun);
    }

    List<String> sentIds() {
      return sent.stream().map(s -> s.task().taskId()).collect(Collectors.toList());
    }

    List<String> sentTo(String worker) {
      return sent.stream()
          .filter(s -> s.worker().equals(worker))
          .map(s -> s.task().taskId())
          .toList();
    }

    Sent last() {
      return sent.get(sent.size() - 1);
    }
  }

  private final Recorder effects = new Recorder();
  private final TaskQueueState<String, String> queue =
      new TaskQueueState<>(
          TaskCatalog.of(TestTasks.all()),
          new QueueSettings(
              LEASE,
              Map.of("add", ADD_LEASE),
              Duration.ofSeconds(1),
              MAX_ATTEMPTS,
              MAX_LOSSES,
              LOST_AFTER,
              Duration.ofMillis(100),
              Duration.ofSeconds(1),
              0.2,
              0),
          effects,
          () -> effects.now);

  private static TaskEnvelope square(String id) {
    return new TaskEnvelope(id, "flow-1", "run-1", "square", 1, Num.of(3));
  }

  private static TaskEnvelope add(String id) {
    return new TaskEnvelope(
        id, "flow-1", "run-1", "add", 1, new TestTasks.Pair(Num.of(1), Num.of(2)));
  }

  private void serve(String worker, int capacity, String... types) {
    queue.workerServes(worker, "inc-1", worker, Set.of(types), capacity);
  }

  private void enqueueSquares(String... ids) {
    for (String id : ids) {
      queue.enqueue(square(id), "flow-1");
    }
  }

  private boolean succeed(String worker, String taskId) {
    return queue.succeeded(worker, "inc-1", taskId, "run-1", 1, Num.of(9));
  }

  private QueueStats.TypeStats squareStats() {
    return queue.stats().of("square");
  }

  @Test
  void aWorkerNeverHoldsMoreThanItsCapacity() {
    serve("w1", 2, "square");
    enqueueSquares("t1", "t2", "t3", "t4", "t5");
    assertEquals(List.of("t1", "t2"), effects.sentIds());
    assertEquals(2, queue.slotsTaken("w1"));
    assertEquals(new QueueStats.TypeStats(3, 2, 0, 0, 0, 0, 0, 0, 0, 0), squareStats());

    assertTrue(succeed("w1", "t2"));
    assertEquals(List.of("t1", "t2", "t3"), effects.sentIds());
    assertEquals(2, queue.slotsTaken("w1"));

    // The worker announces a lower capacity: it gets nothing more until it is under it.
    serve("w1", 1, "square");
    assertTrue(succeed("w1", "t1"));
    assertEquals(3, effects.sent.size());
    assertTrue(succeed("w1", "t3"));
    assertEquals(List.of("t1", "t2", "t3", "t4"), effects.sentIds());
    assertEquals(1, queue.slotsTaken("w1"));
  }

  @Test
  void aDrainingWorkerGetsNoMoreWorkAndItsHeldTasksStayItsOwn() {
    serve("w1", 2, "square");
    serve("w2", 1, "square");
    enqueueSquares("t1", "t2", "t3");
    assertEquals(List.of("t1", "t3"), effects.sentTo("w1"));

    // its node shuts down: the announcement names the types it served, in state Draining
    queue.workerServes("w1", "inc-1", "w1", Set.of("square"), 2, WorkerState.DRAINING);
    enqueueSquares("t4");
    assertEquals(3, effects.sent.size(), "nothing more for the draining worker");
    assertEquals(2, queue.slotsTaken("w1"), "what it runs is still its own");
    assertTrue(effects.putBacks.isEmpty());

    assertTrue(succeed("w1", "t1"), "its result counts as ever");
    assertEquals(3, effects.sent.size(), "its freed slot is not filled");
    assertTrue(succeed("w2", "t2"));
    assertEquals("w2", effects.last().worker());
    assertEquals("t4", effects.last().task().taskId());

    // its drain's time is over with t3 still running: put back, counted apart from a crash
    assertEquals(1, queue.workerGoingDown("w1", "inc-1", Set.of(), true));
    assertEquals(List.of(new PutBack("t3", 2, "w1", Redelivery.DRAIN_OVER)), effects.putBacks);
    assertEquals(
        List.of("0 of 3 attempts and 0 of 4 worker losses spent"),
        effects.budgets,
        "the drain's end spends nothing");
    assertTrue(succeed("w2", "t4"));
    assertEquals(List.of("t2", "t4", "t3"), effects.sentTo("w2"), "it runs elsewhere");
  }

  @Test
  void tasksOfATypeGoOutInEnqueueOrder() {
    serve("w1", 1, "square");
    enqueueSquares("t1", "t2", "t3", "t4");
    for (String id : List.of("t1", "t2", "t3", "t4")) {
      assertEquals(id, effects.last().task().taskId());
      assertTrue(succeed("w1", id));
    }
    assertEquals(List.of("t1", "t2", "t3", "t4"), effects.sentIds());
    assertEquals(4, squareStats().completed());
    assertEquals(4, effects.outcomes.size());
    TaskOutcome.Succeeded first =
        assertInstanceOf(TaskOutcome.Succeeded.class, effects.outcomes.get(0));
    assertEquals(
        new TaskOutcome.Succeeded("t1", "flow-1", "run-1", "square", 1, "w1", Num.of(9)), first);
    assertEquals(0, queue.size());
  }

  /** A task of the flow the sequencer started {@code flow}-th ({@link TaskEnvelope#flowSeq}). */
  private static TaskEnvelope ofFlow(long flow, String type, String id) {
    Object input = type.equals("add") ? new TestTasks.Pair(Num.of(1), Num.of(2)) : Num.of(3);
    return new TaskEnvelope(id, "flow-" + flow, "run-1", type, 1, input, flow);
  }

  /** The result of the task last sent to {@code worker}, for the attempt it was sent as. */
  private boolean succeedLast(String worker) {
    Sent last = effects.last();
    assertEquals(worker, last.worker());
    TaskEnvelope task = last.task();
    return queue.succeeded(worker, "inc-1", task.taskId(), "run-1", task.attempt(), Num.of(9));
  }

  @Test
  void pendingTasksGoOutOldestFlowFirstAndAPutBackOnlyAheadOfItsOwnFlow() {
    queue.enqueue(ofFlow(2, "square", "2a"), "flow-2");
    queue.enqueue(ofFlow(2, "square", "2b"), "flow-2");
    queue.enqueue(ofFlow(1, "square", "1a"), "flow-1");
    queue.enqueue(ofFlow(3, "square", "3a"), "flow-3");
    queue.enqueue(ofFlow(1, "square", "1b"), "flow-1");
    serve("w1", 2, "square");
    assertEquals(List.of("1a", "1b"), effects.sentTo("w1"), "flow 1's, though flow 2 came first");

    queue.workerTerminated("w1"); // both back, ahead of flow 1's tasks (there are none left)
    queue.enqueue(ofFlow(1, "square", "1c"), "flow-1");
    serve("w2", 1, "square");
    for (int i = 0; i < 5; i++) {
      assertTrue(succeedLast("w2"));
    }
    assertEquals(List.of("1a", "1b", "1c", "2a", "2b", "3a"), effects.sentTo("w2"));
    assertEquals(2, effects.sent.stream().filter(s -> s.task().attempt() == 2).count());
  }

  @Test
  void aWorkerServingSeveralTypesGetsTheOldestFlowsTaskAcrossThem() {
    queue.enqueue(ofFlow(2, "square", "s2"), "flow-2");
    queue.enqueue(ofFlow(1, "add", "a1"), "flow-1"); // came later, of an older flow
    queue.enqueue(ofFlow(2, "add", "a2"), "flow-2");
    queue.enqueue(ofFlow(1, "square", "s1"), "flow-1");
    serve("w1", 1, "square", "add");
    for (int i = 0; i < 3; i++) {
      assertTrue(succeedLast("w1"));
    }
    assertEquals(
        List.of("a1", "s1", "s2", "a2"),
        effects.sentTo("w1"),
        "flow 1 before flow 2, and within a flow first come, first served");
  }

  @Test
  void cancellingAFlowLeavesTheOthersInTheirOrder() {
    queue.enqueue(ofFlow(1, "square", "1a"), "flow-1");
    queue.enqueue(ofFlow(2, "square", "2a"), "flow-2");
    queue.enqueue(ofFlow(3, "square", "3a"), "flow-3");
    queue.enqueue(ofFlow(1, "square", "1b"), "flow-1");
    assertEquals(2, queue.cancelFlow("flow-1"));
    assertEquals(2, squareStats().pending());
    serve("w1", 1, "square");
    assertTrue(succeedLast("w1"));
    assertEquals(List.of("2a", "3a"), effects.sentTo("w1"));
  }

  @Test
  void onlyWorkersServingATypeGetIt() {
    serve("adder", 4, "add");
    enqueueSquares("t1");
    assertTrue(effects.sent.isEmpty());
    serve("squarer", 4, "square");
    queue.enqueue(add("a1"), "flow-1");
    assertEquals(
        List.of(new Sent("squarer", square("t1")), new Sent("adder", add("a1"))), effects.sent);
  }

  @Test
  void aPutBackTaskGoesToTheHeadWithTheNextAttempt() {
    serve("w1", 2, "square");
    enqueueSquares("t1", "t2", "t3", "t4");
    assertEquals(List.of("t1", "t2"), effects.sentIds());

    assertEquals(List.of("w1"), queue.workerTerminated("w1"));
    assertEquals(
        List.of(
            new PutBack("t2", 2, "w1", Redelivery.WORKER_TERMINATED),
            new PutBack("t1", 2, "w1", Redelivery.WORKER_TERMINATED)),
        effects.putBacks);
    assertEquals(new QueueStats.TypeStats(4, 0, 0, 0, 2, 0, 0, 0, 2, 0), squareStats());
    assertEquals(0, queue.stats().workers());

    serve("w2", 1, "square");
    assertEquals("t1", effects.last().task().taskId());
    assertEquals(2, effects.last().task().attempt());
    assertTrue(queue.succeeded("w2", "inc-1", "t1", "run-1", 2, Num.of(9)));
    assertEquals(square("t2").withAttempt(2), effects.last().task());
    assertTrue(queue.succeeded("w2", "inc-1", "t2", "run-1", 2, Num.of(9)));
    assertEquals(square("t3"), effects.last().task());
  }

  @Test
  void idleCapacityGetsWorkFirstAndTiesAlternate() {
    serve("w1", 3, "square");
    enqueueSquares("t1", "t2");
    serve("w2", 3, "square");
    // w1 has 1 free slot, w2 has 3: w2 first until they are level, then in turn.
    enqueueSquares("t3", "t4", "t5", "t6");
    assertEquals(List.of("t1", "t2"), effects.sentTo("w1").subList(0, 2));
    assertEquals(
        List.of("w2", "w2", "w1", "w2"),
        effects.sent.subList(2, 6).stream().map(Sent::worker).toList());

    serve("a", 1, "add");
    serve("b", 1, "add");
    serve("c", 1, "add");
    queue.enqueue(add("a1"), "flow-1");
    queue.enqueue(add("a2"), "flow-1");
    queue.enqueue(add("a3"), "flow-1");
    assertEquals(
        Set.of("a", "b", "c"),
        effects.sent.subList(6, 9).stream().map(Sent::worker).collect(Collectors.toSet()));
  }

  @Test
  void aTypeWithoutPendingTasksSeesItsWorkersSlotsAsTheyAreWhenATaskComes() {
    // w1's place in the ladder of "add" is brought up to date only when an add task comes
    serve("w1", 2, "square", "add");
    serve("w2", 2, "add");
    enqueueSquares("s1", "s2", "s3");
    assertEquals(List.of("s1", "s2"), effects.sentTo("w1"));
    queue.enqueue(add("a1"), "flow-1");
    assertEquals(List.of("a1"), effects.sentTo("w2"), "w1 has no free slot left");
    assertTrue(succeed("w1", "s1"));
    assertTrue(succeed("w1", "s2"));
    assertTrue(succeed("w1", "s3"));
    queue.enqueue(add("a2"), "flow-1");
    assertEquals(List.of("s1", "s2", "s3", "a2"), effects.sentTo("w1"), "2 free slots to w2's 1");
  }

  @Test
  void aTypeThatGetsNoTasksKeepsAFiniteBacklogOfStaleSeatsAndStaysRight() {
    // every announcement makes new seats; "add" never gets a task, so its ladder is never read
    for (int i = 0; i < 3 * TaskQueueState.MAX_STALE_SEATS; i++) {
      serve("w1", 1, "square", "add");
      enqueueSquares("s" + i);
      assertTrue(succeed("w1", "s" + i));
      assertTrue(queue.staleSeats("add") <= TaskQueueState.MAX_STALE_SEATS);
    }
    serve("w2", 1, "add");
    enqueueSquares("busy");
    queue.enqueue(add("a1"), "flow-1");
    assertEquals(List.of("a1"), effects.sentTo("w2"), "w1's only slot is taken");
  }

  @Test
  void roundRobinSpreadsWorkOverEqualWorkers() {
    serve("w1", 2, "square");
    serve("w2", 2, "square");
    for (int i = 0; i < 20; i++) {
      enqueueSquares("t" + i);
      String worker = effects.last().worker();
      assertTrue(succeed(worker, "t" + i));
    }
    assertEquals(10, effects.sentTo("w1").size());
    assertEquals(10, effects.sentTo("w2").size());
  }

  @Test
  void anOverrunLeaseIsPutBackAndTheHungWorkersSlotStaysTaken() {
    serve("w1", 1, "square");
    serve("w2", 1, "square");
    enqueueSquares("t1");
    String first = effects.last().worker();
    String second = first.equals("w1") ? "w2" : "w1";

    effects.now += LEASE.toNanos() - 1;
    assertEquals(0, queue.expireLeases());
    effects.now += 1;
    assertEquals(1, queue.expireLeases());
    assertEquals(List.of(new PutBack("t1", 2, first, Redelivery.LEASE_OVERRUN)), effects.putBacks);
    assertEquals(new Sent(second, square("t1").withAttempt(2)), effects.last());
    assertEquals(1, queue.slotsTaken(first));

    // The hung worker gets nothing while its slot is a zombie.
    enqueueSquares("t2");
    assertEquals(2, effects.sent.size());

    assertEquals(
        List.of(new Cancelled(first, "t1", "run-1", "lease of 10000 ms ran out")), effects.cancels);

    // Its late result is the first one: accepted; the other worker's run of it is now the zombie,
    // and cancelled.
    assertTrue(succeed(first, "t1"));
    assertEquals(List.of("t1"), effects.outcomes.stream().map(TaskOutcome::taskId).toList());
    assertEquals(
        new Cancelled(second, "t1", "run-1", "another worker finished it first"),
        effects.cancels.get(1));
    assertEquals(new Sent(first, square("t2")), effects.last());
    assertFalse(queue.succeeded(second, "inc-1", "t1", "run-1", 2, Num.of(9)));
    assertEquals(1, queue.stats().unknownResults());
    assertEquals(1, effects.outcomes.size());
    assertEquals(0, queue.slotsTaken(second));
    assertEquals(new QueueStats.TypeStats(0, 1, 1, 0, 1, 0, 0, 0, 0, 1), squareStats());
  }

  @Test
  void aTaskWhoseLeaseRanOutThatGoesBackToTheSameWorkerSpendsOneAttemptAndOneSlot() {
    serve("w1", 2, "square");
    enqueueSquares("t1");
    effects.now += LEASE.toNanos();
    assertEquals(1, queue.expireLeases());
    assertEquals(
        new Cancelled("w1", "t1", "run-1", "lease of 10000 ms ran out"), effects.cancels.get(0));
    assertEquals(
        new Sent("w1", square("t1").withAttempt(2)),
        effects.last(),
        "the only worker, with a slot free");
    // the worker runs one compute per task id: attempt 2 starts once the cancelled one returned
    assertEquals(1, queue.slotsTaken("w1"));
    enqueueSquares("t2");
    assertEquals(new Sent("w1", square("t2")), effects.last(), "its second slot is free");

    // the cancelled compute's failure (attempt 1) is not attempt 2's
    assertFalse(
        queue.failed(
            "w1", "inc-1", "t1", "run-1", 1, "cancelled: lease of 10000 ms ran out", true));
    assertTrue(effects.retries.isEmpty(), effects.retries.toString());
    assertEquals(2, squareStats().inFlight());
    assertEquals(2, queue.slotsTaken("w1"));

    assertTrue(queue.succeeded("w1", "inc-1", "t1", "run-1", 2, Num.of(9)));
    assertTrue(succeed("w1", "t2"));
    assertEquals(List.of("t1", "t2"), effects.outcomes.stream().map(TaskOutcome::taskId).toList());
    assertEquals(0, queue.slotsTaken("w1"));
    // one lease overrun (one attempt spent) and one redelivery; no retry
    assertEquals(new QueueStats.TypeStats(0, 0, 2, 0, 1, 0, 0, 0, 0, 1), squareStats());
  }

  @Test
  void anOverrunOnAWorkerThatGotTheTaskBackAndThenDiedIsALossNotAnAttempt() {
    serve("w1", 2, "square");
    enqueueSquares("t1");
    effects.now += LEASE.toNanos();
    assertEquals(1, queue.expireLeases());
    assertEquals(new Sent("w1", square("t1").withAttempt(2)), effects.last());
    queue.workerTerminated("w1"); // it was gone, not hung
    serve("w2", 1, "square");
    assertEquals(new Sent("w2", square("t1").withAttempt(3)), effects.last());
    assertTrue(queue.failed("w2", "inc-1", "t1", "run-1", 3, "boom", true));
    assertEquals(
        List.of(new Retry("t1", 1, "boom (1 of 3 attempts used)")),
        effects.retries,
        "the overrun was refunded: this failure is the first attempt spent");
  }

  @Test
  void aTaskBackOnAWorkerReachableAgainIsNotChargedWithItsCancelledComputesFailure() {
    serve("w1", 1, "square");
    enqueueSquares("t1");
    assertEquals(1, queue.workerUnreachable("w1"));
    queue.workerReachable("w1");
    assertEquals(new Sent("w1", square("t1").withAttempt(2)), effects.last());
    assertFalse(queue.failed("w1", "inc-1", "t1", "run-1", 1, "cancelled: node unreachable", true));
    assertTrue(effects.retries.isEmpty(), effects.retries.toString());
    assertEquals(1, squareStats().inFlight());
    // attempt 2 fails on its own: that one counts
    assertTrue(queue.failed("w1", "inc-1", "t1", "run-1", 2, "boom", true));
    assertEquals(List.of(new Retry("t1", 1, "boom (1 of 3 attempts used)")), effects.retries);
  }

  @Test
  void aLateResultAfterTheRedeliveryCompletedIsDropped() {
    serve("w1", 1, "square");
    enqueueSquares("t1");
    effects.now += LEASE.toNanos();
    queue.expireLeases();
    serve("w2", 1, "square");
    assertEquals(new Sent("w2", square("t1").withAttempt(2)), effects.last());
    assertTrue(queue.succeeded("w2", "inc-1", "t1", "run-1", 2, Num.of(9)));
    assertFalse(succeed("w1", "t1"));
    assertEquals(1, effects.outcomes.size());
    assertEquals(1, queue.stats().unknownResults());
    assertEquals(0, queue.slotsTaken("w1"));
  }

  /**
   * Task ids start again with each sequencer run: after a standby took over, a worker may still
   * compute the old run's task under the id of a new run's task. Its reports never answer for the
   * new run's task, whether it holds the new one too (handed to it, to be declined) or not.
   */
  @Test
  void aReportOfAnEarlierRunsTaskUnderTheSameIdDoesNotAnswerForTheNewRunsTask() {
    String oldRun = "r0000000000001-00000000";
    String newRun = "r0000000000002-00000000";
    serve("w1", 1, "square");
    serve("w2", 1, "square");
    TaskEnvelope fresh = new TaskEnvelope("t1", "flow-1", newRun, "square", 1, Num.of(4));
    queue.enqueue(fresh, "flow-1");
    String holder = effects.last().worker();
    String other = holder.equals("w1") ? "w2" : "w1";
    // the old run's compute of t1 ends on the worker that holds the new t1, and on the other one
    assertFalse(queue.succeeded(holder, "inc-1", "t1", oldRun, 1, Num.of(9)));
    assertFalse(queue.succeeded(other, "inc-1", "t1", oldRun, 1, Num.of(9)));
    assertFalse(queue.failed(holder, "inc-1", "t1", oldRun, 1, "boom", true));
    assertFalse(queue.declined(holder, "inc-1", "t1", oldRun));
    assertTrue(effects.outcomes.isEmpty(), effects.outcomes.toString());
    assertTrue(effects.retries.isEmpty(), effects.retries.toString());
    assertEquals(4, queue.stats().unknownResults());
    assertEquals(1, squareStats().inFlight());
    // the new run's t1 answers for itself
    assertTrue(queue.succeeded(holder, "inc-1", "t1", newRun, 1, Num.of(16)));
    assertEquals(1, effects.outcomes.size());
    TaskOutcome.Succeeded done = (TaskOutcome.Succeeded) effects.outcomes.get(0);
    assertEquals(newRun, done.runId());
    assertEquals(Num.of(16), done.result());
  }

  @Test
  void leasesAreCheckedPerTypeWithItsOwnDuration() {
    serve("w1", 2, "square", "add");
    queue.enqueue(add("a1"), "flow-1");
    enqueueSquares("t1");
    effects.now += LEASE.toNanos();
    assertEquals(1, queue.expireLeases());
    assertEquals("t1", effects.putBacks.get(0).taskId());
    effects.now += ADD_LEASE.toNanos() - LEASE.toNanos();
    assertEquals(1, queue.expireLeases());
    assertEquals("a1", effects.putBacks.get(1).taskId());
  }

  @Test
  void aTaskThatHangsEveryWorkerFailsAfterMaxAttempts() {
    serve("w1", 1, "square");
    serve("w2", 1, "square");
    serve("w3", 1, "square");
    enqueueSquares("t1");
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      assertEquals(attempt, effects.last().task().attempt());
      effects.now += LEASE.toNanos();
      assertEquals(1, queue.expireLeases());
    }
    assertEquals(MAX_ATTEMPTS, effects.sent.size());
    TaskOutcome.Failed failed = assertInstanceOf(TaskOutcome.Failed.class, effects.outcomes.get(0));
    assertEquals(MAX_ATTEMPTS, failed.attempts());
    assertTrue(failed.reason().contains("lease"), failed.reason());
    assertEquals(1, squareStats().failed());
    assertEquals(0, queue.size());
  }

  @Test
  void failuresAreRetriedUpToMaxAttemptsThenFailTheTask() {
    serve("w1", 1, "square");
    enqueueSquares("t1", "t2");
    for (int failure = 1; failure < MAX_ATTEMPTS; failure++) {
      assertTrue(queue.failed("w1", "inc-1", "t1", "run-1", failure, "boom " + failure, true));
      assertEquals(
          new Retry("t1", failure, "boom " + failure + " (" + failure + " of 3 attempts used)"),
          effects.retries.get(failure - 1));
      // While t1 waits out its backoff, the free slot goes to the next task.
      assertEquals("t2", effects.last().task().taskId());
      assertEquals(2, squareStats().pending() + squareStats().inFlight());
      assertTrue(succeed("w1", "t2"));
      queue.enqueue(square("t2-" + failure), "flow-1");
      assertTrue(succeed("w1", "t2-" + failure));
      queue.retryDue("t1");
      assertEquals(square("t1").withAttempt(failure + 1), effects.last().task());
      enqueueSquares("t2");
    }
    assertTrue(queue.failed("w1", "inc-1", "t1", "run-1", MAX_ATTEMPTS, "boom last", true));
    TaskOutcome.Failed failed =
        effects.outcomes.stream()
            .filter(o -> o instanceof TaskOutcome.Failed)
            .map(TaskOutcome.Failed.class::cast)
            .findFirst()
            .orElseThrow();
    assertEquals(
        new TaskOutcome.Failed(
            "t1",
            "flow-1",
            "run-1",
            "square",
            MAX_ATTEMPTS,
            "boom last (3 of 3 attempts and 0 of 4 worker losses spent)"),
        failed);
    assertEquals(MAX_ATTEMPTS - 1, squareStats().retried());
    assertEquals(1, squareStats().failed());
  }

  @Test
  void aNonRetryableFailureFailsAtOnce() {
    serve("w1", 1, "square");
    enqueueSquares("t1");
    assertTrue(queue.failed("w1", "inc-1", "t1", "run-1", 1, "bad proof", false));
    assertEquals(
        List.of(new TaskOutcome.Failed("t1", "flow-1", "run-1", "square", 1, "bad proof")),
        effects.outcomes);
    assertTrue(effects.retries.isEmpty());
  }

  @Test
  void restartsWithoutNoticeSpendWorkerLossesNotAttempts() {
    enqueueSquares("t1");
    for (int attempt = 1; attempt <= MAX_LOSSES; attempt++) {
      queue.workerServes("w1", "inc-" + attempt, "w1", Set.of("square"), 1);
      assertEquals(attempt, effects.last().task().attempt());
    }
    queue.workerServes("w1", "inc-last", "w1", Set.of("square"), 1);
    TaskOutcome.Failed failed = assertInstanceOf(TaskOutcome.Failed.class, effects.outcomes.get(0));
    assertTrue(failed.reason().contains("restarted"), failed.reason());
    assertTrue(
        failed.reason().contains("0 of 3 attempts and 4 of 4 worker losses"), failed.reason());
    assertEquals(MAX_LOSSES, effects.sent.size());
    assertEquals(MAX_LOSSES - 1, squareStats().lost());
  }

  @Test
  void aCrashChargesOnlyTheTaskThatCausedItAndTheOthersGoBackFree() {
    // Issue 8, case 3: a long healthy task T beside tasks that each crash the worker once.
    serve("w1", 2, "square");
    enqueueSquares("T", "c1");
    String incarnation = "inc-1";
    for (int crash = 1; crash <= 3; crash++) {
      String culprit = "c" + crash;
      assertEquals(2, queue.workerGoingDown("w1", incarnation, Set.of(culprit)));
      assertEquals(0, queue.freeSlots("w1"), "no work for an incarnation that is going down");
      incarnation = "inc-" + (crash + 1);
      queue.workerServes("w1", incarnation, "w1", Set.of("square"), 2);
      assertEquals("T", effects.last().task().taskId(), "T is back at once on the new incarnation");
      queue.retryDue(culprit); // the culprit after its backoff
      assertEquals(culprit, effects.last().task().taskId());
      assertTrue(
          queue.succeeded("w1", incarnation, culprit, "run-1", crash + 1, Num.of(9)),
          "succeeds on its retry");
      if (crash < 3) {
        enqueueSquares("c" + (crash + 1)); // the next one, in the slot beside T
      }
    }
    assertTrue(queue.succeeded("w1", incarnation, "T", "run-1", 4, Num.of(9)));
    assertTrue(
        effects.outcomes.stream().allMatch(o -> o instanceof TaskOutcome.Succeeded),
        effects.outcomes.toString());
    assertEquals(4, squareStats().completed());
    assertEquals(0, squareStats().failed());
    assertEquals(
        3, effects.putBacks.stream().filter(p -> p.cause() == Redelivery.CRASH_COLLATERAL).count());
    assertEquals(3, effects.retries.size(), "each culprit waited out a backoff");
  }

  @Test
  void aTaskThatCrashesEveryWorkerEndsAsPoisonAfterItsLosses() {
    serve("w1", 1, "square");
    enqueueSquares("p");
    for (int crash = 1; crash < MAX_LOSSES; crash++) {
      queue.workerGoingDown("w1", "inc-" + crash, Set.of("p"));
      queue.workerServes("w1", "inc-" + (crash + 1), "w1", Set.of("square"), 1);
      assertEquals(
          crash, effects.sent.size(), "a task that crashed its worker waits out a backoff first");
      assertEquals(
          new Retry("p", crash, "it crashed worker w1 (" + crash + " of 4 worker losses spent)"),
          effects.retries.get(crash - 1));
      queue.retryDue("p");
      assertEquals(new Sent("w1", square("p").withAttempt(crash + 1)), effects.last());
    }
    queue.workerGoingDown("w1", "inc-" + MAX_LOSSES, Set.of("p"));
    TaskOutcome.Failed failed = assertInstanceOf(TaskOutcome.Failed.class, effects.outcomes.get(0));
    assertTrue(failed.reason().contains("it crashed worker w1"), failed.reason());
    assertTrue(failed.reason().contains("poison"), failed.reason());
    assertEquals(0, queue.size());
  }

  @Test
  void aHungTaskOnTheOnlyWorkerFailsAfterMaxAttemptsNamingItsLease() {
    // Issue 8, case 1: the worker is told to cancel; once its load no longer lists the task, its
    // slot is free again.
    serve("w1", 1, "square");
    enqueueSquares("h");
    for (int attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      effects.now += LEASE.toNanos();
      assertEquals(1, queue.expireLeases());
      assertEquals(
          new Cancelled("w1", "h", "run-1", "lease of 10000 ms ran out"),
          effects.cancels.get(attempt - 1));
      assertEquals(
          attempt, effects.sent.size(), "its slot is taken until the worker lets go of the task");
      queue.workerLoad("w1", "inc-1", List.of()); // interrupted: the worker no longer holds it
      assertEquals(new Sent("w1", square("h").withAttempt(attempt + 1)), effects.last());
    }
    effects.now += LEASE.toNanos();
    queue.expireLeases();
    TaskOutcome.Failed failed = assertInstanceOf(TaskOutcome.Failed.class, effects.outcomes.get(0));
    assertTrue(failed.reason().contains("lease of 10000 ms overran on worker w1"), failed.reason());
    assertTrue(failed.reason().contains("3 of 3 attempts"), failed.reason());
    assertEquals("h", failed.taskId());
    assertEquals("square", failed.taskType());
  }

  /**
   * A compute that ignores its cancellation on the only worker (a trial's): the task overruns its
   * lease, goes back to that worker behind its hung compute, and the worker restarts to abandon it.
   * Each hang spends the attempt its overrun spent, no loss too, and the task fails for good after
   * {@code max-attempts} hangs, naming its lease.
   */
  @Test
  void aComputeHungForGoodSpendsItsAttemptAndNoLossWhenItsWorkerRestartsToAbandonIt() {
    serve("w1", 2, "square");
    enqueueSquares("h");
    for (int hang = 1; hang < MAX_ATTEMPTS; hang++) {
      String incarnation = "inc-" + hang;
      effects.now += LEASE.toNanos();
      assertEquals(1, queue.expireLeases());
      assertEquals(
          new Sent("w1", square("h").withAttempt(2 * hang)),
          effects.last(),
          "back on the only worker, behind its hung compute");
      queue.workerGoingDown("w1", incarnation, Set.of("h")); // cancel grace over: it restarts
      assertEquals(
          new PutBack("h", 2 * hang + 1, "w1", Redelivery.HUNG_ABANDONED),
          effects.putBacks.get(effects.putBacks.size() - 1));
      assertTrue(effects.retries.isEmpty(), "no crash backoff: " + effects.retries);
      queue.workerServes("w1", "inc-" + (hang + 1), "w1", Set.of("square"), 2);
      assertEquals(new Sent("w1", square("h").withAttempt(2 * hang + 1)), effects.last());
    }
    effects.now += LEASE.toNanos();
    queue.expireLeases();
    TaskOutcome.Failed failed = assertInstanceOf(TaskOutcome.Failed.class, effects.outcomes.get(0));
    assertTrue(failed.reason().contains("lease of 10000 ms overran on worker w1"), failed.reason());
    assertTrue(
        failed.reason().contains("3 of 3 attempts and 0 of 4 worker losses spent"),
        failed.reason());
  }

  /**
   * The overrun's compute returned (its cancelled failure came back), then the next attempt brought
   * the worker down: a crash of its own, which spends a loss.
   */
  @Test
  void aCrashAfterTheOverrunComputeReturnedIsACrashOfItsOwn() {
    serve("w1", 2, "square");
    enqueueSquares("t1");
    effects.now += LEASE.toNanos();
    assertEquals(1, queue.expireLeases());
    assertFalse(
        queue.failed(
            "w1", "inc-1", "t1", "run-1", 1, "cancelled: lease of 10000 ms ran out", true));
    queue.workerGoingDown("w1", "inc-1", Set.of("t1"));
    assertEquals(
        List.of(new PutBack("t1", 2, "w1", Redelivery.LEASE_OVERRUN)),
        effects.putBacks,
        "the crash's put-back waits out a backoff (below), not at once");
    assertEquals(
        List.of(new Retry("t1", 1, "it crashed worker w1 (1 of 4 worker losses spent)")),
        effects.retries);
  }

  /**
   * On a worker of one slot the task waits pending while its cancelled compute holds the slot; that
   * compute returns, the slot frees, and the next attempt, dispatched there normally, crashes the
   * worker: a crash of its own (a review's case), not a hang abandoned.
   */
  @Test
  void aCrashOfAnAttemptDispatchedAfterTheHungComputeLetGoIsACrashOfItsOwn() {
    serve("w1", 1, "square");
    enqueueSquares("t1");
    effects.now += LEASE.toNanos();
    assertEquals(1, queue.expireLeases());
    assertEquals(1, effects.sent.size(), "its slot is the cancelled compute's: t1 waits pending");
    assertFalse(
        queue.failed(
            "w1", "inc-1", "t1", "run-1", 1, "cancelled: lease of 10000 ms ran out", true));
    assertEquals(new Sent("w1", square("t1").withAttempt(2)), effects.last());
    queue.workerGoingDown("w1", "inc-1", Set.of("t1"));
    assertEquals(
        List.of(new Retry("t1", 1, "it crashed worker w1 (1 of 4 worker losses spent)")),
        effects.retries);
  }

  @Test
  void anOverrunOnAWorkerThatThenDiesIsALossNotAnAttempt() {
    serve("w1", 1, "square");
    serve("w2", 1, "square");
    enqueueSquares("t1");
    String first = effects.last().worker();
    String second = first.equals("w1") ? "w2" : "w1";
    for (int i = 0; i < MAX_ATTEMPTS - 1; i++) {
      effects.now += LEASE.toNanos();
      queue.expireLeases(); // an attempt each, while the worker may be alive and hung
    }
    // Both workers were in fact gone (a node that stopped answering): the overruns become losses.
    queue.workerTerminated(first);
    queue.workerTerminated(second);
    serve("w3", 1, "square");
    effects.now += LEASE.toNanos();
    assertEquals(
        1,
        queue.expireLeases()); // a third overrun: with two attempts refunded, it has attempts left
    assertTrue(effects.outcomes.isEmpty(), effects.outcomes.toString());
    assertEquals(1, squareStats().pending(), "back in the queue, not failed");
  }

  /**
   * Two entities handed a worker of one slot a task each at once: this queue's waits there behind
   * the other's. Its lease bounds its compute, not that wait: it starts again at each load report
   * that names the task waiting, and once more at the first that shows it started.
   */
  @Test
  void aTaskWaitingOnItsWorkerForASlotHasItsLeaseFromWhenItStarts() {
    serve("w1", 1, "square");
    enqueueSquares("t1");
    assertEquals(List.of("t1"), effects.sentTo("w1"));
    long second = Duration.ofSeconds(1).toNanos();

    effects.now += 5 * second;
    queue.workerLoad("w1", "inc-1", List.of("other-entity:7", "t1"), List.of("t1"));
    effects.now += 4 * second;
    queue.workerLoad("w1", "inc-1", List.of("other-entity:7", "t1"), List.of("t1")); // periodic
    effects.now += second / 2;
    queue.workerLoad("w1", "inc-1", List.of("t1"), List.of()); // other-entity:7 done, t1 started
    effects.now += 5 * second; // 14.5 s after the dispatch, 5 s after the start
    assertEquals(0, queue.expireLeases(), "the lease counts from the report that it started");
    effects.now += LEASE.toNanos() - 5 * second - 1;
    assertEquals(0, queue.expireLeases(), "its compute has its whole lease");
    queue.workerLoad("w1", "inc-1", List.of("t1"), List.of()); // no new start: the lease stays
    effects.now += 1;
    assertEquals(1, queue.expireLeases(), "the lease bounds the compute once it has started");
    assertEquals(
        List.of(new Cancelled("w1", "t1", "run-1", "lease of 10000 ms ran out")), effects.cancels);
  }

  /**
   * A task stuck behind a compute that does not end (an orphan no lease covers any more) is not
   * kept for ever: its lease starts again only within one lease of its dispatch, so it is put back
   * at most two leases after it.
   */
  @Test
  void aTaskWaitingOnItsWorkerLongerThanALeaseIsPutBackWithinTwoLeases() {
    serve("w1", 1, "square");
    enqueueSquares("t1");
    long second = Duration.ofSeconds(1).toNanos();
    List<String> held = List.of("orphan:1", "t1");
    effects.now += 5 * second;
    queue.workerLoad("w1", "inc-1", held, List.of("t1"));
    effects.now += 4 * second;
    queue.workerLoad("w1", "inc-1", held, List.of("t1")); // 9 s: due at 19 s now
    effects.now += 6 * second;
    queue.workerLoad("w1", "inc-1", held, List.of("t1")); // 15 s: waited a lease, no restart
    effects.now += 4 * second - 1;
    assertEquals(0, queue.expireLeases());
    effects.now += 1;
    assertEquals(1, queue.expireLeases(), "19 s: the lease of the last restart ran out");
    assertEquals(
        List.of(new Cancelled("w1", "t1", "run-1", "lease of 10000 ms ran out")), effects.cancels);
  }

  @Test
  void slotsAWorkerSpendsOnOtherEntitiesTasksAreNotHandedOutTwice() {
    // Issue 8, case 2: this queue is one entity; the worker (concurrency 1) runs a task of another
    // entity.
    serve("w1", 1, "square");
    queue.workerLoad("w1", "inc-1", List.of("other-entity:7"));
    enqueueSquares("merge");
    assertTrue(effects.sent.isEmpty(), "the worker's only slot is taken elsewhere");
    queue.workerLoad("w1", "inc-1", List.of());
    assertEquals(List.of("merge"), effects.sentIds());
    // its own task in the report does not count twice
    queue.workerLoad("w1", "inc-1", List.of("merge"));
    assertEquals(0, queue.freeSlots("w1"));
    assertTrue(succeed("w1", "merge"));
    assertEquals(1, queue.freeSlots("w1"));
  }

  @Test
  void aTaskSentAgainAfterItsEntityMovedGoesBackToTheWorkerThatHoldsItNotToAFreeOne() {
    // this entity is the new life of one that stopped while w1 ran "orphan" for it; w2 is idle
    serve("w1", 1, "square");
    serve("w2", 1, "square");
    queue.workerLoad(
        "w1", "inc-1", List.of("orphan"), List.of(), List.of("orphan"), List.of("run-1"));
    assertEquals(0, queue.freeSlots("w1"), "its one slot is spent on the orphan");
    enqueueSquares("orphan"); // the flow sends it again
    assertEquals(List.of(new Sent("w1", square("orphan"))), effects.sent, "not to the idle w2");
    assertEquals(0, queue.freeSlots("w1"), "counted once: held here now, no longer elsewhere");
    assertEquals(1, squareStats().inFlight());
    queue.workerLoad(
        "w1", "inc-1", List.of("orphan"), List.of(), List.of(), List.of()); // the hand-back arrived
    assertEquals(0, queue.freeSlots("w1"));
    assertTrue(succeed("w1", "orphan"));
    assertEquals(1, effects.outcomes.size());
    // the next task goes to a free worker as ever
    enqueueSquares("next");
    assertEquals(2, effects.sent.size());
  }

  @Test
  void aKeptResultsTaskSentTwiceGoesBackToItsWorkerBothTimesEvenAfterTheFirstAnswer() {
    // two queue nodes were removed at once, and each removal made the flow send its pending tasks
    // again: the second copy of "kept" comes after w1 answered the first with its kept result,
    // when this entity no longer holds the task; it goes back to w1 too, not to the idle w2
    serve("w1", 1, "square");
    serve("w2", 1, "square");
    queue.workerLoad("w1", "inc-1", List.of(), List.of(), List.of("kept"), List.of("run-1"));
    enqueueSquares("kept");
    assertEquals(List.of("kept"), effects.sentTo("w1"), "handed back");
    assertTrue(succeed("w1", "kept"));
    enqueueSquares("kept");
    assertEquals(List.of("kept", "kept"), effects.sentTo("w1"), "handed back again");
    assertEquals(List.of(), effects.sentTo("w2"), "no second compute");
    assertTrue(succeed("w1", "kept"));
    assertTrue(effects.cancels.isEmpty());

    // a third copy goes back too; w1's load report that crossed that hand-back (it names the kept
    // result, not as held) keeps the entry, for a fourth copy after the answer
    enqueueSquares("kept");
    assertEquals(List.of("kept", "kept", "kept"), effects.sentTo("w1"), "handed back a third time");
    queue.workerLoad("w1", "inc-1", List.of(), List.of(), List.of("kept"), List.of("run-1"));
    assertTrue(succeed("w1", "kept"));
    enqueueSquares("kept");
    assertEquals(
        List.of("kept", "kept", "kept", "kept"),
        effects.sentTo("w1"),
        "a report while the copy was in flight kept the entry");
    assertEquals(List.of(), effects.sentTo("w2"));
    assertTrue(succeed("w1", "kept"));

    // once w1 no longer names it (its kept result expired), a repeat goes where there is room
    queue.workerLoad("w1", "inc-1", List.of(), List.of(), List.of(), List.of());
    enqueueSquares("kept");
    assertEquals(4, effects.sentTo("w1").size());
    assertEquals(List.of("kept"), effects.sentTo("w2"));
  }

  @Test
  void anOrphanAlreadyWaitingHereGoesBackToItsWorkerWhenTheWorkerReportsIt() {
    // the flow's re-send came before the worker's report: no worker had room, so it waits
    serve("w1", 1, "square");
    queue.workerLoad("w1", "inc-1", List.of("orphan"));
    enqueueSquares("orphan");
    assertTrue(effects.sent.isEmpty());
    queue.workerLoad(
        "w1", "inc-1", List.of("orphan"), List.of(), List.of("orphan"), List.of("run-1"));
    assertEquals(List.of(new Sent("w1", square("orphan"))), effects.sent);
    assertEquals(0, squareStats().pending());
  }

  @Test
  void aCopyHandedOutBeforeTheWorkerReportedItsOrphanIsCancelledAndTheTaskHandedBack() {
    // a queue node died: the flow's re-send reached the new entity before w1's report, and w2,
    // with the most room, got a copy of the task w1 computes since before the move
    serve("w1", 1, "square");
    serve("w2", 2, "square");
    enqueueSquares("orphan");
    assertEquals(List.of("orphan"), effects.sentTo("w2"));
    queue.workerLoad(
        "w1", "inc-1", List.of("orphan"), List.of(), List.of("orphan"), List.of("run-1"));
    assertEquals(List.of("orphan"), effects.sentTo("w1"), "handed back");
    assertEquals(1, effects.cancels.size());
    assertEquals("w2", effects.cancels.get(0).worker());
    assertEquals(1, squareStats().inFlight());
    assertEquals(1, queue.freeSlots("w2"), "the copy keeps its slot until w2 reports on it");
    assertTrue(succeed("w1", "orphan"));
    assertFalse(succeed("w2", "orphan"), "the cancelled copy's late result is not taken");
    assertEquals(2, queue.freeSlots("w2"));
    assertEquals(1, effects.outcomes.size());
  }

  /**
   * A node that ran the sequencer and a queue entity died, and a standby's run pushes tasks whose
   * ids the old run used: a worker's orphan of the old run is not the new run's task of that id.
   * The new copy in flight elsewhere is not cancelled for it, and a re-send is not handed back to
   * it.
   */
  @Test
  void anOrphanOfAnotherRunIsNotTheTaskOfTheSameIdHere() {
    String oldRun = "r0000000000001-00000000";
    String newRun = "r0000000000002-00000000";
    serve("w1", 1, "square");
    serve("w2", 2, "square");
    // w1 computes the old run's f:1 and f:2 since before the move; this queue has seen no run yet
    queue.workerLoad(
        "w1",
        "inc-1",
        List.of("f:1", "f:2"),
        List.of(),
        List.of("f:1", "f:2"),
        List.of(oldRun, oldRun));
    queue.enqueue(new TaskEnvelope("f:1", "f", newRun, "square", 1, Num.of(2)), "new-flow");
    assertEquals(List.of("f:1"), effects.sentTo("w2"), "not handed back to w1");
    // reported again, now that the new run is known here: w2's copy is not cancelled for it
    queue.workerLoad(
        "w1",
        "inc-1",
        List.of("f:1", "f:2"),
        List.of(),
        List.of("f:1", "f:2"),
        List.of(oldRun, oldRun));
    assertTrue(effects.cancels.isEmpty(), "w2's copy is the new run's task: " + effects.cancels);
    queue.enqueue(new TaskEnvelope("f:2", "f", newRun, "square", 1, Num.of(3)), "new-flow");
    assertEquals(List.of("f:1", "f:2"), effects.sentTo("w2"));
    assertEquals(List.of(), effects.sentTo("w1"));

    // an orphan of the run this queue serves still goes back to its worker
    queue.workerLoad("w1", "inc-1", List.of("f:3"), List.of(), List.of("f:3"), List.of(newRun));
    queue.enqueue(new TaskEnvelope("f:3", "f", newRun, "square", 1, Num.of(4)), "new-flow");
    assertEquals(List.of("f:3"), effects.sentTo("w1"), "handed back");
  }

  @Test
  void anOrphanIsForgottenOnceItsWorkerNoLongerReportsItOrRestarts() {
    // w2 has the most room, so a task not handed back goes to it
    serve("w1", 1, "square");
    serve("w2", 3, "square");
    queue.workerLoad("w1", "inc-1", List.of("a"), List.of(), List.of("a"), List.of("run-1"));
    queue.workerLoad(
        "w1", "inc-1", List.of(), List.of(), List.of(), List.of()); // w1 finished it meanwhile
    enqueueSquares("a");
    assertEquals(List.of("a"), effects.sentTo("w2"));
    queue.workerLoad("w1", "inc-1", List.of("b"), List.of(), List.of("b"), List.of("run-1"));
    queue.workerServes("w1", "inc-2", "w1", Set.of("square"), 1); // w1 restarted: b is gone
    enqueueSquares("b");
    assertEquals(List.of("a", "b"), effects.sentTo("w2"));
    assertEquals(List.of(), effects.sentTo("w1"));
  }

  @Test
  void aDispatchOrReportLostInTransitIsFoundByTheLoadReportsAndPutBack() {
    serve("w1", 1, "square");
    enqueueSquares("t1");
    queue.workerLoad("w1", "inc-1", List.of()); // not there yet: maybe still on its way
    effects.now += LOST_AFTER.toNanos() - 1;
    queue.workerLoad("w1", "inc-1", List.of());
    assertTrue(effects.putBacks.isEmpty());
    effects.now += 1;
    queue.workerLoad("w1", "inc-1", List.of());
    assertEquals(List.of(new PutBack("t1", 2, "w1", Redelivery.LOST_IN_TRANSIT)), effects.putBacks);
    assertEquals(new Sent("w1", square("t1").withAttempt(2)), effects.last(), "sent again");
    // listed once, the suspicion is over
    queue.workerLoad("w1", "inc-1", List.of());
    queue.workerLoad("w1", "inc-1", List.of("t1"));
    effects.now += LOST_AFTER.toNanos();
    queue.workerLoad("w1", "inc-1", List.of("t1"));
    assertEquals(1, effects.putBacks.size());
    assertEquals(1, squareStats().lost());
  }

  @Test
  void anUnreachableWorkersTasksGoBackAtOnceAndItGetsNoWorkUntilReachable() {
    serve("w1", 2, "square");
    enqueueSquares("t1", "t2", "t3");
    assertEquals(2, queue.workerUnreachable("w1"));
    assertEquals(
        Set.of("t1", "t2"),
        effects.cancels.stream().map(Cancelled::taskId).collect(Collectors.toSet()));
    assertEquals(2, squareStats().lost());
    assertEquals(2, effects.sent.size());
    queue.workerReachable("w1");
    assertEquals(4, effects.sent.size());
    assertEquals(
        List.of("t1", "t2"),
        effects.sentIds().subList(2, 4),
        "the put-back tasks first, oldest first");
  }

  @Test
  void theQueueSaysWhichTasksItDoesNotHold() {
    serve("w1", 1, "square");
    enqueueSquares("t1", "t2");
    assertTrue(succeed("w1", "t1"));
    assertEquals(List.of("t1", "t9"), queue.notHeld(List.of("t1", "t2", "t9")));
  }

  @Test
  void aRegistrationTaskOfANewerRunReplacesThoseOfOlderRuns() {
    String registration = dev.pekkoprover.protocol.WorkerRegistrationTask.NAME;
    queue.enqueue(
        new TaskEnvelope("old:1", "reg", "r0000000000001-00000000", registration, 1, "keys-1"),
        "old");
    queue.enqueue(
        new TaskEnvelope("new:1", "reg", "r0000000000002-00000000", registration, 1, "keys-2"),
        "new");
    serve("w1", 1, registration);
    assertEquals(List.of("new:1"), effects.sentIds());
    assertEquals(List.of("old:1"), queue.notHeld(List.of("old:1", "new:1")));
  }

  /**
   * A node whose flows had tasks here was removed (a sequencer node killed and downed): their
   * waiting tasks are dropped and those in flight cancelled, so the fleet stops computing results
   * no one can take; another node's flow's tasks go on, and a freed slot goes to them once the
   * cancelled compute reports.
   */
  @Test
  void theTasksOfFlowsOnARemovedNodeAreGivenUpAndTheOthersGoOn() {
    String run = "r0000000000001-00000000";
    serve("w1", 1, "square");
    serve("w2", 1, "square");
    for (String id : List.of("a:1", "a:2", "a:3")) {
      queue.enqueue(new TaskEnvelope(id, "a", run, "square", 1, Num.of(3)), "node-a/flow");
    }
    queue.enqueue(new TaskEnvelope("b:1", "b", run, "square", 1, Num.of(4)), "node-b/flow");
    assertEquals(List.of("a:1", "a:2"), effects.sentIds());
    assertTrue(queue.failed("w2", "inc-1", "a:2", run, 1, "flaky", true)); // a:2 in a backoff
    assertEquals(List.of("a:1", "a:2", "a:3"), effects.sentIds());

    TaskQueueState.GivenUp given =
        queue.repliesGone("a", flow -> flow.startsWith("node-a/"), "its flow's node left");
    assertEquals(new TaskQueueState.GivenUp(1, 2), given, "a:2 waiting; a:1, a:3 in flight");
    assertEquals(
        Set.of(
            new Cancelled("w1", "a:1", run, "its flow's node left"),
            new Cancelled("w2", "a:3", run, "its flow's node left")),
        Set.copyOf(effects.cancels));
    assertEquals(List.of("a:1", "a:2", "a:3"), queue.notHeld(List.of("a:1", "a:2", "a:3", "b:1")));
    queue.retryDue("a:2"); // the dropped task's backoff ends: nothing to send
    assertEquals(List.of("a:1", "a:2", "a:3"), effects.sentIds());
    // the cancelled compute reports: its slot goes to the other node's flow's task
    assertFalse(queue.failed("w1", "inc-1", "a:1", run, 1, "cancelled", true));
    assertEquals(List.of("a:1", "a:2", "a:3", "b:1"), effects.sentIds());
    assertEquals(new TaskQueueState.GivenUp(0, 0), queue.repliesGone("x", f -> false, "nothing"));
  }

  /**
   * A node whose flows have tasks here is unreachable (a sequencer node killed, not yet removed):
   * its waiting tasks are held back, in flight ones go on, and other flows' tasks take the free
   * slots; reachable again, the held tasks go back in their order with their attempt numbers.
   */
  @Test
  void theWaitingTasksOfAnUnreachableNodesFlowsAreHeldBackUntilItIsReachableAgain() {
    String run = "r0000000000001-00000000";
    serve("w1", 1, "square");
    for (String id : List.of("a:1", "a:2", "a:3")) {
      queue.enqueue(new TaskEnvelope(id, "a", run, "square", 1, Num.of(3)), "node-a/flow");
    }
    queue.enqueue(new TaskEnvelope("b:1", "b", run, "square", 1, Num.of(4)), "node-b/flow");
    assertEquals(List.of("a:1"), effects.sentIds());

    assertEquals(2, queue.holdBack("a", flow -> flow.startsWith("node-a/")));
    assertEquals(List.of(), queue.notHeld(List.of("a:2", "a:3")), "still held by the queue");
    assertTrue(queue.succeeded("w1", "inc-1", "a:1", run, 1, Num.of(9)), "in flight: goes on");
    assertEquals(List.of("a:1", "b:1"), effects.sentIds(), "the free slot: the other flow's");
    assertTrue(queue.succeeded("w1", "inc-1", "b:1", run, 1, Num.of(16)));
    assertEquals(List.of("a:1", "b:1"), effects.sentIds(), "nothing of node a's while it is out");

    assertEquals(0, queue.releaseHeld("b"), "b's held none");
    assertEquals(2, queue.releaseHeld("a"));
    assertEquals(List.of("a:1", "b:1", "a:2"), effects.sentIds(), "back, the oldest first");
    assertEquals(1, effects.last().task().attempt(), "not a redelivery");
    assertTrue(queue.succeeded("w1", "inc-1", "a:2", run, 1, Num.of(9)));
    assertEquals(List.of("a:1", "b:1", "a:2", "a:3"), effects.sentIds());
    assertEquals(0, queue.releaseHeld("a"), "released once");
  }

  /**
   * While the hold is on, a held flow's task that would become pending is held too: one put back
   * from a worker of that node (a node that is sequencer and worker at once), one enqueued, and an
   * older run's retry timer for a held task's id does not send it out.
   */
  @Test
  void aHeldFlowsTaskPutBackOrEnqueuedWhileItsNodeIsUnreachableIsHeldToo() {
    String run = "r0000000000001-00000000";
    serve("wa", 1, "square"); // the worker on node a itself
    queue.enqueue(new TaskEnvelope("a:1", "a", run, "square", 1, Num.of(3)), "node-a/flow");
    queue.enqueue(new TaskEnvelope("a:2", "a", run, "square", 1, Num.of(3)), "node-a/flow");
    assertEquals(List.of("a:1"), effects.sentTo("wa"));

    assertEquals(1, queue.holdBack("a", flow -> flow.startsWith("node-a/")), "a:2");
    serve("wb", 1, "square");
    queue.workerUnreachable("wa"); // node a's worker: its a:1 is put back, and held
    queue.enqueue(new TaskEnvelope("a:3", "a", run, "square", 1, Num.of(3)), "node-a/flow");
    queue.retryDue("a:2"); // a stray timer for the id
    assertEquals(List.of(), effects.sentTo("wb"), "nothing of node a's while it is out");
    queue.enqueue(new TaskEnvelope("b:1", "b", run, "square", 1, Num.of(4)), "node-b/flow");
    assertEquals(List.of("b:1"), effects.sentTo("wb"), "another node's flow goes on");
    assertTrue(queue.succeeded("wb", "inc-1", "b:1", run, 1, Num.of(16)));

    assertEquals(3, queue.releaseHeld("a"));
    assertEquals(List.of("b:1", "a:1"), effects.sentTo("wb"), "the oldest first");
    assertEquals(2, effects.last().task().attempt(), "a:1 was put back once");
  }

  /** Held back, then its node is removed: the held tasks are dropped with the rest. */
  @Test
  void tasksHeldBackForANodeThatIsThenRemovedAreDropped() {
    String run = "r0000000000001-00000000";
    serve("w1", 1, "square");
    for (String id : List.of("a:1", "a:2", "a:3")) {
      queue.enqueue(new TaskEnvelope(id, "a", run, "square", 1, Num.of(3)), "node-a/flow");
    }
    assertEquals(2, queue.holdBack("a", flow -> flow.startsWith("node-a/")));
    assertEquals(
        new TaskQueueState.GivenUp(2, 1),
        queue.repliesGone("a", flow -> flow.startsWith("node-a/"), "gone"));
    assertEquals(
        List.of("a:1", "a:2", "a:3"), queue.notHeld(List.of("a:1", "a:2", "a:3")), "all gone");
    assertEquals(0, queue.releaseHeld("a"));
    assertEquals(0, queue.stats().of("square").pending(), queue.stats().toString());
  }

  /**
   * A standby sequencer took over: the first task of its newer run gives up the older run's tasks.
   * Those waiting (pending, or in a retry backoff) are dropped, and those in flight are cancelled
   * on their workers, whose slots stay counted until they report. A newer task under an id an older
   * one held is queued, not dropped as a repeat, and the older compute's late result does not
   * answer for it. So with a registration offer in flight: the newer run's offer of the same id
   * goes out once the worker answered the older one.
   */
  @Test
  void aTaskOfANewerRunGivesUpTheOlderRunsTasksAndTakesTheirIds() {
    String oldRun = "r0000000000001-00000000";
    String newRun = "r0000000000002-00000000";
    String registration = dev.pekkoprover.protocol.WorkerRegistrationTask.NAME;
    serve("w1", 1, "square");
    queue.workerServes(
        "w2",
        "inc-1",
        "w2",
        Set.of(registration),
        1,
        dev.pekkoprover.protocol.WorkerState.UNPREPARED);
    for (String id : List.of("f:1", "f:2", "f:3")) {
      queue.enqueue(new TaskEnvelope(id, "f", oldRun, "square", 1, Num.of(3)), "old-flow");
    }
    queue.enqueue(new TaskEnvelope("reg:1", "reg", oldRun, registration, 1, "keys"), "old-reg");
    assertEquals(List.of("f:1"), effects.sentTo("w1"));
    assertEquals(List.of("reg:1"), effects.sentTo("w2"));
    assertTrue(queue.failed("w1", "inc-1", "f:1", oldRun, 1, "flaky", true)); // backoff
    assertEquals(List.of("f:1", "f:2"), effects.sentTo("w1"));

    TaskEnvelope fresh = new TaskEnvelope("f:2", "f", newRun, "square", 1, Num.of(4));
    queue.enqueue(fresh, "new-flow");
    String over = "run " + oldRun + " is over: run " + newRun + " took over";
    assertEquals(
        Set.of(
            new Cancelled("w1", "f:2", oldRun, over), new Cancelled("w2", "reg:1", oldRun, over)),
        Set.copyOf(effects.cancels));
    assertEquals(List.of(newRun + ": 2 dropped, 2 cancelled"), effects.superseded);
    assertEquals(
        List.of("f:1", "f:3", "reg:1"), queue.notHeld(List.of("f:1", "f:2", "f:3", "reg:1")));
    assertEquals(0, queue.stats().repeatedEnqueues());
    // w1 still computes the old f:2 until it reports: the new f:2 waits for its slot
    assertEquals(List.of("f:1", "f:2"), effects.sentTo("w1"));
    queue.retryDue("f:1"); // the dropped task's backoff timer fires: nothing to do
    assertFalse(queue.failed("w1", "inc-1", "f:2", oldRun, 1, "cancelled: run over", true));
    assertEquals(List.of("f:1", "f:2", "f:2"), effects.sentTo("w1"));
    assertEquals(fresh, effects.last().task());
    assertTrue(queue.succeeded("w1", "inc-1", "f:2", newRun, 1, Num.of(16)));
    assertEquals(1, effects.outcomes.size());
    assertEquals("f:2", effects.outcomes.get(0).taskId());
    assertEquals(newRun, effects.outcomes.get(0).runId());
    TaskEnvelope offer = new TaskEnvelope("reg:1", "reg", newRun, registration, 1, "keys-2");
    queue.enqueue(offer, "new-reg");
    assertEquals(List.of("reg:1"), effects.sentTo("w2"), "w2's slot is the older offer's still");
    assertFalse(queue.succeeded("w2", "inc-1", "reg:1", oldRun, 1, "registered"));
    assertEquals(List.of("reg:1", "reg:1"), effects.sentTo("w2"));
    assertEquals(offer, effects.last().task());
    assertEquals(0, queue.stats().repeatedEnqueues());
  }

  /**
   * A worker back under its id after the queue forgot it (its node was removed a few seconds after
   * a kill, and its replacement took the same id) goes on from its counts, its restart counted; the
   * same incarnation again is no restart, and after the fleet view's ten minutes it starts anew.
   */
  @Test
  void aWorkerBackUnderItsIdAfterItWasForgottenGoesOnFromItsCounts() {
    serve("w1", 1, "square");
    enqueueSquares("t1", "t2");
    assertTrue(succeed("w1", "t1"));
    assertTrue(queue.failed("w1", "inc-1", "t2", "run-1", 1, "flaky", true));
    queue.workerServes("w1", "inc-2", "w1", Set.of("square"), 1); // a restart it was known through
    assertEquals(List.of("w1"), queue.workerTerminated("w1"));
    assertNull(queue.workerNumbers("w1"));

    queue.workerServes("w1", "inc-3", "w1", Set.of("square"), 1);
    TaskQueueState.WorkerNumbers back = queue.workerNumbers("w1");
    assertEquals(2, back.restarts(), "the one it was known through, and this one");
    assertEquals(1, back.done());
    assertEquals(1, back.failed());

    queue.workerTerminated("w1");
    queue.workerServes("w1", "inc-3", "w1", Set.of("square"), 1);
    assertEquals(2, queue.workerNumbers("w1").restarts(), "the same incarnation: no restart");

    queue.workerTerminated("w1");
    effects.now += FleetView.DepartedWorker.KEEP_MILLIS * 1_000_000 + 1;
    queue.workerServes("w1", "inc-4", "w1", Set.of("square"), 1);
    assertEquals(
        new TaskQueueState.WorkerNumbers(0, 0, 0, 0, 0, true),
        queue.workerNumbers("w1"),
        "forgotten too long ago: a new worker");
  }

  /**
   * A standby sequencer took over, and its start reached an entity (the front's run announcement)
   * before any task of its run did: the older run's tasks are given up then, rather than handed to
   * workers registered for the newer run, which would fail each for good. The same run announced
   * again, or an older one, changes nothing.
   */
  @Test
  void aNewerRunAnnouncedBeforeItsFirstTaskGivesUpTheOlderRunsTasks() {
    String oldRun = "r0000000000001-00000000";
    String newRun = "r0000000000002-00000000";
    queue.runStarted(oldRun); // the first run here: nothing to give up
    assertEquals(List.of(), effects.superseded);
    serve("w1", 1, "square");
    for (String id : List.of("f:1", "f:2", "f:3")) {
      queue.enqueue(new TaskEnvelope(id, "f", oldRun, "square", 1, Num.of(3)), "old-flow");
    }
    assertEquals(List.of("f:1"), effects.sentTo("w1"));

    queue.runStarted(newRun);
    String over = "run " + oldRun + " is over: run " + newRun + " took over";
    assertEquals(List.of(new Cancelled("w1", "f:1", oldRun, over)), effects.cancels);
    assertEquals(List.of(newRun + ": 2 dropped, 1 cancelled"), effects.superseded);
    assertEquals(List.of("f:1", "f:2", "f:3"), queue.notHeld(List.of("f:1", "f:2", "f:3")));
    queue.runStarted(newRun);
    queue.runStarted(oldRun);
    assertEquals(1, effects.superseded.size(), "once per newer run");
    assertEquals(1, effects.cancels.size());

    // the cancelled compute answers: its slot frees, and nothing of the older run goes out
    assertFalse(queue.failed("w1", "inc-1", "f:1", oldRun, 1, "cancelled: run over", true));
    assertEquals(List.of("f:1"), effects.sentTo("w1"));
    assertEquals(List.of(), effects.outcomes, "the older run's flows are gone: no outcome");
    queue.enqueue(new TaskEnvelope("f:2", "f", newRun, "square", 1, Num.of(4)), "new-flow");
    assertEquals(List.of("f:1", "f:2"), effects.sentTo("w1"));
    assertEquals(newRun, effects.last().task().runId());
    assertEquals(1, effects.superseded.size());

    // a late Enqueue of the older run (its sequencer handed over): dropped, not held
    queue.enqueue(new TaskEnvelope("f:4", "f", oldRun, "square", 1, Num.of(5)), "old-flow");
    assertEquals(List.of("f:4 of " + oldRun + " after " + newRun), effects.runOver);
    assertEquals(List.of("f:4"), queue.notHeld(List.of("f:2", "f:4")));
    // the same run under another String instance (a task from another node) is not older
    queue.enqueue(
        new TaskEnvelope("f:5", "f", new String(newRun), "square", 1, Num.of(5)), "new-flow");
    assertEquals(List.of(), queue.notHeld(List.of("f:5")));
    // run names that are not RunIds tell no order: nothing is dropped for them
    queue.runStarted("run-9");
    queue.enqueue(new TaskEnvelope("g:1", "g", "run-1", "square", 1, Num.of(1)), "other");
    assertEquals(List.of(), queue.notHeld(List.of("g:1")));
    assertEquals(1, effects.runOver.size());
  }

  @Test
  void
      anUnpreparedAnnouncementThatArrivesAfterTheRegistrationResultDoesNotOfferItTheRegistrationTypeAgain() {
    String registration = dev.pekkoprover.protocol.WorkerRegistrationTask.NAME;
    String run = "r0000000000001-00000000";
    var unprepared = dev.pekkoprover.protocol.WorkerState.UNPREPARED;
    queue.workerServes("w1", "inc-1", "w1", Set.of(registration), 2, unprepared);
    queue.enqueue(new TaskEnvelope("reg:1", "reg", run, registration, 1, "keys"), "reg");
    assertTrue(queue.succeeded("w1", "inc-1", "reg:1", run, 1, "registered"));
    // a periodic announcement sent while still Unprepared, overtaken by the result on its shorter
    // path
    queue.workerServes("w1", "inc-1", "w1", Set.of(registration), 2, unprepared);
    queue.enqueue(new TaskEnvelope("reg:2", "reg", run, registration, 1, "keys"), "reg");
    assertEquals(List.of("reg:1"), effects.sentTo("w1"), "the stale announcement lifts nothing");
    // its announcements after the registration come; later, told of a newer run, it is Unprepared
    // again for real
    queue.workerServes(
        "w1", "inc-1", "w1", Set.of("square"), 2, dev.pekkoprover.protocol.WorkerState.READY);
    queue.workerServes("w1", "inc-1", "w1", Set.of(registration), 2, unprepared);
    assertEquals(List.of("reg:1", "reg:2"), effects.sentTo("w1"));
  }

  @Test
  void
      aRegistrationResultOvertakenByTheWorkersRegisteredAnnouncementDoesNotHideItFromTheNextRunsRegistration() {
    String registration = dev.pekkoprover.protocol.WorkerRegistrationTask.NAME;
    var unprepared = dev.pekkoprover.protocol.WorkerState.UNPREPARED;
    queue.workerServes("w1", "inc-1", "w1", Set.of(registration), 2, unprepared);
    queue.enqueue(
        new TaskEnvelope("reg:1", "reg", "r0000000000001-00000000", registration, 1, "keys"),
        "reg");
    // the paths crossed the other way: its announcement as Registered came before the result
    queue.workerServes(
        "w1", "inc-1", "w1", Set.of(), 2, dev.pekkoprover.protocol.WorkerState.REGISTERED);
    assertTrue(queue.succeeded("w1", "inc-1", "reg:1", "r0000000000001-00000000", 1, "registered"));
    // its announcement as Ready goes only to the entities of the types it served as Registered and
    // serves now: in a
    // cluster the registration type's entity (this state) does not see it
    // a newer run (a standby sequencer took over): w1 is Unprepared again and must take that run's
    // registration
    queue.workerServes("w1", "inc-1", "w1", Set.of(registration), 2, unprepared);
    queue.enqueue(
        new TaskEnvelope("reg:1b", "reg", "r0000000000002-00000000", registration, 1, "keys"),
        "reg");
    assertEquals(List.of("reg:1", "reg:1b"), effects.sentTo("w1"));
  }

  @Test
  void aWorkerHoldsOneRegistrationTaskAtATimeWhateverItsSlotsWhileSeveralAreOnOffer() {
    String registration = dev.pekkoprover.protocol.WorkerRegistrationTask.NAME;
    String run = "r0000000000001-00000000";
    var unprepared = dev.pekkoprover.protocol.WorkerState.UNPREPARED;
    for (int i = 1; i <= 4; i++) { // the registration loop keeps several on offer
      queue.enqueue(new TaskEnvelope("reg:" + i, "reg", run, registration, 1, "keys"), "reg");
    }
    queue.workerServes("w1", "inc-1", "w1", Set.of(registration), 4, unprepared);
    queue.workerServes("w2", "inc-1", "w2", Set.of(registration), 4, unprepared);
    assertEquals(List.of("reg:1"), effects.sentTo("w1"), "one, though it has four slots");
    assertEquals(List.of("reg:2"), effects.sentTo("w2"));
    // a failed registration frees its place: the worker, still Unprepared, takes another
    queue.failed("w1", "inc-1", "reg:1", run, 1, "keys did not load", true);
    assertEquals(List.of("reg:1", "reg:3"), effects.sentTo("w1"));
    assertTrue(queue.succeeded("w2", "inc-1", "reg:2", run, 1, "registered"));
    assertEquals(List.of("reg:2"), effects.sentTo("w2"), "registered: none more");
  }

  /**
   * Trial D: the registration entity saw the worker's Unprepared announcement and its registration
   * result, but never its Registered announcement (the queue front that routes a worker's
   * announcement to the entities of its previous types had forgotten the worker: a Terminated that
   * Pekko answered from the tombstone of the node's previous incarnation at the same host:port).
   * Nothing else past Unprepared reaches that entity, so the "just registered" mark stayed set; at
   * the next run the worker, Unprepared again, announced itself every 5 s and each announcement was
   * taken for the stale one the mark is for: the new run's registration task (the same id
   * register-worker-flow:1, held, so never offered again) went to no one.
   */
  @Test
  void
      aWorkerWhoseRegisteredAnnouncementNeverReachedTheRegistrationEntityTakesTheNextRunsRegistration() {
    String registration = dev.pekkoprover.protocol.WorkerRegistrationTask.NAME;
    var unprepared = dev.pekkoprover.protocol.WorkerState.UNPREPARED;
    String oldRun = "r0000000000001-00000000";
    String newRun = "r0000000000002-00000000";
    queue.workerServes("w1", "inc-1", "w1", Set.of(registration), 1, unprepared);
    queue.enqueue(
        new TaskEnvelope(
            "register-worker-flow:1", "register-worker-flow", oldRun, registration, 1, "keys"),
        "reg");
    assertEquals(List.of("register-worker-flow:1"), effects.sentTo("w1"));
    assertTrue(queue.succeeded("w1", "inc-1", "register-worker-flow:1", oldRun, 1, "registered"));
    // the old run's loop offers its next task
    queue.enqueue(
        new TaskEnvelope(
            "register-worker-flow:2", "register-worker-flow", oldRun, registration, 1, "keys"),
        "reg");
    // (its Registered announcement is lost on the way; Ready goes only to the other types'
    // entities)
    // a new run: the front's RunStarted, then the new loop's first offer, under the same id
    queue.runStarted(newRun);
    queue.enqueue(
        new TaskEnvelope(
            "register-worker-flow:1", "register-worker-flow", newRun, registration, 1, "keys"),
        "reg");
    // the worker sees the new run, is Unprepared again, and announces so, then every 5 s
    for (int i = 0; i < 3; i++) {
      queue.workerServes("w1", "inc-1", "w1", Set.of(registration), 1, unprepared);
    }
    assertEquals(
        2, effects.sent.size(), "the new run's registration task went out: " + effects.sent);
    assertEquals(newRun, effects.last().task().runId());
  }

  @Test
  void aWorkerThatJustRegisteredIsNotOfferedTheNextRegistrationTaskBeforeItAnnouncesItsNewTypes() {
    String registration = dev.pekkoprover.protocol.WorkerRegistrationTask.NAME;
    String run = "r0000000000001-00000000";
    serve("w1", 2, registration);
    queue.enqueue(new TaskEnvelope("reg:1", "reg", run, registration, 1, "keys"), "reg");
    assertEquals(List.of("reg:1"), effects.sentTo("w1"));
    assertTrue(queue.succeeded("w1", "inc-1", "reg:1", run, 1, "registered"));
    // The registration loop offers its next task as soon as it has the result, which can be before
    // the worker's
    // announcement of its new types (without the registration type) reaches the queue: w1 is
    // registered now and
    // would only decline it.
    queue.enqueue(new TaskEnvelope("reg:2", "reg", run, registration, 1, "keys"), "reg");
    assertEquals(List.of("reg:1"), effects.sentTo("w1"));
    serve("w2", 1, registration);
    assertEquals(List.of("reg:2"), effects.sentTo("w2"));
    // Unprepared again (restarted, or told of a newer run), w1 announces the registration type and
    // takes one.
    queue.enqueue(new TaskEnvelope("reg:3", "reg", run, registration, 1, "keys"), "reg");
    serve("w1", 2, registration);
    assertEquals(List.of("reg:1", "reg:3"), effects.sentTo("w1"));
    assertEquals(0, queue.stats().of(registration).declined());
  }

  @Test
  void aNewIncarnationGetsItsOldTasksBackAndAnOldResultStillCounts() {
    serve("w1", 2, "square");
    enqueueSquares("t1", "t2");
    queue.workerServes("w1", "inc-2", "w1", Set.of("square"), 2);
    assertEquals(
        List.of(
            new Sent("w1", square("t1").withAttempt(2)),
            new Sent("w1", square("t2").withAttempt(2))),
        effects.sent.subList(2, 4));
    assertEquals(2, queue.slotsTaken("w1"));
    // A result of the old incarnation is the first result for t1: accepted; the new run of t1 holds
    // a zombie slot.
    assertTrue(queue.succeeded("w1", "inc-1", "t1", "run-1", 1, Num.of(9)));
    assertEquals(2, queue.slotsTaken("w1"));
    assertFalse(queue.succeeded("w1", "inc-2", "t1", "run-1", 2, Num.of(9)));
    assertEquals(1, queue.slotsTaken("w1"));
    // A failure reported by the old incarnation does not touch the new run.
    assertFalse(queue.failed("w1", "inc-1", "t2", "run-1", 1, "old", true));
    assertEquals(1, squareStats().inFlight());
    assertEquals(2, queue.stats().unknownResults());
  }

  @Test
  void aDeclinedTaskGoesToAnotherWorkerAndTheDeclinerGetsNoMoreOfItsTypeUntilItAnnouncesAgain() {
    serve("w1", 2, "square");
    enqueueSquares("t1");
    serve("w2", 1, "square");
    // w1 has more free slots, but it just declined t1.
    assertTrue(queue.declined("w1", "inc-1", "t1", "run-1"));
    assertEquals(new Sent("w2", square("t1").withAttempt(2)), effects.last());
    assertEquals(List.of(new PutBack("t1", 2, "w1", Redelivery.DECLINED)), effects.putBacks);
    // With only the decliner left, the task waits: no decline storm.
    queue.workerTerminated("w2");
    assertEquals(2, effects.sent.size());
    assertEquals(1, squareStats().pending());
    serve("w1", 2, "square"); // its next announcement
    assertEquals(new Sent("w1", square("t1").withAttempt(3)), effects.last());
    assertEquals(1, squareStats().declined());
    assertTrue(effects.outcomes.isEmpty());
  }

  /**
   * In a cluster another entity may fill the slot this one saw free, and the task waits on its
   * worker. Once this entity has nothing pending and a worker with room, it asks the worker to hand
   * the waiting task back (one withdraw at a time, one per task); the answer (a decline marked no
   * free slot) puts it on the worker with room, spending nothing, and the busy worker counts as
   * full until its next load report, which may give it this type again at once (not suspended).
   */
  @Test
  void aTaskWaitingOnItsWorkerForASlotIsWithdrawnToAWorkerWithRoomAndSpendsNothing() {
    serve("w1", 2, "square", "add");
    enqueueSquares("t1");
    queue.enqueue(add("a1"), "flow-1");
    // another entity's task took w1's second slot first: t1 waits there
    queue.workerLoad(
        "w1", "inc-1", List.of("a1", "other:1", "t1"), List.of("t1"), List.of(), List.of());
    assertEquals(List.of(), effects.withdraws, "no worker has room: it waits where it is");
    serve("w2", 1, "square");
    assertEquals(List.of("w1 t1 run-1"), effects.withdraws);
    serve("w3", 1, "square");
    assertEquals(1, effects.withdraws.size(), "one withdraw at a time");

    assertFalse(queue.declined("w1", "inc-1", "t1", "run-1", 0, true), "an earlier delivery's");
    assertTrue(queue.declined("w1", "inc-1", "t1", "run-1", 1, true));
    assertEquals(new Sent("w2", square("t1").withAttempt(2)), effects.last());
    assertEquals(List.of(new PutBack("t1", 2, "w1", Redelivery.NO_FREE_SLOT)), effects.putBacks);
    assertEquals(0, effects.retries.size());
    // w1 counts as full until its next report: neither type gets it
    enqueueSquares("t2", "t3");
    queue.enqueue(add("a2"), "flow-1");
    assertEquals(List.of("t1", "a1"), effects.sentTo("w1"), "nothing more to w1 before its report");
    assertEquals(List.of("t2"), effects.sentTo("w3"));
    queue.workerLoad("w1", "inc-1", List.of("a1", "other:1"));
    assertEquals(List.of("t1", "a1"), effects.sentTo("w1"));
    queue.workerLoad("w1", "inc-1", List.of("a1"));
    assertEquals(
        List.of("t1", "a1", "t3"),
        effects.sentTo("w1"),
        "the freed slot goes to the oldest pending task, of the type it handed back: not suspended");
    // should t1 wait on w2 too (another entity filled w2's slot), it is not withdrawn again
    queue.workerLoad("w2", "inc-1", List.of("other:3", "t1"), List.of("t1"), List.of(), List.of());
    serve("w4", 1, "square");
    assertEquals(1, effects.withdraws.size(), "a task is withdrawn once: it does not hop");
    assertTrue(queue.succeeded("w2", "inc-1", "t1", "run-1", 2, Num.of(9)));
    assertEquals(1, effects.outcomes.size());
    assertEquals(1, squareStats().declined());
    assertEquals(1, queue.putBack("square", Redelivery.NO_FREE_SLOT));
    assertEquals(0, queue.putBack("square", Redelivery.DECLINED));
    assertEquals(1, effects.withdraws.size());
  }

  /**
   * A withdraw that comes after the task started changes nothing (the worker does not answer): the
   * load report that shows it started ends the withdraw, and the type's next waiting task is asked
   * back at once. One left unanswered ends after {@code lost-after}. A task is asked back once.
   */
  @Test
  void aWithdrawEndsWhenItsTaskStartsOrGoesUnansweredAndEachTaskIsAskedBackOnce() {
    serve("w1", 2, "square");
    enqueueSquares("t1", "t2");
    serve("w2", 1, "square");
    // another entity's two tasks took w1's slots first: t1 and t2 wait there, w2 has room
    queue.workerLoad(
        "w1",
        "inc-1",
        List.of("o:1", "o:2", "t1", "t2"),
        List.of("t1", "t2"),
        List.of(),
        List.of());
    assertEquals(List.of("w1 t1 run-1"), effects.withdraws, "the oldest, one at a time");
    // t1 started before the withdraw came: no answer; its report ends the withdraw
    queue.workerLoad(
        "w1", "inc-1", List.of("o:2", "t1", "t2"), List.of("t2"), List.of(), List.of());
    assertEquals(List.of("w1 t1 run-1", "w1 t2 run-1"), effects.withdraws);
    // no answer, t2 still waits: after lost-after that withdraw ends too
    effects.now += LOST_AFTER.toNanos();
    queue.workerLoad(
        "w1", "inc-1", List.of("o:2", "t1", "t2"), List.of("t2"), List.of(), List.of());
    serve("w3", 1, "square");
    assertEquals(2, effects.withdraws.size(), "t2 is not asked back twice");
    // the type withdraws again: a third task waiting on w3 is asked back for w2
    enqueueSquares("t3");
    String holder = effects.last().worker(); // w2 or w3, whichever the ladder's turn gave
    queue.workerLoad(holder, "inc-1", List.of("o:3", "t3"), List.of("t3"), List.of(), List.of());
    assertEquals(holder + " t3 run-1", effects.withdraws.get(2));
    assertTrue(succeed("w1", "t1"));
    assertEquals(0, squareStats().declined());
  }

  /**
   * A withdraw under way ends when its task's worker goes away, and when its flow is cancelled
   * while the task waits in the queue: the type's later waiting tasks are still asked back.
   */
  @Test
  void aWithdrawUnderWayEndsWhenItsWorkerGoesAwayAndLaterOnesStillGoOut() {
    serve("w1", 1, "square");
    queue.enqueue(new TaskEnvelope("t1", "flow-2", "run-1", "square", 1, Num.of(3)), "flow-2");
    queue.workerLoad("w1", "inc-1", List.of("o:1", "t1"), List.of("t1"), List.of(), List.of());
    serve("w2", 1, "square");
    assertEquals(List.of("w1 t1 run-1"), effects.withdraws);
    enqueueSquares("t2"); // takes w2's room
    assertEquals(List.of("t2"), effects.sentTo("w2"));
    queue.workerTerminated("w1"); // t1 back in the queue, no worker with room
    assertEquals(1, squareStats().pending());
    assertEquals(1, queue.cancelFlow("flow-2"));

    serve("w3", 1, "square");
    enqueueSquares("t3");
    assertEquals(List.of("t3"), effects.sentTo("w3"));
    queue.workerLoad("w3", "inc-1", List.of("o:2", "t3"), List.of("t3"), List.of(), List.of());
    assertTrue(succeed("w2", "t2")); // room on w2
    assertEquals(List.of("w1 t1 run-1", "w3 t3 run-1"), effects.withdraws);
  }

  /**
   * A later attempt handed back to a worker still cancelling its earlier one waits for that compute
   * in its slot, not for a slot in the worker's queue: it is never asked back.
   */
  @Test
  void aLaterAttemptWaitingForItsCancelledComputeIsNotWithdrawn() {
    serve("w1", 2, "square");
    enqueueSquares("t1");
    effects.now += LEASE.toNanos();
    assertEquals(1, queue.expireLeases());
    assertEquals(new Sent("w1", square("t1").withAttempt(2)), effects.last());
    queue.workerLoad("w1", "inc-1", List.of("t1", "o:1"), List.of("t1"), List.of(), List.of());
    serve("w2", 1, "square");
    assertEquals(List.of(), effects.withdraws);
  }

  @Test
  void anUnknownResultIsCountedAndChangesNothing() {
    serve("w1", 1, "square");
    enqueueSquares("t1", "t2");
    assertFalse(succeed("w1", "made-up"));
    assertFalse(queue.failed("w1", "inc-1", "made-up", "run-1", 1, "x", true));
    assertFalse(queue.declined("nobody", "inc-9", "t2", "run-1"));
    assertFalse(succeed("nobody", "made-up"));
    assertEquals(4, queue.stats().unknownResults());
    assertEquals(1, queue.slotsTaken("w1"));
    assertEquals(new QueueStats.TypeStats(1, 1, 0, 0, 0, 0, 0, 0, 0, 0), squareStats());
    assertTrue(succeed("w1", "t1"));
    assertEquals("t2", effects.last().task().taskId());
  }

  @Test
  void badTasksAreRejectedWithAReason() {
    queue.enqueue(new TaskEnvelope("x1", "flow-1", "run-1", "nope", 1, Num.of(1)), "flow-1");
    queue.enqueue(
        new TaskEnvelope("x2", "flow-1", "run-1", "square", 1, new ArrayList<>()), "flow-1");
    enqueueSquares("t1");
    List<TaskOutcome.Rejected> rejected =
        effects.outcomes.stream().map(TaskOutcome.Rejected.class::cast).toList();
    assertEquals(List.of("x1", "x2"), rejected.stream().map(TaskOutcome::taskId).toList());
    assertTrue(rejected.get(0).reason().contains("'nope'"), rejected.get(0).reason());
    assertTrue(rejected.get(1).reason().contains("java.util.ArrayList"), rejected.get(1).reason());
    assertTrue(rejected.get(1).reason().contains("CborSerializable"), rejected.get(1).reason());
    assertEquals(1, squareStats().rejected());
    assertEquals(1, squareStats().pending());
  }

  @Test
  void enqueueingATaskTheQueueHoldsAgainChangesNothing() {
    serve("w1", 1, "square");
    enqueueSquares("t1", "t2");
    enqueueSquares("t1", "t2"); // a flow re-sending overdue tasks: t1 in flight, t2 pending
    assertEquals(new QueueStats.TypeStats(1, 1, 0, 0, 0, 0, 0, 0, 0, 0), squareStats());
    assertEquals(2, queue.stats().repeatedEnqueues());
    assertTrue(effects.outcomes.isEmpty(), "no rejection");
    assertTrue(succeed("w1", "t1"));
    assertTrue(succeed("w1", "t2"));
    enqueueSquares(
        "t1"); // after its result was passed on, the queue no longer holds it: it runs again
    assertEquals(1, squareStats().pending() + squareStats().inFlight());
  }

  @Test
  void cancellingAFlowDropsItsPendingAndWaitingTasksOnly() {
    serve("w1", 1, "square");
    enqueueSquares("t1", "t2");
    queue.enqueue(new TaskEnvelope("o1", "flow-2", "run-1", "square", 1, Num.of(1)), "flow-2");
    assertTrue(
        queue.failed(
            "w1", "inc-1", "t1", "run-1", 1, "flaky", true)); // t1 waits out a backoff, t2 is sent
    assertEquals(
        1, queue.cancelFlow("flow-1")); // t1 (waiting) dropped; t2 in flight stays; o1 stays
    assertEquals(
        List.of(new Cancelled("w1", "t2", "run-1", "flow flow-1 is over")), effects.cancels);
    assertEquals(new QueueStats.TypeStats(1, 1, 0, 0, 0, 1, 0, 0, 0, 0), squareStats());
    queue.retryDue("t1");
    assertTrue(succeed("w1", "t2")); // the cancelled flow's result is not passed on
    assertTrue(effects.outcomes.isEmpty());
    assertEquals(
        new Sent("w1", new TaskEnvelope("o1", "flow-2", "run-1", "square", 1, Num.of(1))),
        effects.last());
    assertNotEquals("t1", effects.last().task().taskId());
  }

  @Test
  void workTypesTakeTurnsOnAWorkerServingSeveral() {
    serve("w1", 1, "square", "add");
    enqueueSquares("t1", "t2", "t3");
    queue.enqueue(add("a1"), "flow-1");
    queue.enqueue(add("a2"), "flow-1");
    for (int i = 0; i < 4; i++) {
      assertTrue(succeed("w1", effects.last().task().taskId()));
    }
    List<String> types = effects.sent.stream().map(s -> s.task().taskType()).toList();
    // Without turns, the three squares would all go before the first add.
    assertEquals(2, types.subList(1, 5).stream().filter("add"::equals).count(), types.toString());
  }

  @Test
  void aFreedSlotGoesToTheOldestTaskAcrossTheWorkersTypes() {
    serve("w1", 1, "square", "add");
    enqueueSquares("s1", "s2");
    queue.enqueue(
        new TaskEnvelope(
            "a1", "flow-1", "run-1", "add", 1, new TestTasks.Pair(Num.of(1), Num.of(2))),
        "flow-1");
    enqueueSquares("s3");
    assertEquals(List.of("s1"), effects.sentIds());
    assertTrue(succeed("w1", "s1"));
    assertTrue(succeed("w1", "s2"));
    assertTrue(queue.succeeded("w1", "inc-1", "a1", "run-1", 1, Num.of(3)));
    assertEquals(
        List.of("s1", "s2", "a1", "s3"),
        effects.sentIds(),
        "in the order they were enqueued, whatever their type");
  }
}
