package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The autoscaling signal from a view of the fleet: work in progress counts, classes, shares, means
 * over a window.
 */
class AutoscaleSignalTest {

  private static final long S = 1_000_000_000L;

  private static AutoscaleSettings settings(Map<String, Set<String>> classes) {
    return new AutoscaleSettings(
        true,
        Duration.ofSeconds(10),
        Duration.ofSeconds(60),
        Duration.ofSeconds(10),
        Duration.ofMinutes(5),
        classes);
  }

  private static FleetView.WorkerView worker(String id, int capacity, String... types) {
    List<String> configured = new ArrayList<>(List.of(types));
    configured.add(WorkerRegistrationTask.NAME); // never part of a class
    return new FleetView.WorkerView(
        id,
        "n",
        "i",
        WorkerState.READY,
        List.of(types),
        configured,
        capacity,
        0,
        0,
        0,
        0,
        0,
        true,
        null);
  }

  /**
   * A type with this many pending and in flight, and {@code runs} runs of {@code meanSeconds} each.
   */
  private static FleetView.TypeView type(
      long pending, long inFlight, long runs, double meanSeconds) {
    return new FleetView.TypeView(
        new QueueStats.TypeStats(pending, inFlight, runs, 0, 0, 0, 0, 0, 0, 0),
        1,
        runs,
        (long) (runs * meanSeconds * S),
        0);
  }

  private static FleetView view(
      List<FleetView.WorkerView> workers, Map<String, FleetView.TypeView> types) {
    return new FleetView(workers, types, List.of(), 0, 0, 1, 1);
  }

  private static Map<String, AutoscaleSignal.Demand> byClass(List<AutoscaleSignal.Demand> demands) {
    Map<String, AutoscaleSignal.Demand> map = new LinkedHashMap<>();
    demands.forEach(d -> map.put(d.workerClass(), d));
    return map;
  }

  @Test
  void tasksInFlightCountAsMuchAsPendingOnes() {
    AutoscaleSignal signal = new AutoscaleSignal(settings(Map.of()));
    // every worker busy on a 30 s proof, nothing pending: 4 x 30 = 120 worker-seconds, 2 workers
    // for a 60 s target
    var demand =
        byClass(
                signal.update(
                    view(
                        List.of(worker("w1", 2, "a", "b"), worker("w2", 2, "a", "b")),
                        Map.of(
                            "a",
                            type(0, 4, 10, 30.0),
                            "b",
                            type(0, 0, 10, 1.0),
                            WorkerRegistrationTask.NAME,
                            type(1, 0, 2, 100.0))),
                    0))
            .get("a+b");
    assertEquals(List.of("a", "b"), demand.types());
    assertEquals(2, demand.workers());
    assertEquals(120.0, demand.outstandingWorkerSeconds(), 1e-6);
    // 120 s of compute within 60 s on workers of 2 slots: one worker, not zero (in flight counts)
    assertEquals(1, demand.workersNeeded());
  }

  @Test
  void aWorkerTheQueueRefusesIsNoCapacity() {
    AutoscaleSignal signal = new AutoscaleSignal(settings(Map.of()));
    FleetView.WorkerView good = worker("w1", 2, "a");
    FleetView.WorkerView old = worker("w2", 2, "a");
    FleetView.WorkerView refused =
        new FleetView.WorkerView(
            old.workerId(),
            old.node(),
            old.incarnation(),
            WorkerState.UNPREPARED,
            List.of(),
            old.configuredTypes(),
            old.capacity(),
            0,
            0,
            0,
            0,
            0,
            true,
            "its task catalog differs from this queue's: a version 2 (queue has 1)");
    var demand =
        byClass(signal.update(view(List.of(good, refused), Map.of("a", type(0, 2, 10, 30.0))), 0))
            .get("a");
    assertEquals(1, demand.workers(), "only the worker that gets work counts");
  }

