package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.RecentFailure;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What a queue reports, from its bookkeeping and the announcements it kept: the fleet view
 * (workers, a refused one without served types and not counted as serving, the last failures newest
 * first and bounded) and the meters' snapshot.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueueStatusTest {

  private static final long MS = 1_000_000L;
  private static final TaskCatalog CATALOG = TaskCatalog.of(TestTasks.all());

  private final ActorTestKit testKit = ActorTestKit.create("QueueStatusTest", TestConfig.config());
  private long now;

  /** A fresh bookkeeping per test (the test kit is shared); workers and flows are plain names. */
  private TaskQueueState<String, String> state;

  @BeforeEach
  void newState() {
    now = 0;
    state =
        new TaskQueueState<>(
            CATALOG, QueueSettings.fromConfig(TestConfig.config()), new NoEffects<>(), () -> now);
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private QueueStatus status(String entity) {
    QueueMeters meters =
        new QueueMeters(ProverMetrics.get(testKit.system()), List.of("square"), entity, true);
    return new QueueStatus(state, meters, List.of("square"), ref -> testKit.system().address());
  }

  private WorkerServes announce(String workerId, Set<String> types) {
    ActorRef<WorkerCommand> ref = testKit.createTestProbe(WorkerCommand.class).getRef();
    state.workerServes(workerId, "i1", workerId, types, 2);
    return new WorkerServes(
        ref, workerId, "i1", types, 2, WorkerState.READY, Set.of("square", "add"));
  }

  private static TaskEnvelope square(String id) {
    return new TaskEnvelope(id, "flow-1", "run-1", "square", 1, Num.of(3));
  }

  @Test
  void theFleetViewListsTheKnownWorkersAndCountsOnlyThoseItServesForAType() {
    QueueStatus status = status("fleet-test");
    Map<String, WorkerServes> announcements = new LinkedHashMap<>();
    announcements.put("w1", announce("w1", Set.of("square")));
    announcements.put("old", announce("old", Set.of("square")));
    // announced, but not (or no longer) known to the bookkeeping: not listed
    announcements.put(
        "gone",
        new WorkerServes(
            testKit.createTestProbe(WorkerCommand.class).getRef(), "gone", "i1", Set.of("add"), 1));
    state.enqueue(square("t1"), "flow");
    now = 30 * MS;
    assertTrue(state.succeeded("w1", "i1", "t1", "run-1", 1, Num.of(9)));

    FleetView view =
        status.fleet(announcements, id -> id.equals("old") ? "its task catalog differs" : null);
    assertEquals(
        List.of("old", "w1"),
        view.workers().stream().map(FleetView.WorkerView::workerId).sorted().toList());
    FleetView.WorkerView w1 =
        view.workers().stream().filter(w -> w.workerId().equals("w1")).findFirst().orElseThrow();
    assertEquals(List.of("square"), w1.servedTypes());
    assertEquals(List.of("add", "square"), w1.configuredTypes());
    assertEquals(1, w1.done());
    assertNull(w1.refused());
    assertEquals("QueueStatusTest", w1.node(), "one JVM: the actor system's name");
    FleetView.WorkerView old =
        view.workers().stream().filter(w -> w.workerId().equals("old")).findFirst().orElseThrow();
    assertEquals(List.of(), old.servedTypes());
    assertEquals("its task catalog differs", old.refused());
    FleetView.TypeView squares = view.type("square");
    assertEquals(1, squares.workers(), "the refused worker does not serve");
    assertEquals(1, squares.runs());
    assertEquals(30 * MS, squares.runNanos());
    status.close();
  }

  @Test
  void theLastFailuresComeNewestFirstAndOnlyTheLastFew() {
    QueueStatus status = status("failures-test");
    for (int i = 1; i <= RecentFailure.KEEP + 5; i++) {
      status.remember("retrying", square("t" + i), "w1", "boom " + i);
    }
    status.remember("failed", "square", "t-last", "flow-1", null, "gave up");
    List<RecentFailure> failures = status.fleet(Map.of(), id -> null).recentFailures();
    assertEquals(RecentFailure.KEEP, failures.size());
    assertEquals("t-last", failures.get(0).taskId());
    assertEquals("failed", failures.get(0).kind());
    assertNull(failures.get(0).workerId());
    assertEquals("t" + (RecentFailure.KEEP + 5), failures.get(1).taskId());
    assertEquals("boom " + (RecentFailure.KEEP + 5), failures.get(1).reason());
    status.close();
  }

  @Test
  void aSnapshotGivesTheMetersTheCountersAndTheWorkersByStateUntilTheQueueStops() {
    QueueStatus status = status("meters-test");
    // w2 announces Ready too, but runs another build: the catalog check refuses it, and the queue
    // never seats it
    Map<String, WorkerServes> announcements =
        Map.of(
            "w1",
            announce("w1", Set.of("square")),
            "w2",
            new WorkerServes(
                testKit.createTestProbe(WorkerCommand.class).getRef(),
                "w2",
                "i1",
                Set.of("square"),
                2,
                WorkerState.READY,
                Set.of("square", "add")));
    state.enqueue(square("m1"), "flow");
    state.enqueue(square("m2"), "flow");
    state.enqueue(square("m3"), "flow");
    status.publishMetrics(
        announcements.values(),
        id -> id.equals("w2") ? "its task catalog differs from this queue's" : null);
    String text = ProverMetrics.get(testKit.system()).scrape();
    assertTrue(
        text.contains(
            "prover_queue_pending_tasks{entity=\"meters-test\",task_type=\"square\"} 1.0"),
        text);
    assertTrue(
        text.contains(
            "prover_queue_in_flight_tasks{entity=\"meters-test\",task_type=\"square\"} 2.0"),
        text);
    assertTrue(
        text.contains(
            "prover_queue_workers{entity=\"meters-test\",state=\"ready\",task_type=\"square\"} 1.0"),
        text);
    assertTrue(
        text.contains(
            "prover_queue_workers{entity=\"meters-test\",state=\"refused\",task_type=\"square\"} 1.0"),
        "a refused worker counts as refused, not as the Ready it announced: " + text);

    status.close();
    assertFalse(ProverMetrics.get(testKit.system()).scrape().contains("entity=\"meters-test\""));
  }
}
