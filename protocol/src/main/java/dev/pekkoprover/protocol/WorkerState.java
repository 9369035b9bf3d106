package dev.pekkoprover.protocol;

/** The worker life cycle: Unprepared -> Registered -> Ready; a restart goes back to Unprepared. */
public enum WorkerState {
  /** Serves only unprepared task types (circuit compilation, registration). */
  UNPREPARED,
  /** Has its registration parameters; running {@code prepare} for its regular types. */
  REGISTERED,
  /** Serves its regular task types. */
  READY
}