  @Test
  void eachClassSumsItsTypesAndSharesATypeWithAnotherByCapacity() {
    AutoscaleSignal signal = new AutoscaleSignal(settings(Map.of("leaves", Set.of("leaf"))));
    // "leaf" is served by the class "leaves" (capacity 1) and by "leaf+merge" (capacity 3)
    var demands =
        byClass(
            signal.update(
                view(
                    List.of(worker("w1", 1, "leaf"), worker("w2", 3, "leaf", "merge")),
                    Map.of("leaf", type(100, 0, 50, 2.0), "merge", type(30, 0, 10, 4.0))),
                0));
    assertEquals(50.0, demands.get("leaves").outstandingWorkerSeconds(), 1e-6);
    assertEquals(1, demands.get("leaves").workersNeeded());
    assertEquals(150.0 + 120.0, demands.get("leaf+merge").outstandingWorkerSeconds(), 1e-6);
    // 270 s of compute over 60 s, on workers that run 3 tasks at once: 1.5 workers
    assertEquals(2, demands.get("leaf+merge").workersNeeded());
  }

  @Test
  void aClassWhoseWorkersAreAllGoneStillAsksForWorkers() {
    AutoscaleSignal signal = new AutoscaleSignal(settings(Map.of()));
    signal.update(view(List.of(worker("w1", 1, "a")), Map.of("a", type(0, 1, 10, 6.0))), 0);
    // the only worker is gone (scaled to zero, or killed): 600 tasks wait, 6 s each
    var demand =
        byClass(signal.update(view(List.of(), Map.of("a", type(600, 0, 10, 6.0))), 10 * S))
            .get("a");
    assertEquals(0, demand.workers());
    assertEquals(3600.0, demand.outstandingWorkerSeconds(), 1e-6);
    assertEquals(60, demand.workersNeeded());
  }

  /**
   * The status computes a fresh signal at each request; sharing the node's memory of classes, it
   * names the class the exported signal saw before its workers died, as the metric does, instead of
   * a class of its own per type.
   */
  @Test
  void aSignalSharingTheNodesMemoryNamesTheClassesAnotherOneSaw() {
    AutoscaleClasses node = new AutoscaleClasses();
    new AutoscaleSignal(settings(Map.of()), node)
        .update(view(List.of(worker("w1", 2, "a", "b")), Map.of("a", type(0, 1, 10, 6.0))), 0);
    Map<String, FleetView.TypeView> left = Map.of("a", type(10, 0, 10, 6.0), "b", type(5, 0, 0, 0));
    var shared =
        byClass(new AutoscaleSignal(settings(Map.of()), node).update(view(List.of(), left), 0));
    assertEquals(Set.of("a+b"), shared.keySet());
    assertEquals(110.0, shared.get("a+b").outstandingWorkerSeconds(), 1e-6); // 60 + 5 x 10
    var alone = byClass(new AutoscaleSignal(settings(Map.of())).update(view(List.of(), left), 0));
    assertEquals(Set.of("a", "b"), alone.keySet(), "without the memory: a class per type");
  }

  @Test
  void aTypeNoWorkerEverServedIsAClassOfItsOwnAtTheAssumedRunTime() {
    AutoscaleSignal signal = new AutoscaleSignal(settings(Map.of()));
    var demand =
        byClass(signal.update(view(List.of(), Map.of("new", type(12, 0, 0, 0))), 0)).get("new");
    assertEquals(120.0, demand.outstandingWorkerSeconds(), 1e-6); // 12 x the assumed 10 s
    assertEquals(2, demand.workersNeeded());
  }

