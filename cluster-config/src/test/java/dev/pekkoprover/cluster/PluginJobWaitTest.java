package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The line of a plugin's job that waits ({@code OwnTasksClusterIT} has the real process: the
 * example's sequencer node alone says it, then once that the wait is over).
 */
class PluginJobWaitTest {
  private static final String PREFIX = "plugin sum-of-squares's job: ";
  private static final String WHAT =
      "waiting for workers: no Ready worker serves SquareSumTask (8 pending); start a worker that"
          + " serves it";

  @Test
  void theLineSaysHowLongItWaitedAndAfter30SAloneWhy() {
    assertEquals(PREFIX + WHAT, PluginJobWait.line(PREFIX, WHAT, 0, ""));
    assertEquals(
        PREFIX
            + "waiting for workers for 35 s: no Ready worker serves SquareSumTask (8 pending);"
            + " start a worker that serves it"
            + AloneHint.TAIL,
        PluginJobWait.line(PREFIX, WHAT, 35, AloneHint.TAIL));
  }
}
