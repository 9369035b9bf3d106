package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.junit.jupiter.api.Test;

/**
 * Which JVM shutdowns the launcher ends with exit code 0: a stop signal's, not a {@code
 * System.exit} from within (Pekko's after a fatal error), which keeps its code. NodeFailuresIT
 * shows both with real processes (SIGTERM: 0; an OutOfMemoryError on a Pekko thread: 255).
 */
class SignalWatchTest {
  private static final Optional<CoordinatedShutdown.Reason> JVM_EXIT =
      Optional.of(CoordinatedShutdown.jvmExitReason());

  @Test
  void aShutdownAfterAStopSignalIsTheSignals() {
    SignalWatch watch = new SignalWatch(true);
    watch.noted("TERM");
    assertEquals(true, watch.stoppedBySignal(JVM_EXIT));
    assertEquals(false, watch.exitFromWithin(JVM_EXIT));
  }

  /** The JVM's code after each stop signal: 128 + its number. */
  @Test
  void theSignalsCodeIs128PlusItsNumber() {
    for (String[] signalAndCode :
        new String[][] {{"TERM", "143"}, {"INT", "130"}, {"HUP", "129"}}) {
      SignalWatch watch = new SignalWatch(true);
      watch.noted(signalAndCode[0]);
      assertEquals(Integer.parseInt(signalAndCode[1]), watch.signalCode(), signalAndCode[0]);
    }
  }

  /** Ctrl-C after SIGTERM: the JVM exits with the first signal's code, and the line says so. */
  @Test
  void theFirstSignalIsTheOneNamed() {
    SignalWatch watch = new SignalWatch(true);
    watch.noted("TERM");
    watch.noted("INT");
    assertEquals("SIGTERM", watch.signalName());
    assertEquals(143, watch.signalCode());
  }

  @Test
  void aShutdownWithoutASignalIsAnExitFromWithin() {
    SignalWatch watch = new SignalWatch(true);
    assertEquals(false, watch.stoppedBySignal(JVM_EXIT));
    assertEquals(true, watch.exitFromWithin(JVM_EXIT));
  }

  @Test
  void whereSignalsCannotBeWatchedEveryJvmShutdownCountsAsASignalsAsBefore() {
    SignalWatch watch = new SignalWatch(false);
    assertEquals(true, watch.stoppedBySignal(JVM_EXIT));
    assertEquals(false, watch.exitFromWithin(JVM_EXIT));
  }

  @Test
  void otherShutdownsAreNeither() {
    SignalWatch watch = new SignalWatch(true);
    watch.noted("TERM");
    for (CoordinatedShutdown.Reason reason :
        new CoordinatedShutdown.Reason[] {
          CoordinatedShutdown.clusterDowningReason(), CoordinatedShutdown.clusterLeavingReason()
        }) {
      assertEquals(false, watch.stoppedBySignal(Optional.of(reason)), reason.toString());
      assertEquals(false, new SignalWatch(true).exitFromWithin(Optional.of(reason)));
    }
    assertEquals(false, watch.stoppedBySignal(Optional.empty()));
  }
}
