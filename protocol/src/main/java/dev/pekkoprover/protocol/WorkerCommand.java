package dev.pekkoprover.protocol;

/** What the queue sends a worker. The worker's own private messages extend this interface in its module. */
public interface WorkerCommand extends CborSerializable {

  /** Run this task; report it with {@link QueueCommand.TaskSucceeded}, {@code TaskFailed} or {@code TaskDeclined}. */
  record Dispatch(TaskEnvelope task) implements WorkerCommand {}

  /**
   * Several tasks at once, in order: what the queue sends when it hands one worker more than one task while handling
   * one message, so that a busy worker costs one message (one network frame between nodes) per batch, not per task.
   */
  record DispatchAll(java.util.List<TaskEnvelope> tasks) implements WorkerCommand {}
}
