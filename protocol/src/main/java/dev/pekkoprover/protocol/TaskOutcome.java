package dev.pekkoprover.protocol;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/** What the queue tells the flow that enqueued a task: its one final outcome. */
public sealed interface TaskOutcome extends CborSerializable {

  String taskId();

  String runId();

  String taskType();

  /**
   * The task's result. A flow accepts the first one per task id and drops (and counts) any
   * duplicate.
   */
  record Succeeded(
      String taskId,
      String flowId,
      String runId,
      String taskType,
      int attempt,
      String workerId,
      @JsonSerialize(using = AnyValue.Serializer.class)
          @JsonDeserialize(using = AnyValue.Deserializer.class)
          Object result)
      implements TaskOutcome {}

  /** The task failed for good: every attempt failed, or a failure was not retryable. */
  record Failed(
      String taskId, String flowId, String runId, String taskType, int attempts, String reason)
      implements TaskOutcome {}

  /** The queue refused the task when it was enqueued; it never ran. */
  record Rejected(String taskId, String flowId, String runId, String taskType, String reason)
      implements TaskOutcome {
    /**
     * How the reason begins when a queue node's task catalog lacks the type though the sending
     * node's has it (the front there checked it): nodes started with another {@code --plugin} or
     * build. Not the task's fault: its flow keeps it and sends it again until a queue node knows
     * the type.
     */
    public static final String NOT_IN_QUEUE_NODE_CATALOG = "not in the task catalog of queue node ";

    /**
     * Whether the queue node refused it for a catalog that lacks its type ({@link
     * #NOT_IN_QUEUE_NODE_CATALOG}).
     */
    public boolean queueNodeLacksType() {
      return reason != null && reason.startsWith(NOT_IN_QUEUE_NODE_CATALOG);
    }
  }
}
