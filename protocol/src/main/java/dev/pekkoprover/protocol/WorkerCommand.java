package dev.pekkoprover.protocol;

/** What the queue sends a worker. The worker's own private messages extend this interface in its module. */
public interface WorkerCommand extends CborSerializable {

  /** Run this task; report it with {@link QueueCommand.TaskSucceeded}, {@code TaskFailed} or {@code TaskDeclined}. */
  record Dispatch(TaskEnvelope task) implements WorkerCommand {}
}
