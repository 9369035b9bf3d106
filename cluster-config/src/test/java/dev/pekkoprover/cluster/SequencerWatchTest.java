package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The rule of {@link SequencerWatch}: cluster sightings of sequencer members and the time in, lines
 * and the exit decision out. Time is given, never waited for (the actor passes {@code
 * System.nanoTime()}); the real-process side is {@code SequencerAbsenceIT}.
 */
class SequencerWatchTest {
  private static final long S = 1_000_000_000L;
  private static final Instant WALL = Instant.parse("2026-11-30T20:00:00Z");
  private static final SequencerWatch.Settings WAIT =
      new SequencerWatch.Settings(Duration.ofSeconds(60), false);
  private static final SequencerWatch.Settings EXIT =
      new SequencerWatch.Settings(Duration.ofSeconds(60), true);

  private static SequencerWatch.Sighting sighting(
      String incarnation, String node, SequencerWatch.Kind kind) {
    return new SequencerWatch.Sighting(incarnation, node, kind);
  }

  private static SequencerWatch.Sighting selfUp() {
    return sighting("self", "127.0.0.1:2552", SequencerWatch.Kind.SELF_UP);
  }

  private static SequencerWatch.Sighting sequencer(String incarnation, SequencerWatch.Kind kind) {
    return sighting(incarnation, "127.0.0.1:2551", kind);
  }

  /** The wall clock at {@code nanos} when the watch started at {@link #WALL}. */
  private static Instant wall(long nanos) {
    return WALL.plusNanos(nanos);
  }

  /**
   * Ticks every second from {@code from} to {@code to} (exclusive) and asserts none says a word.
   */
  private static void quietBetween(SequencerWatch.Absence absence, long from, long to) {
    for (long t = from; t < to; t += S) {
      assertNull(absence.tick(t, wall(t)), "nothing to say at " + t / S + " s");
    }
  }

  @Test
  void neverSeenIsSaidOnceAfterTheSettingThenEveryTenMinutesWhileItKeepsWaiting() {
    SequencerWatch.Absence absence = new SequencerWatch.Absence(WAIT, 0);
    assertNull(absence.seen(selfUp(), 0));
    quietBetween(absence, 0, 60 * S);

    SequencerWatch.Notice first = absence.tick(60 * S, wall(60 * S));
    assertNotNull(first);
    assertTrue(first.warn());
    assertFalse(first.exit());
    assertEquals(
        "no sequencer node Up and reachable for 60 s (since 2026-11-30T20:00:00Z; last seen: never "
            + "seen): this node keeps waiting (its workers take tasks again once one is back) and says "
            + "so again every 10 minutes",
        first.line());

    quietBetween(absence, 61 * S, 660 * S);
    SequencerWatch.Notice reminder = absence.tick(660 * S, wall(660 * S));
    assertNotNull(reminder);
    assertTrue(
        reminder.line().startsWith("still no sequencer node Up and reachable for 660 s (since "),
        reminder.line());
    assertFalse(reminder.exit());
  }

  @Test
  void aSequencerThatLeftIsNamedAndItsReturnIsSaidInOneInfoLine() {
    SequencerWatch.Absence absence = new SequencerWatch.Absence(WAIT, 0);
    absence.seen(selfUp(), 0);
    assertNull(absence.seen(sequencer("a", SequencerWatch.Kind.UP), S));
    assertNull(absence.seen(sequencer("a", SequencerWatch.Kind.NOT_UP), 10 * S)); // it leaves
    quietBetween(absence, 10 * S, 70 * S);

    SequencerWatch.Notice gone = absence.tick(70 * S, wall(70 * S));
    assertNotNull(gone);
    assertTrue(
        gone.line()
            .startsWith(
                "no sequencer node Up and reachable for 60 s (since 2026-11-30T20:00:10Z; "
                    + "last seen: 127.0.0.1:2551): this node keeps waiting"),
        gone.line());

    // restarted with the same command: a new incarnation at the same address
    SequencerWatch.Notice back = absence.seen(sequencer("a2", SequencerWatch.Kind.UP), 85 * S);
    assertNotNull(back);
    assertFalse(back.warn());
    assertEquals(
        "sequencer node 127.0.0.1:2551 is back after 75 s without one: this node goes on",
        back.line());
    quietBetween(absence, 85 * S, 2_000 * S);
  }

