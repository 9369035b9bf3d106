package dev.pekkoprover.protocol;

/**
 * Thrown by a task when the worker itself is no longer sound (the prover's native state is corrupt,
 * memory is exhausted). The worker actor rethrows it, its supervisor restarts it with backoff, it
 * comes back Unprepared and registers again; the queue puts the task it held back for another
 * attempt. Any {@link Error} is treated alike.
 */
public class WorkerFault extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public WorkerFault(String message) {
    super(message);
  }

  public WorkerFault(String message, Throwable cause) {
    super(message, cause);
  }
}