  /**
   * Worker nodes that start after the sequencer's: the start-up's compile tasks wait before any
   * worker announced itself, so "compile" is a class of its own; then workers announce the class
   * that serves it and run them. The stand-in stays named (the exported gauge keeps its series) but
   * follows the queue to 0, and the status, computing a fresh signal from the node's memory, names
   * the same classes with the same figures. Before, the stand-in was left out of every later
   * answer: the gauge kept its 50 s and 1 worker needed for the rest of the run (a false alert
   * after 30 min) and the status did not list it.
   */
  @Test
  void aClassOfItsOwnNamedBeforeAnyWorkerFollowsTheQueueOnceAClassServesItsType() {
    AutoscaleClasses node = new AutoscaleClasses();
    AutoscaleSignal exported = new AutoscaleSignal(settings(Map.of()), node);
    var before = byClass(exported.update(view(List.of(), Map.of("c", type(5, 0, 0, 0))), 0));
    assertEquals(50.0, before.get("c").outstandingWorkerSeconds(), 1e-6); // 5 x the assumed 10 s
    assertEquals(1, before.get("c").workersNeeded());

    // the workers announce "c+p" and compile: nothing of "c" pending or in flight, "p" waits
    FleetView after =
        view(
            List.of(worker("w1", 1, "c", "p"), worker("w2", 1, "c", "p")),
            Map.of("c", type(0, 0, 5, 1.0), "p", type(3, 0, 0, 0)));
    var exportedAfter = byClass(exported.update(after, 10 * S));
    assertEquals(Set.of("c", "c+p"), exportedAfter.keySet(), "the stand-in stays named");
    assertEquals(
        new AutoscaleSignal.Demand("c", List.of("c"), 0, 0.0, 0),
        exportedAfter.get("c"),
        "nothing of its type pending or in flight");
    assertEquals(30.0, exportedAfter.get("c+p").outstandingWorkerSeconds(), 1e-6);

    var status = byClass(new AutoscaleSignal(settings(Map.of()), node).update(after, 10 * S));
    assertEquals(exportedAfter, status, "the status names the same classes, alike");

    // its type's work goes to the class that serves it now, also once that class's workers are
    // gone: not half of it to a class no worker ever had
    var gone = byClass(exported.update(view(List.of(), Map.of("c", type(2, 0, 5, 1.0))), 20 * S));
    assertEquals(0.0, gone.get("c").outstandingWorkerSeconds(), 1e-6);
    assertEquals(2.0, gone.get("c+p").outstandingWorkerSeconds(), 1e-6);
  }

  @Test
  void theMeanFollowsTheRunsOfTheLastWindow() {
    AutoscaleSignal signal = new AutoscaleSignal(settings(Map.of()));
    List<FleetView.WorkerView> one = List.of(worker("w1", 1, "a"));
    signal.update(view(one, Map.of("a", type(0, 0, 100, 1.0))), 0); // 100 runs of 1 s
    // 10 more runs of 10 s each within the window: the mean of the window is 10 s, not the 1.8 s of
    // all runs
    FleetView.TypeView later =
        new FleetView.TypeView(
            new QueueStats.TypeStats(6, 0, 110, 0, 0, 0, 0, 0, 0, 0), 1, 110, 200 * S, 0);
    assertEquals(
        60.0,
        byClass(signal.update(view(one, Map.of("a", later)), 60 * S))
            .get("a")
            .outstandingWorkerSeconds(),
        1e-6);
    // a window later the only runs in it are none: all runs so far give the mean
    assertEquals(
        6 * 200.0 / 110,
        byClass(signal.update(view(one, Map.of("a", later)), 400 * S))
            .get("a")
            .outstandingWorkerSeconds(),
        1e-6);
    // the queue's counters went down (its entity started again elsewhere): a fresh window
    FleetView.TypeView restarted =
        new FleetView.TypeView(
            new QueueStats.TypeStats(6, 0, 2, 0, 0, 0, 0, 0, 0, 0), 1, 2, 4 * S, 0);
    assertEquals(
        12.0,
        byClass(signal.update(view(one, Map.of("a", restarted)), 410 * S))
            .get("a")
            .outstandingWorkerSeconds(),
        1e-6);
  }

