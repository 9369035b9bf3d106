package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * When a job says a wait, and how ({@code OwnTasksClusterIT} and {@code LauncherWaitsIT} have the
 * real processes: a plugin's and the appchain's sequencer node alone say it, then that it is over).
 */
class WaitLineTest {
  private static final long S = 1_000_000_000L;
  private static final Duration EVERY_5_S = Duration.ofSeconds(5);
  private static final String WHAT =
      "waiting for workers: no Ready worker serves SquareSumTask (8 pending); start a worker that"
          + " serves it";

  @Test
  void aWaitIsSaidAtOnceThenEveryRepeatWithHowLongItLasted() {
    WaitLine wait = new WaitLine();
    assertEquals(new WaitLine.Look(WHAT, true), wait.look(WHAT, 100 * S, EVERY_5_S, false));
    assertFalse(wait.look(WHAT, 104 * S, EVERY_5_S, false).due());
    assertEquals(
        new WaitLine.Look(
            "waiting for workers for 5 s: no Ready worker serves SquareSumTask (8 pending); start"
                + " a worker that serves it",
            true),
        wait.look(WHAT, 105 * S, EVERY_5_S, false));
    assertFalse(wait.look(WHAT, 109 * S, EVERY_5_S, false).due());
    assertTrue(wait.look(WHAT, 110 * S, EVERY_5_S, false).due());
    assertEquals("waiting for workers", wait.kind());
    assertEquals(12, wait.end(112 * S));
    assertNull(wait.kind());
    assertEquals(-1, wait.end(113 * S), "nothing to say: no wait goes on");
  }

  @Test
  void aWaitOfAnotherKindIsSaidAtOnceWithItsOwnClock() {
    WaitLine wait = new WaitLine();
    wait.look(WHAT, 0, EVERY_5_S, false);
    String queue = "waiting for a queue node: no member with role queue is Up";
    assertEquals(new WaitLine.Look(queue, true), wait.look(queue, 3 * S, EVERY_5_S, false));
    assertEquals(
        new WaitLine.Look(
            "waiting for a queue node for 5 s: no member with role queue is Up", true),
        wait.look(queue, 8 * S, EVERY_5_S, false));
    // the same kind with other numbers keeps its clock and waits for the repeat
    assertFalse(wait.look(queue + " (2 members)", 9 * S, EVERY_5_S, false).due());
  }

  @Test
  void aWaitSaidAgainWhenChangedIsDueAtEachChangeOnly() {
    WaitLine wait = new WaitLine();
    Duration tenMinutes = Duration.ofMinutes(10);
    String runsOnA = "standing by: the sequencer runs on node A";
    assertTrue(wait.look(runsOnA, 0, tenMinutes, true).due());
    assertFalse(wait.look(runsOnA, 60 * S, tenMinutes, true).due());
    assertTrue(wait.look(runsOnA + ", unreachable", 61 * S, tenMinutes, true).due());
    assertFalse(wait.look(runsOnA + ", unreachable", 62 * S, tenMinutes, true).due());
    assertTrue(wait.look(runsOnA + ", unreachable", 662 * S, tenMinutes, true).due());
  }

  @Test
  void aWaitWithoutAColonIsAllKind() {
    assertEquals(
        "waiting to join the cluster for 3 s",
        WaitLine.withWaited("waiting to join the cluster", 3));
    assertEquals("waiting to join the cluster", WaitLine.kindOf("waiting to join the cluster"));
  }

  /** A long wait is said less often as it goes on: every 5 s, then every minute, then 10. */
  @Test
  void aLongWaitIsSaidLessOftenAsItGoesOn() {
    WaitLine wait = new WaitLine();
    assertTrue(wait.look(WHAT, 0, EVERY_5_S, false).due());
    assertTrue(wait.look(WHAT, 55 * S, EVERY_5_S, false).due());
    assertFalse(wait.look(WHAT, 60 * S, EVERY_5_S, false).due(), "a minute in: once a minute");
    assertFalse(wait.look(WHAT, 114 * S, EVERY_5_S, false).due());
    assertTrue(wait.look(WHAT, 115 * S, EVERY_5_S, false).due());
    assertTrue(wait.look(WHAT, 595 * S, EVERY_5_S, false).due());
    assertFalse(wait.look(WHAT, 1194 * S, EVERY_5_S, false).due(), "from 10 minutes: every 10");
    assertTrue(wait.look(WHAT, 1195 * S, EVERY_5_S, false).due());
  }
}
