package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;

/**
 * Effects that do nothing, for tests that read the queue's bookkeeping rather than what it sends.
 */
final class NoEffects<W, R> implements TaskQueueState.Effects<W, R> {
  @Override
  public void dispatch(W worker, TaskEnvelope task) {}

  @Override
  public void reply(R replyTo, TaskOutcome outcome) {}

  @Override
  public void retryLater(TaskEnvelope task, String workerId, int failures, String reason) {}

  @Override
  public void putBack(
      TaskEnvelope task, String workerId, TaskQueueState.Redelivery cause, String budget) {}

  @Override
  public void cancel(W worker, String taskId, String runId, String reason) {}
}
