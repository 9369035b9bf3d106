package dev.pekkoprover.protocol;

/**
 * The worker life cycle: Unprepared -> Registered -> Ready; a restart goes back to Unprepared. Any
 * state ends in Draining when the worker's node shuts down.
 */
public enum WorkerState {
  /** Serves only unprepared task types (circuit compilation, registration). */
  UNPREPARED,
  /** Has its registration parameters; running {@code prepare} for its regular types. */
  REGISTERED,
  /** Serves its regular task types. */
  READY,
  /**
   * Its node shuts down ({@link WorkerCommand.Drain}): it takes no new task, hands back those that
   * waited for a slot and finishes the computes it runs, within {@code
   * prover.worker.drain-timeout}. It announces this state with the types it served until then, so
   * that its announcement and load reports still reach the queues of those types; a queue seats a
   * draining worker for none.
   */
  DRAINING
}
