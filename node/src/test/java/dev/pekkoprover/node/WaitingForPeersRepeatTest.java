package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** How often a long wait for a peer is said again: {@link WaitingForPeers#repeatAfter}. */
class WaitingForPeersRepeatTest {
  private static final Duration EVERY = Duration.ofSeconds(5);

  private static Duration after(Duration waited) {
    return WaitingForPeers.repeatAfter(EVERY, waited.toNanos());
  }

  @Test
  void everyFewSecondsForAMinuteThenEveryMinuteThenEveryTenMinutes() {
    assertEquals(EVERY, after(Duration.ZERO));
    assertEquals(EVERY, after(Duration.ofSeconds(59)));
    assertEquals(Duration.ofMinutes(1), after(Duration.ofSeconds(60)));
    assertEquals(Duration.ofMinutes(1), after(Duration.ofSeconds(599)));
    assertEquals(Duration.ofMinutes(10), after(Duration.ofMinutes(10)));
    assertEquals(Duration.ofMinutes(10), after(Duration.ofHours(8)));
  }

  @Test
  void aLongerSettingIsNeverShortened() {
    assertEquals(Duration.ofMinutes(2), WaitingForPeers.repeatAfter(Duration.ofMinutes(2), 0));
    assertEquals(
        Duration.ofMinutes(2),
        WaitingForPeers.repeatAfter(Duration.ofMinutes(2), Duration.ofMinutes(5).toNanos()));
  }

  /**
   * An hour of waiting: 11 lines in its first minute (at 5 s to 55 s), 9 in the next nine, then 5.
   */
  @Test
  void anHourOfWaitingIsAFewDozenLinesNotSevenHundred() {
    long tick = Duration.ofSeconds(1).toNanos();
    long lastReport = 0;
    int lines = 0;
    for (long now = tick; now <= Duration.ofHours(1).toNanos(); now += tick) {
      if (now - lastReport >= WaitingForPeers.repeatAfter(EVERY, now).toNanos()) {
        lines++;
        lastReport = now;
      }
    }
    assertEquals(11 + 9 + 5, lines);
  }
}
