package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.PayloadCodec;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.Reports;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerLoad;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerFault;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * A worker's reports: each outcome as its message, gathered per queue until the flush its first
 * report asked for, and what the worker holds sent after a change only where the queue is sharded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TaskReportsTest {
  private static final Duration QUIET = Duration.ofMillis(100);

  /** Stands in for the worker's private flush message (a probe's messages are serialised too). */
  private static final WorkerCommand FLUSH = new WorkerCommand.Cancel(List.of(), null, "flush");

  private final ActorTestKit testKit = ActorTestKit.create("TaskReportsTest", TestConfig.config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  /** A worker's reports with probes for the worker itself, its queue and a second queue entity. */
  private record Fixture(
      TaskReports reports,
      TestProbe<WorkerCommand> self,
      TestProbe<QueueCommand> queue,
      TestProbe<QueueCommand> other) {}

  private Fixture fixture(String workerId, boolean reportLoad) {
    return fixture(workerId, reportLoad, testKit.createTestProbe(), to -> false);
  }

  /** With {@code remote}: the queues that count as on another node. */
  private Fixture fixture(
      String workerId,
      boolean reportLoad,
      TestProbe<QueueCommand> other,
      Predicate<ActorRef<QueueCommand>> remote) {
    return fixture(workerId, reportLoad, other, remote, 0);
  }

  /** With {@code maxResultBytes}: results bound for another node are checked (0: not). */
  private Fixture fixture(
      String workerId,
      boolean reportLoad,
      TestProbe<QueueCommand> other,
      Predicate<ActorRef<QueueCommand>> remote,
      int maxResultBytes) {
    TestProbe<WorkerCommand> self = testKit.createTestProbe();
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    WorkerSettings settings =
        WorkerSettings.fromConfig(testKit.system().settings().config(), workerId)
            .withReportLoad(reportLoad);
    TaskReports reports =
        new TaskReports(
            settings,
            "inc-1",
            self.getRef(),
            FLUSH,
            queue.getRef(),
            new TaskValues(testKit.system(), maxResultBytes),
            WorkerMeters.get(testKit.system()),
            LoggerFactory.getLogger(getClass()),
            remote);
    return new Fixture(reports, self, queue, other);
  }

  private static TaskEnvelope task(String id) {
    return new TaskEnvelope(id, "f", "r", "square", 2, Num.of(3));
  }

  @Test
  void reportsWaitForTheFlushTheFirstOneAskedForThenGoOnePerQueue() {
    Fixture f = fixture("w1", false);
    f.reports().computed(task("t1"), Num.of(9), null, null, f.queue().getRef());
    f.reports()
        .computed(task("t2"), null, new IllegalStateException("flaky"), null, f.queue().getRef());
    f.reports().declined(task("t3"), "not served", f.other().getRef());
    f.self().expectMessage(FLUSH);
    f.self().expectNoMessage(QUIET); // one flush asked for the whole batch
    f.queue().expectNoMessage(QUIET);

    f.reports().flushDue(() -> List.of("never asked: load is not reported"));
    Reports both = f.queue().expectMessageClass(Reports.class);
    assertEquals(
        new TaskSucceeded("w1", "inc-1", "t1", "r", "square", 2, Num.of(9)),
        both.succeeded().get(0));
    TaskFailed failed = both.failed().get(0);
    assertTrue(failed.retryable());
    assertEquals("java.lang.IllegalStateException: flaky", failed.reason());
    TaskDeclined declined = f.other().expectMessageClass(TaskDeclined.class);
    assertEquals("not served", declined.reason());
    f.queue().expectNoMessage(QUIET);

    f.reports().declined(task("t4"), "not served", f.other().getRef());
    f.self().expectMessage(FLUSH); // the next batch asks again
  }

  @Test
  void aBatchForAQueueOnAnotherNodeGoesOutAtTheShippedLimitAndALocalQueuesWaitsForTheFlush() {
    TestProbe<QueueCommand> remote = testKit.createTestProbe();
    Fixture f = fixture("w8", false, remote, to -> to.equals(remote.getRef()));
    int limit = 16; // prover.worker.max-reports-per-message in reference.conf
    for (int i = 0; i < 2 * limit + 3; i++) {
      f.reports().computed(task("r" + i), Num.of(i), null, null, remote.getRef());
      f.reports().computed(task("l" + i), Num.of(i), null, null, f.queue().getRef());
    }
    // two full batches left for the node that is away, before any flush, in the order computed
    List<String> first = taskIds(remote.expectMessageClass(Reports.class));
    List<String> second = taskIds(remote.expectMessageClass(Reports.class));
    assertEquals(limit, first.size());
    assertEquals("r0", first.get(0));
    assertEquals(limit, second.size());
    assertEquals("r" + limit, second.get(0));
    remote.expectNoMessage(QUIET);
    f.queue().expectNoMessage(QUIET); // the local queue's reports wait for the flush
    f.self().expectMessage(FLUSH);
    f.self().expectNoMessage(QUIET); // one flush asked for, not one per batch sent

    f.reports().flushDue(List::of);
    assertEquals(2 * limit + 3, taskIds(f.queue().expectMessageClass(Reports.class)).size());
    assertEquals(List.of("r32", "r33", "r34"), taskIds(remote.expectMessageClass(Reports.class)));
  }

  @Test
  void aWorkerOfOneRemoteQueueSendsFullBatchesAtOnceAndTheRestAtTheOneFlush() {
    TestProbe<QueueCommand> remote = testKit.createTestProbe();
    Fixture f = fixture("w9", true, remote, to -> to.equals(remote.getRef()));
    for (int i = 0; i < 33; i++) {
      f.reports().computed(task("r" + i), Num.of(i), null, null, remote.getRef());
    }
    f.reports().loadChanged();
    assertEquals(16, taskIds(remote.expectMessageClass(Reports.class)).size());
    assertEquals(16, taskIds(remote.expectMessageClass(Reports.class)).size());
    remote.expectNoMessage(QUIET);
    f.self().expectMessage(FLUSH);
    f.self().expectNoMessage(QUIET); // each early send emptied the batches: still one flush

    f.reports().flushDue(List::of);
    assertEquals("r32", remote.expectMessageClass(TaskSucceeded.class).taskId());
    // the load report goes to the worker's queue front after the last result left
    assertTrue(f.queue().expectMessageClass(WorkerLoad.class).heldTaskIds().isEmpty());
  }

  private static List<String> taskIds(Reports reports) {
    return reports.succeeded().stream().map(TaskSucceeded::taskId).toList();
  }

  @Test
  void aCancelledComputesFailureIsRetryableAndAPermanentOneIsNot() {
    Fixture f = fixture("w2", false);
    f.reports()
        .computed(
            task("t1"), null, new InterruptedException(), "lease overrun", f.queue().getRef());
    f.reports()
        .computed(
            task("t2"),
            null,
            new PermanentTaskFailure("proof does not verify"),
            null,
            f.queue().getRef());
    f.reports().flush();
    Reports reports = f.queue().expectMessageClass(Reports.class);
    assertEquals(
        new TaskFailed("w2", "inc-1", "t1", "r", "square", 2, "cancelled: lease overrun", true),
        reports.failed().get(0));
    assertEquals(
        new TaskFailed("w2", "inc-1", "t2", "r", "square", 2, "proof does not verify", false),
        reports.failed().get(1));
  }

  @Test
  void aResultThatCannotTravelFailsItsTaskForGoodAndIsCounted() {
    Fixture f = fixture("w3", false);
    double before = refused("not_serializable");
    f.reports().computed(task("t1"), new Object(), null, null, f.queue().getRef());
    f.reports().flush();
    TaskFailed failed = f.queue().expectMessageClass(TaskFailed.class);
    assertFalse(failed.retryable());
    assertTrue(failed.reason().contains("cannot travel as a task result"), failed.reason());
    assertEquals(before + 1, refused("not_serializable"));
    // every reason is exported from the start, so that Prometheus' increase() sees the first one
    assertEquals(0.0, refused("too_large"));
    assertEquals(0.0, refused("unreadable"));
  }

  /** The node's {@code prover_results_refused_total} of this reason, from its scrape. */
  private double refused(String reason) {
    String series = "prover_results_refused_total{reason=\"" + reason + "\"} ";
    return ProverMetrics.get(testKit.system())
        .scrape()
        .lines()
        .filter(line -> line.startsWith(series))
        .mapToDouble(line -> Double.parseDouble(line.substring(series.length())))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no series " + series));
  }

  @Test
  void aBadInputFailsItsTaskForGood() {
    Fixture f = fixture("w4", false);
    assertEquals(null, f.reports().input(task("t1"), String.class, f.queue().getRef()));
    f.reports().flush();
    TaskFailed failed = f.queue().expectMessageClass(TaskFailed.class);
    assertFalse(failed.retryable());
    assertTrue(failed.reason().contains("needs a java.lang.String input"), failed.reason());
  }

  @Test
  void whereTheQueueIsShardedALoadChangeGoesOutWithTheNextFlush() {
    Fixture f = fixture("w5", true);
    f.reports().loadChanged();
    f.reports().loadChanged();
    f.self().expectMessage(FLUSH);
    f.self().expectNoMessage(QUIET);
    f.reports().flushDue(() -> List.of("t1", "t2"));
    WorkerLoad load = f.queue().expectMessageClass(WorkerLoad.class);
    assertEquals(List.of("t1", "t2"), load.heldTaskIds());
    assertFalse(load.periodic());
    f.reports().flushDue(() -> List.of("t1", "t2"));
    f.queue().expectNoMessage(QUIET); // nothing changed since

    Fixture local = fixture("w6", false);
    local.reports().loadChanged();
    local.self().expectNoMessage(QUIET);
  }

  @Test
  void loadReportsNameTheTasksOfAStoppedEntityAsOrphanedUntilAnotherQueueHandsThemOut() {
    Fixture f = fixture("w1", true);
    TestProbe<QueueCommand> entity = f.other(); // handed out a, b and c, then stopped
    TestProbe<QueueCommand> anew = testKit.createTestProbe(); // the entity's new life
    Map<String, ActorRef<QueueCommand>> held = new LinkedHashMap<>();
    List.of("a", "b", "c").forEach(id -> held.put(id, entity.getRef()));
    f.reports()
        .heldFrom(
            from ->
                held.entrySet().stream()
                    .filter(e -> from.test(e.getValue()))
                    .map(e -> task(e.getKey()))
                    .collect(Collectors.toCollection(ArrayList::new)));
    f.reports().periodic(List.copyOf(held.keySet()));
    assertEquals(List.of(), f.queue().expectMessageClass(WorkerLoad.class).orphanedTaskIds());

    f.reports().entityStopped(entity.getRef());
    f.reports().redirect("b", anew.getRef()); // handed out again: b has a queue that holds it
    f.reports().periodic(List.copyOf(held.keySet()));
    assertEquals(
        List.of("a", "c"), f.queue().expectMessageClass(WorkerLoad.class).orphanedTaskIds());

    // a's result goes through the front and is kept: a stays orphaned while no longer held
    held.remove("a");
    f.reports().computed(task("a"), Num.of(9), null, null, entity.getRef());
    f.reports().periodic(List.copyOf(held.keySet()));
    assertEquals("a", f.queue().expectMessageClass(TaskSucceeded.class).taskId());
    WorkerLoad load = f.queue().expectMessageClass(WorkerLoad.class);
    assertEquals(List.of("b", "c"), load.heldTaskIds());
    assertEquals(List.of("c", "a"), load.orphanedTaskIds());
    assertEquals(List.of("r", "r"), load.orphanedRunIds(), "the run of each, held or kept");

    // the new entity hands a out: answered with the kept result, which stays kept and named, for
    // the same task sent once more (two queue nodes removed at once: each re-send sends it)
    assertTrue(f.reports().answerAgain(task("a"), anew.getRef()));
    held.clear();
    f.reports().periodic(List.of());
    assertEquals("a", anew.expectMessageClass(TaskSucceeded.class).taskId());
    assertEquals(List.of("a"), f.queue().expectMessageClass(WorkerLoad.class).orphanedTaskIds());
    assertTrue(f.reports().answerAgain(task("a"), anew.getRef()), "answered again, not computed");
    f.reports().flush();
    TaskSucceeded again = anew.expectMessageClass(TaskSucceeded.class);
    assertEquals("a", again.taskId());
    assertEquals(Num.of(9), again.result());
  }

  @Test
  void aResultSentToARemoteEntityShortlyBeforeItStoppedIsKeptToAnswerItsTaskAgain() {
    // the entity stopped (a hand-off, or its node crashed) before it took b's result: the flow
    // sends b again, and the new entity hands it back here rather than to another worker
    TestProbe<QueueCommand> entity = testKit.createTestProbe();
    TestProbe<QueueCommand> other = testKit.createTestProbe(); // another remote entity, alive
    Fixture f =
        fixture("w9", true, entity, to -> to.equals(entity.getRef()) || to.equals(other.getRef()));
    TestProbe<QueueCommand> anew = testKit.createTestProbe();
    f.reports().heldFrom(from -> new ArrayList<>());
    f.reports().computed(task("b"), Num.of(9), null, null, entity.getRef());
    f.reports().computed(task("x"), Num.of(4), null, null, other.getRef());
    f.reports().flush();
    assertEquals("b", entity.expectMessageClass(TaskSucceeded.class).taskId());
    assertEquals("x", other.expectMessageClass(TaskSucceeded.class).taskId());
    f.reports().periodic(List.of());
    assertEquals(List.of(), f.queue().expectMessageClass(WorkerLoad.class).orphanedTaskIds());

    f.reports().entityStopped(entity.getRef());
    f.reports().periodic(List.of());
    assertEquals(
        List.of("b"),
        f.queue().expectMessageClass(WorkerLoad.class).orphanedTaskIds(),
        "b's result may be lost with the entity; x's entity is alive");
    assertTrue(f.reports().answerAgain(task("b"), anew.getRef()), "answered with b's result");
    f.reports().flush();
    TaskSucceeded again = anew.expectMessageClass(TaskSucceeded.class);
    assertEquals("b", again.taskId());
    assertEquals(Num.of(9), again.result());
    assertFalse(f.reports().answerAgain(task("x"), anew.getRef()), "x was never at risk");
  }

  @Test
  void aResultBoundForAnotherNodeTravelsAsTheBytesOfItsCheck() {
    // serialised once, by the check: the transport writes those bytes as they are and only the
    // flow decodes them; a queue in this JVM gets the value itself
    TestProbe<QueueCommand> remote = testKit.createTestProbe();
    Fixture f = fixture("w10", false, remote, to -> to.equals(remote.getRef()), 1 << 20);
    f.reports().computed(task("r"), Num.of(9), null, null, remote.getRef());
    f.reports().computed(task("l"), Num.of(4), null, null, f.queue().getRef());
    f.reports().flush();
    Object travels = remote.expectMessageClass(TaskSucceeded.class).result();
    assertTrue(travels instanceof SerializedPayload, "bytes, not " + travels);
    assertEquals(Num.of(9), PayloadCodec.get(testKit.system()).decode((SerializedPayload) travels));
    assertEquals(Num.of(4), f.queue().expectMessageClass(TaskSucceeded.class).result());
  }

  @Test
  void aResultLargerThanTheKeptBytesGoesOutAndIsNotKept() {
    // an operator who raised max-payload-size above what a worker keeps (16 MiB): the result goes
    // out as any other, it is just not kept for its entity's stop
    TestProbe<QueueCommand> remote = testKit.createTestProbe();
    Fixture f = fixture("w11", true, remote, to -> to.equals(remote.getRef()), 64 << 20);
    f.reports().heldFrom(from -> new ArrayList<>());
    Num large = new Num(1, "x".repeat((int) TaskReports.MAX_SENT_BYTES + 1));
    f.reports().computed(task("big"), large, null, null, remote.getRef());
    f.reports().flush();
    assertEquals("big", remote.expectMessageClass(TaskSucceeded.class).taskId());
    f.reports().entityStopped(remote.getRef());
    f.reports().periodic(List.of());
    assertEquals(List.of(), f.queue().expectMessageClass(WorkerLoad.class).orphanedTaskIds());
  }

  @Test
  void thePeriodicReportSendsTheResultsFirstThenTheLoad() {
    Fixture f = fixture("w7", false);
    f.reports().computed(task("t1"), Num.of(9), null, null, f.queue().getRef());
    f.reports().periodic(List.of());
    assertEquals("t1", f.queue().expectMessageClass(TaskSucceeded.class).taskId());
    assertTrue(f.queue().expectMessageClass(WorkerLoad.class).periodic());
  }

  @Test
  void onlyAWorkerFaultOrAnErrorCrashesTheWorker() {
    assertTrue(TaskReports.crashes(new WorkerFault("gone")));
    assertTrue(TaskReports.crashes(new StackOverflowError()));
    assertFalse(TaskReports.crashes(new IllegalStateException()));
    assertFalse(TaskReports.crashes(new PermanentTaskFailure("no")));
    assertFalse(TaskReports.crashes(null));
  }
}
