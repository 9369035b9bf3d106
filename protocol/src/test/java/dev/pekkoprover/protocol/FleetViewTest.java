package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How the front merges its queue entities' views of the fleet: nothing counted twice, the freshest
 * word wins.
 */
class FleetViewTest {

  private static FleetView.WorkerView worker(
      String id, WorkerState state, int inFlight, long done, int restarts, long heardAgo) {
    return new FleetView.WorkerView(
        id,
        "n1",
        "i1",
        state,
        List.of("a"),
        List.of("a", "b"),
        2,
        inFlight,
        done,
        0,
        restarts,
        heardAgo,
        true,
        null);
  }

  private static FleetView.TypeView type(
      long pending, long completed, int workers, long runs, long runNanos) {
    return new FleetView.TypeView(
        new QueueStats.TypeStats(pending, 0, completed, 0, 0, 0, 0, 0, 0, 0),
        workers,
        runs,
        runNanos,
        0,
        2 * runNanos);
  }

  @Test
  void entitiesViewsAddUpWithoutCountingAWorkerTwice() {
    // entity "a" and entity "b" both know w1; each counts only the tasks it handed out itself
    FleetView a =
        new FleetView(
            List.of(worker("w1", WorkerState.READY, 1, 10, 1, 300)),
            Map.of("a", type(5, 10, 1, 10, 10_000_000_000L)),
            List.of(new RecentFailure(100, "failed", "a", "t1", "f", "w1", "x")),
            1,
            0,
            1,
            1);
    FleetView b =
        new FleetView(
            List.of(
                worker("w1", WorkerState.UNPREPARED, 2, 4, 2, 50),
                worker("w2", WorkerState.READY, 0, 0, 0, 10)),
            Map.of("b", type(1, 4, 2, 4, 2_000_000_000L)),
            List.of(new RecentFailure(200, "rejected", "b", "t2", "f", null, "y")),
            2,
            3,
            1,
            1);
    FleetView merged = FleetView.merge(List.of(a, b), 3);

    assertEquals(
        List.of("w1", "w2"),
        merged.workers().stream().map(FleetView.WorkerView::workerId).toList());
    FleetView.WorkerView w1 = merged.workers().get(0);
    assertEquals(3, w1.inFlight());
    assertEquals(14, w1.done());
    assertEquals(2, w1.restarts());
    assertEquals(50, w1.lastHeardMillisAgo());
    assertEquals(WorkerState.UNPREPARED, w1.state()); // b heard from it last
    assertEquals(1.0, merged.type("a").meanRunSeconds(), 1e-9);
    assertEquals(0.5, merged.type("b").meanRunSeconds(), 1e-9);
    assertEquals(-1, merged.type("c").meanRunSeconds());
    assertEquals(
        List.of("t2", "t1"), merged.recentFailures().stream().map(RecentFailure::taskId).toList());
    assertEquals(3, merged.unknownResults());
    assertEquals(2, merged.answered());
    assertEquals(3, merged.asked());
  }

  @Test
  void partitionsOfOneTypeAddTheirCountsAndShareTheirWorkers() {
    FleetView p0 =
        new FleetView(
            List.of(), Map.of("a", type(5, 10, 3, 10, 1_000_000_000L)), List.of(), 0, 0, 1, 1);
    FleetView p1 =
        new FleetView(
            List.of(), Map.of("a", type(7, 30, 3, 30, 3_000_000_000L)), List.of(), 0, 0, 1, 1);
    FleetView.TypeView merged = FleetView.merge(List.of(p0, p1), 2).type("a");
    assertEquals(12, merged.counts().pending());
    assertEquals(40, merged.counts().completed());
    assertEquals(3, merged.workers());
    assertEquals(0.1, merged.meanRunSeconds(), 1e-9);
    assertEquals(8_000_000_000L, merged.waitNanos(), "the partitions' waits added up");
  }
}
