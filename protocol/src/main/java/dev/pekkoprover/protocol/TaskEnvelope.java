package dev.pekkoprover.protocol;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/**
 * One task on its way through the queue.
 *
 * @param taskId unique for the run of the sequencer (the flow id plus a sequence number)
 * @param flowId the flow that enqueued it and receives its result
 * @param runId the sequencer run that enqueued it; results of an earlier run are dropped
 * @param taskType the {@link TaskType#name()}, which is also the queue name
 * @param attempt 1 on the first delivery, one more on each redelivery or retry
 * @param payload the task input: a typed value, an {@link EncodedPayload} to be decoded by the
 *     worker, or (once it has been serialised on its way to another node) a {@link
 *     SerializedPayload} that the worker decodes
 */
public record TaskEnvelope(
    String taskId,
    String flowId,
    String runId,
    String taskType,
    int attempt,
    @JsonSerialize(using = AnyValue.Serializer.class)
        @JsonDeserialize(using = AnyValue.Deserializer.class)
        Object payload)
    implements CborSerializable {

  public TaskEnvelope withAttempt(int nextAttempt) {
    return new TaskEnvelope(taskId, flowId, runId, taskType, nextAttempt, payload);
  }

  /** The same task carrying {@code newPayload} (for instance its serialised form). */
  public TaskEnvelope withPayload(Object newPayload) {
    return new TaskEnvelope(taskId, flowId, runId, taskType, attempt, newPayload);
  }

  /** Task id, type, flow and attempt: what every log line about a task names. */
  public String describe() {
    return "task "
        + taskId
        + " (type "
        + taskType
        + ", flow "
        + flowId
        + ", attempt "
        + attempt
        + ")";
  }
}
