package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.WorkerState;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** When the sequencer's node logs that a type's tasks wait for a worker no one will be. */
class UnservedLogTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private static FleetView view(long orphanOldestMillis, boolean workerForOrphan, int answered) {
    Map<String, FleetView.TypeView> types =
        answered == 2
            ? Map.of("orphan", type(2, orphanOldestMillis), "square", type(1, 500))
            : Map.of("square", type(1, 500));
    List<String> serves = workerForOrphan ? List.of("square", "orphan") : List.of("square");
    FleetView.WorkerView worker =
        new FleetView.WorkerView(
            "w1",
            "127.0.0.1:2552",
            "inc-w1",
            WorkerState.READY,
            serves,
            serves,
            2,
            0,
            0,
            0,
            0,
            100,
            true,
            null);
    return new FleetView(List.of(worker), types, List.of(), 0, 0, answered, 2);
  }

  private static FleetView.TypeView type(long pending, long oldestMillis) {
    return new FleetView.TypeView(
        new QueueStats.TypeStats(pending, 0, 0, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, oldestMillis);
  }

  @Test
  void saidOnceAfterThirtySecondsAgainAfterTenMinutesAndWhenItEnds() {
    UnservedLog log = new UnservedLog();
    assertEquals(List.of(), log.update(view(29_900, false, 2), 0), "a fleet's start: not yet");
    List<String> first = log.update(view(30_000, false, 2), 10 * SECOND);
    assertEquals(1, first.size(), first.toString());
    assertTrue(
        first
            .get(0)
            .startsWith("no worker serves task type orphan (2 pending, the oldest for 30 s)"),
        first.get(0));
    assertEquals(List.of(), log.update(view(90_000, false, 2), 70 * SECOND), "not every tick");
    // a partial view that leaves the type out does not say it is served
    assertEquals(List.of(), log.update(view(0, false, 1), 80 * SECOND));
    assertEquals(1, log.update(view(640_000, false, 2), 610 * SECOND).size(), "ten minutes on");
    assertEquals(
        List.of(
            "task type orphan no longer waits for a worker: one that serves it is Ready or"
                + " registering, or its tasks are gone"),
        log.update(view(650_000, true, 2), 620 * SECOND));
    assertEquals(List.of(), log.update(view(660_000, true, 2), 630 * SECOND), "said once");
    // its worker gone again at once (one that joins and dies in a loop): not said again within
    // 30 s of the line that it no longer waits
    assertEquals(List.of(), log.update(view(670_000, false, 2), 640 * SECOND));
    assertEquals(List.of(), log.update(view(680_000, false, 2), 649 * SECOND));
    assertEquals(1, log.update(view(690_000, false, 2), 650 * SECOND).size(), "30 s on");
  }

  /** Where the queue does not measure waits (metrics off), the log counts from its first view. */
  @Test
  void withoutMeasuredWaitsItCountsFromTheFirstViewThatShowedTheType() {
    UnservedLog log = new UnservedLog();
    assertEquals(List.of(), log.update(view(0, false, 2), 0));
    assertEquals(List.of(), log.update(view(0, false, 2), 20 * SECOND));
    List<String> said = log.update(view(0, false, 2), 30 * SECOND);
    assertEquals(1, said.size(), said.toString());
    assertTrue(
        said.get(0).startsWith("no worker serves task type orphan (2 pending):"), said.get(0));
  }
}