  @Test
  void aFirstSequencerAfterAReportedAbsenceIsUpNotBack() {
    SequencerWatch.Absence absence = new SequencerWatch.Absence(WAIT, 0);
    absence.seen(selfUp(), 0);
    assertNotNull(absence.tick(60 * S, wall(60 * S)));
    SequencerWatch.Notice up = absence.seen(sequencer("a", SequencerWatch.Kind.UP), 75 * S);
    assertNotNull(up);
    assertEquals(
        "sequencer node 127.0.0.1:2551 is Up after 75 s without one: this node goes on", up.line());
  }

  @Test
  void anAbsenceShorterThanTheSettingSaysNothing() {
    SequencerWatch.Absence absence = new SequencerWatch.Absence(WAIT, 0);
    absence.seen(selfUp(), 0);
    absence.seen(sequencer("a", SequencerWatch.Kind.UP), 0);
    assertNull(absence.seen(sequencer("a", SequencerWatch.Kind.UNREACHABLE), 5 * S));
    quietBetween(absence, 5 * S, 64 * S);
    assertNull(absence.seen(sequencer("a", SequencerWatch.Kind.REACHABLE), 64 * S));
    quietBetween(absence, 64 * S, 700 * S);
  }

  @Test
  void anUnreachableSequencerCountsAsAbsentUnlessAnotherIsUpAndReachable() {
    SequencerWatch.Absence absence = new SequencerWatch.Absence(WAIT, 0);
    absence.seen(selfUp(), 0);
    absence.seen(sighting("a", "127.0.0.1:2551", SequencerWatch.Kind.UP), 0);
    absence.seen(sighting("b", "127.0.0.1:2553", SequencerWatch.Kind.UP), 0); // a standby
    absence.seen(sighting("a", "127.0.0.1:2551", SequencerWatch.Kind.UNREACHABLE), S);
    quietBetween(absence, S, 200 * S);

    absence.seen(sighting("b", "127.0.0.1:2553", SequencerWatch.Kind.UNREACHABLE), 200 * S);
    quietBetween(absence, 200 * S, 260 * S);
    SequencerWatch.Notice gone = absence.tick(260 * S, wall(260 * S));
    assertNotNull(gone);
    assertTrue(gone.line().startsWith("no sequencer node Up and reachable for 60 s"), gone.line());
    // downed and removed while unreachable: a later Up of the other one is what brings it back
    assertNull(absence.seen(sighting("b", "127.0.0.1:2553", SequencerWatch.Kind.NOT_UP), 270 * S));
    SequencerWatch.Notice back =
        absence.seen(sighting("a", "127.0.0.1:2551", SequencerWatch.Kind.REACHABLE), 280 * S);
    assertNotNull(back);
    assertEquals(
        "sequencer node 127.0.0.1:2551 is back after 80 s without one: this node goes on",
        back.line());
  }

  @Test
  void theCountStartsWhenThisNodeIsUp() {
    SequencerWatch.Absence absence = new SequencerWatch.Absence(WAIT, 0);
    quietBetween(absence, 0, 300 * S); // still joining: WaitingForPeers says so, not this
    absence.seen(selfUp(), 300 * S);
    quietBetween(absence, 300 * S, 360 * S);
    assertNotNull(absence.tick(360 * S, wall(360 * S)));
  }

  @Test
  void withExitItSaysSoOnceAndDecidesToExit() {
    SequencerWatch.Absence absence = new SequencerWatch.Absence(EXIT, 0);
    absence.seen(selfUp(), 0);
    quietBetween(absence, 0, 60 * S);
    SequencerWatch.Notice exit = absence.tick(60 * S, wall(60 * S));
    assertNotNull(exit);
    assertTrue(exit.exit());
    assertTrue(
        exit.line()
            .endsWith(
                "last seen: never seen): this node leaves the cluster and exits with code 4 "
                    + "(--exit-without-sequencer)"),
        exit.line());
    quietBetween(absence, 61 * S, 2_000 * S); // no reminder: it is leaving
  }

  @Test
  void settingsComeFromTheShippedDefaultsAndRefuseANonPositiveTime() {
    SequencerWatch.Settings shipped =
        SequencerWatch.Settings.from(ConfigFactory.defaultReference());
    assertEquals(Duration.ofSeconds(60), shipped.absentAfter());
    assertFalse(shipped.exit());
    assertThrows(
        ConfigException.BadValue.class,
        () ->
            SequencerWatch.Settings.from(
                ConfigFactory.parseString("prover.worker.sequencer-absent-after = 0s")
                    .withFallback(ConfigFactory.defaultReference())));
  }
}
