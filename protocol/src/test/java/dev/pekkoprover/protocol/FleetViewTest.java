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

  private static FleetView.DepartedWorker departed(
      String id, String incarnation, long done, String how, long leftAgo) {
    return departed(id, incarnation, WorkerState.READY, done, how, leftAgo);
  }

  private static FleetView.DepartedWorker departed(
      String id, String incarnation, WorkerState state, long done, String how, long leftAgo) {
    return new FleetView.DepartedWorker(
        id, "n1", incarnation, state, List.of("a", "b"), done, 1, how, leftAgo);
  }

  private static FleetView withDeparted(
      List<FleetView.WorkerView> workers, List<FleetView.DepartedWorker> departed) {
    return new FleetView(workers, Map.of(), List.of(), 0, 0, 1, 1, departed);
  }

  @Test
  void departedWorkersAreOneRowPerIncarnationNewestFirstAndNotWhileBack() {
    // entities a and b both saw w1 go (each counts its own results), only b saw w2 go; w3 went and
    // is back with a new incarnation: its live row says so (restarts), no departed row
    FleetView a =
        withDeparted(
            List.of(),
            List.of(
                departed("w1", "i1", 3, FleetView.DepartedWorker.UNREACHABLE, 4_000),
                departed("w3", "i1", 1, FleetView.DepartedWorker.UNREACHABLE, 9_000)));
    FleetView b =
        withDeparted(
            List.of(worker("w3", WorkerState.READY, 0, 0, 1, 10)),
            List.of(
                departed("w2", "i1", 5, FleetView.DepartedWorker.DRAINED, 1_000),
                departed("w1", "i1", 4, FleetView.DepartedWorker.UNREACHABLE, 3_900)));
    List<FleetView.DepartedWorker> gone = FleetView.merge(List.of(a, b), 2).departedWorkers();

    assertEquals(
        List.of("w2", "w1"), gone.stream().map(FleetView.DepartedWorker::workerId).toList());
    assertEquals(7, gone.get(1).done(), "w1's results at both entities added");
    assertEquals(2, gone.get(1).failed());
    assertEquals(3_900, gone.get(1).leftMillisAgo());
    assertEquals(FleetView.DepartedWorker.DRAINED, gone.get(0).how());
  }

  @Test
  void aWorkerThatLeftCameBackAndLeftAgainIsListedOnceAsItLeftLast() {
    // killed (incarnation i1, unreachable), restarted under its id (i2), then drained; the
    // departures come from two entities
    FleetView a =
        withDeparted(
            List.of(),
            List.of(
                departed("w1", "i1", 3, FleetView.DepartedWorker.UNREACHABLE, 200_000),
                departed("w1", "i2", 6, FleetView.DepartedWorker.DRAINED, 2_000)));
    FleetView b =
        withDeparted(
            List.of(),
            List.of(departed("w1", "i1", 1, FleetView.DepartedWorker.UNREACHABLE, 200_100)));
    List<FleetView.DepartedWorker> gone = FleetView.merge(List.of(a, b), 2).departedWorkers();

    assertEquals(1, gone.size(), gone.toString());
    assertEquals("i2", gone.get(0).incarnation());
    assertEquals(FleetView.DepartedWorker.DRAINED, gone.get(0).how());
    assertEquals(2_000, gone.get(0).leftMillisAgo());
  }

  @Test
  void aViewWithoutDepartedWorkersHasAnEmptyList() {
    FleetView old = new FleetView(List.of(), Map.of(), List.of(), 0, 0, 1, 1, null);
    assertEquals(List.of(), old.departedWorkers());
    assertEquals(List.of(), FleetView.merge(List.of(old), 1).departedWorkers());
  }

  @Test
  void entitiesThatHeardLessOfADepartedWorkerDoNotHideItsLastStateOrHowItWent() {
    // the registration's entity last heard the worker Registered and heard nothing of its drain;
    // the entity of a type it proved heard it Draining: it drained, from Draining
    FleetView registration =
        withDeparted(
            List.of(),
            List.of(
                departed(
                    "w1", "i1", WorkerState.REGISTERED, 1, FleetView.DepartedWorker.STOPPED, 100)));
    FleetView proving =
        withDeparted(
            List.of(),
            List.of(
                departed(
                    "w1", "i1", WorkerState.DRAINING, 9, FleetView.DepartedWorker.DRAINED, 300)));
    for (List<FleetView> order :
        List.of(List.of(registration, proving), List.of(proving, registration))) {
      FleetView.DepartedWorker w1 = FleetView.merge(order, 2).departedWorkers().get(0);
      assertEquals(WorkerState.DRAINING, w1.lastState());
      assertEquals(FleetView.DepartedWorker.DRAINED, w1.how());
      assertEquals(10, w1.done());
      assertEquals(100, w1.leftMillisAgo());
    }
  }

  @Test
  void aCarriedOverViewIsAgedSoThatAFresherWordWinsAndItsQueuedTasksStayCounted() {
    // entity "a" answered 4 s ago and not since (its node unreachable): it last heard w1 100 ms
    // before that, Ready, with 5 tasks pending; entity "b" answers now and heard w1 1 s ago, as
    // unreachable
    FleetView a =
        new FleetView(
            List.of(worker("w1", WorkerState.READY, 1, 10, 0, 100)),
            Map.of(
                "a",
                new FleetView.TypeView(
                    new QueueStats.TypeStats(5, 1, 10, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, 700, 0)),
            List.of(),
            0,
            0,
            1,
            1);
    FleetView.WorkerView unreachable =
        new FleetView.WorkerView(
            "w1",
            "n1",
            "i1",
            WorkerState.READY,
            List.of("a"),
            List.of("a", "b"),
            2,
            0,
            3,
            0,
            0,
            1000,
            false,
            null);
    FleetView b = new FleetView(List.of(unreachable), Map.of(), List.of(), 0, 0, 1, 1);
    KeyedGather.Outcome<FleetView> outcome =
        new KeyedGather.Outcome<>(
            Map.of("b", b), Map.of("a", new KeyedGather.Carried<>(a, 4000)), 2);

    FleetView merged = FleetView.merge(outcome, "queue node n2 is unreachable");

    assertEquals(1, merged.answered(), "only b answered");
    assertEquals(2, merged.asked());
    assertEquals(1, merged.carriedOver().size());
    assertEquals(4000, merged.carriedOverMillis());
    assertEquals(Map.of("a", 4000L), merged.carriedOver());
    assertEquals(4000L, merged.carriedOverMillis("a"), "type a's queue is as it was 4 s ago");
    assertEquals(null, merged.carriedOverMillis("b"));
    assertEquals("queue node n2 is unreachable", merged.partialBecause());
    FleetView.WorkerView w1 = merged.workers().get(0);
    assertEquals(false, w1.reachable(), "b's word (1 s ago) beats a's (4.1 s ago)");
    assertEquals(1000, w1.lastHeardMillisAgo());
    assertEquals(13, w1.done(), "each entity's own count, added");
    assertEquals(5, merged.type("a").counts().pending(), "a's queued tasks stay in the view");
    assertEquals(4700, merged.type("a").oldestPendingMillis(), "its oldest waited 4 s more");

    FleetView complete =
        FleetView.merge(new KeyedGather.Outcome<>(Map.of("a", a, "b", b), Map.of(), 2), "not used");
    assertEquals(0, complete.carriedOver().size());
    assertEquals(null, complete.partialBecause(), "no reason when every entity answered");
    assertEquals(100, a.aged(0).workers().get(0).lastHeardMillisAgo());
  }

  @Test
  void aWorkerAFreshViewListsAsDepartedIsNotBroughtBackByACarriedOne() {
    // entity "a" last answered while w1 was Ready; w1's node was killed since, and entity "b",
    // answering now, lists it as departed (unreachable). Without the filter the merge read the
    // carried row as w1 back under its id: Ready, its departure hidden
    FleetView a =
        new FleetView(
            List.of(worker("w1", WorkerState.READY, 1, 10, 0, 100)),
            Map.of(),
            List.of(),
            0,
            0,
            1,
            1);
    FleetView b =
        new FleetView(
            List.of(),
            Map.of(),
            List.of(),
            0,
            0,
            1,
            1,
            List.of(
                new FleetView.DepartedWorker(
                    "w1",
                    "n1",
                    "i1",
                    WorkerState.READY,
                    List.of("a", "b"),
                    3,
                    0,
                    FleetView.DepartedWorker.UNREACHABLE,
                    2000)));
    FleetView merged =
        FleetView.merge(
            new KeyedGather.Outcome<>(
                Map.of("b", b), Map.of("a", new KeyedGather.Carried<>(a, 5000)), 2),
            null);
    assertEquals(List.of(), merged.workers(), "w1 is gone, not Ready");
    assertEquals(
        List.of("w1"),
        merged.departedWorkers().stream().map(FleetView.DepartedWorker::workerId).toList());
  }
}
