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
 * @param flowSeq the start order of its flow within the sequencer run (0 for the run's start-up and
 *     registration tasks, then 1, 2, ... as flows start): the queue hands out the pending tasks of
 *     the oldest flow first, as the brokers of rollup provers hand out the oldest batch's jobs
 *     first, so that batches are proven (and can settle) in order rather than all at the end
 */
public record TaskEnvelope(
    String taskId,
    String flowId,
    String runId,
    String taskType,
    int attempt,
    @JsonSerialize(using = AnyValue.Serializer.class)
        @JsonDeserialize(using = AnyValue.Deserializer.class)
        Object payload,
    long flowSeq)
    implements CborSerializable {

  /** A task of no flow's order ({@code flowSeq} 0): start-up, registration, tests, benchmarks. */
  public TaskEnvelope(
      String taskId, String flowId, String runId, String taskType, int attempt, Object payload) {
    this(taskId, flowId, runId, taskType, attempt, payload, 0);
  }

  public TaskEnvelope withAttempt(int nextAttempt) {
    return new TaskEnvelope(taskId, flowId, runId, taskType, nextAttempt, payload, flowSeq);
  }

  /** The same task carrying {@code newPayload} (for instance its serialised form). */
  public TaskEnvelope withPayload(Object newPayload) {
    return new TaskEnvelope(taskId, flowId, runId, taskType, attempt, newPayload, flowSeq);
  }

  /**
   * Task id, type, flow and dispatch: what every log line about a task names. The envelope's {@code
   * attempt} counter is called the dispatch there: every put-back raises it, also those that spend
   * no attempt of {@code prover.queue.max-attempts} (a lost worker, a declined or handed-back
   * task), so "attempt 7" beside a budget of 5 attempts misled the reader of a log.
   */
  public String describe() {
    return "task "
        + taskId
        + " (type "
        + taskType
        + ", flow "
        + flowId
        + ", dispatch "
        + attempt
        + ")";
  }
}