  @Test
  void aWorkerWithSeveralSlotsClearsAsManyTasksAtOnceAlsoOnceItsClassHasNoWorker() {
    AutoscaleClasses memory = new AutoscaleClasses();
    AutoscaleSignal signal = new AutoscaleSignal(settings(Map.of()), memory);
    // 2 workers of 4 slots; 480 tasks of 6 s wait: 2,880 s of compute, 48 slot-minutes, 12 workers
    var busy =
        byClass(
                signal.update(
                    view(
                        List.of(worker("w1", 4, "p"), worker("w2", 4, "p")),
                        Map.of("p", type(480, 0, 10, 6.0))),
                    0))
            .get("p");
    assertEquals(2880.0, busy.outstandingWorkerSeconds(), 1e-6);
    assertEquals(12, busy.workersNeeded());
    // scaled to zero: the class's workers had 4 slots each, so it still asks for 12, not 48
    var gone =
        byClass(signal.update(view(List.of(), Map.of("p", type(480, 0, 10, 6.0))), 10 * S))
            .get("p");
    assertEquals(0, gone.workers());
    assertEquals(12, gone.workersNeeded());
    // and so says a signal that shares the node's memory but never saw a worker (/status computes
    // one per request; a sequencer started elsewhere has a new reporter)
    var fresh =
        byClass(
                new AutoscaleSignal(settings(Map.of()), memory)
                    .update(view(List.of(), Map.of("p", type(480, 0, 10, 6.0))), 20 * S))
            .get("p");
    assertEquals(12, fresh.workersNeeded());
  }

  /**
   * A queue node lost: its entity of "a" starts again elsewhere with no run counted, and the tasks
   * re-sent to it pending. The signal keeps the type's last window's mean (2 s), in the exported
   * signal and in a fresh one sharing the node's memory (the status's), instead of the assumed 10 s
   * for each task: a trial's signal asked for 81 workers of a class that needed 2. A fresh signal's
   * mean of all runs (1.17 s) does not overwrite it.
   */
  @Test
  void aTypeWhoseEntityStartedAgainKeepsItsLastWindowsMean() {
    AutoscaleClasses node = new AutoscaleClasses();
    AutoscaleSignal exported = new AutoscaleSignal(settings(Map.of()), node);
    List<FleetView.WorkerView> two = List.of(worker("w1", 1, "a"), worker("w2", 1, "a"));
    exported.update(view(two, Map.of("a", type(100, 2, 50, 1.0))), 0); // 50 runs of 1 s
    // 10 more runs of 2 s each in the window: 70 s over 60 runs
    FleetView slower = view(two, Map.of("a", type(100, 2, 60, 70.0 / 60)));
    assertEquals(
        204.0, byClass(exported.update(slower, 5 * S)).get("a").outstandingWorkerSeconds(), 1e-6);
    var status = byClass(new AutoscaleSignal(settings(Map.of()), node).update(slower, 5 * S));
    assertEquals(
        102 * 70.0 / 60, status.get("a").outstandingWorkerSeconds(), 1e-6, "all runs' mean");

    FleetView restarted = view(two, Map.of("a", type(100, 0, 0, 0)));
    var after = byClass(exported.update(restarted, 10 * S));
    assertEquals(200.0, after.get("a").outstandingWorkerSeconds(), 1e-6, "100 x 2 s, not 10 s");
    assertEquals(4, after.get("a").workersNeeded());
    var statusAfter =
        byClass(new AutoscaleSignal(settings(Map.of()), node).update(restarted, 10 * S));
    assertEquals(after, statusAfter, "the status's fresh signal, from the node's memory, alike");
    var elsewhere = byClass(new AutoscaleSignal(settings(Map.of())).update(restarted, 10 * S));
    assertEquals(
        1000.0, elsewhere.get("a").outstandingWorkerSeconds(), 1e-6, "never measured: 10 s each");
  }
}
