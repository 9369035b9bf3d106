package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A journal outage's failures, one per restart attempt (every 1 s to 10 s): the first gets its line
 * at once, later ones at most one a minute saying how long it has lasted; a minute without a
 * failure ends the outage (a recovery in between does not: a database that reads but refuses
 * writes).
 */
class OutageLinesTest {
  private static final long SECOND = Duration.ofSeconds(1).toNanos();

  @Test
  void theFirstFailureOfAnOutageIsSaidThenOneLineAMinuteWithItsLength() {
    OutageLines outage = new OutageLines();
    long now = 5 * SECOND;
    assertTrue(outage.failed(now));
    assertEquals("", outage.note(now), "the first line is the failure alone");
    int lines = 0;
    for (int attempt = 2; attempt <= 13; attempt++) { // every 10 s for two minutes
      now += 10 * SECOND;
      if (outage.failed(now)) {
        lines++;
        assertEquals(
            " (failing for "
                + (now - 5 * SECOND) / SECOND
                + " s, "
                + attempt
                + " attempts; the next line in a minute at the earliest)",
            outage.note(now));
      }
    }
    assertEquals(2, lines, "at 60 s and at 120 s, not one per attempt");

    // a database that reads but refuses writes: recovered in between, still the same outage
    now += 30 * SECOND;
    assertFalse(outage.failed(now), "30 s after the last failure: the same outage");
    now += 61 * SECOND;
    assertTrue(outage.failed(now), "a minute without a failure ended it: a new outage's first");
    assertEquals("", outage.note(now));
    assertFalse(outage.failed(now + SECOND));
  }
}
