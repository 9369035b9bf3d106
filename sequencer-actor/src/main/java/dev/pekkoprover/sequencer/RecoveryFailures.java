package dev.pekkoprover.sequencer;

/**
 * Telling apart the two {@code RecoveryFailed} signals Pekko 1.x gives an event-sourced behavior
 * for one failed replay. Its {@code ReplayingEvents} handles a replay failure (the journal failed
 * to read, or the event handler threw) by signalling it and throwing its internal {@code
 * JournalFailureException}, which the same method's outer catch takes for a new failure: a second
 * signal, whose failure is that exception, wrapping the first one. Akka restructured that catch in
 * akka/akka-core#32557; until Pekko does, a behavior that logs the signal would say every failure
 * twice, the second time with Pekko's words instead of the cause.
 */
public final class RecoveryFailures {
  private static final String WRAPPER = "JournalFailureException";

  private RecoveryFailures() {}

  /**
   * @return whether {@code failure} (a {@code RecoveryFailed} signal's) is Pekko's own exception
   *     for a replay failure already signalled, to be ignored; matched by class name, the class
   *     being Pekko's internal API
   */
  public static boolean repeated(Throwable failure) {
    return failure != null && failure.getClass().getSimpleName().equals(WRAPPER);
  }
}
