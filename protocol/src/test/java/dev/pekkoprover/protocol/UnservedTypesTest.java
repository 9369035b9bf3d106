package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Which task types wait with no worker to run them: for the launcher's progress line every type no
 * Ready worker serves; for {@code /status}'s problem and the sequencer's log only those no worker
 * is registering for either (a fleet's start is not a problem).
 */
class UnservedTypesTest {

  static FleetView.TypeView pending(long tasks, long oldestMillis) {
    return new FleetView.TypeView(
        new QueueStats.TypeStats(tasks, 0, 0, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, oldestMillis);
  }

  static FleetView.WorkerView worker(
      String id, WorkerState state, boolean reachable, String refused, String... types) {
    return new FleetView.WorkerView(
        id,
        "127.0.0.1:2552",
        "inc-" + id,
        state,
        state == WorkerState.READY ? List.of(types) : List.of(),
        List.of(types),
        2,
        0,
        0,
        0,
        0,
        100,
        reachable,
        refused);
  }

  static FleetView fleet(
      List<FleetView.WorkerView> workers, Map<String, FleetView.TypeView> types) {
    return new FleetView(workers, types, List.of(), 0, 0, 1, 1);
  }

  @Test
  void aTypeWithARegisteringWorkerWaitsButIsNoProblem() {
    FleetView fleet =
        fleet(
            List.of(
                worker("w1", WorkerState.READY, true, null, "square"),
                worker("w2", WorkerState.UNPREPARED, true, null, "add"),
                worker("w3", WorkerState.REGISTERED, true, null, "merge")),
            Map.of(
                "square",
                pending(3, 1_000),
                "add",
                pending(2, 1_000),
                "merge",
                pending(1, 1_000),
                "orphan",
                pending(4, 41_500),
                "fresh",
                pending(1, 9_999),
                WorkerRegistrationTask.NAME,
                pending(1, 1_000)));
    assertEquals(
        Map.of("add", 2L, "merge", 1L, "orphan", 4L, "fresh", 1L), UnservedTypes.of(fleet));
    assertEquals(Map.of("orphan", 4L, "fresh", 1L), UnservedTypes.withNoWorkerComing(fleet));
    // a type whose oldest task has waited under 10 s is not a problem yet: a worker node
    // unreachable for a moment, or one refused until it registers again for a new run
    assertEquals(
        "no worker serves task type orphan (4 pending, the oldest for 41 s): its tasks, and the"
            + " flows that pushed them, wait until a worker that serves it joins (none in the fleet"
            + " is Ready for it or registering); start one",
        UnservedTypes.problem(fleet));
  }

  @Test
  void unreachableRefusedOrOtherTypesWorkersDoNotCount() {
    FleetView fleet =
        fleet(
            List.of(
                worker("w1", WorkerState.READY, false, null, "square"),
                worker("w2", WorkerState.UNPREPARED, false, null, "square"),
                worker("w3", WorkerState.READY, true, "its task catalog differs: ...", "add"),
                worker("w4", WorkerState.DRAINING, true, null, "add"),
                worker("w5", WorkerState.READY, true, null, "merge")),
            Map.of("square", pending(3, 0), "add", pending(2, 0), "merge", pending(0, 0)));
    assertEquals(Map.of("add", 2L, "square", 3L), UnservedTypes.withNoWorkerComing(fleet));
    assertEquals(
        "no worker serves task types add (2 pending), square (3 pending): their tasks, and the"
            + " flows that pushed them, wait until workers that serve them join (none in the fleet"
            + " is Ready for them or registering); start them (1 worker(s) configured for it"
            + " refused by the queue: /status says why)",
        UnservedTypes.problem(fleet));
    assertNull(
        UnservedTypes.problem(
            fleet(
                List.of(worker("w1", WorkerState.READY, true, null, "square", "add")),
                Map.of("square", pending(3, 0), "add", pending(2, 0)))));
  }
}
