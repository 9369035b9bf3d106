package dev.pekkoprover.protocol;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Everything the task queue accepts. Sequencer and workers speak only this protocol, so they cannot tell the local
 * queue from the sharded one. Every message names the task type it is about, so that a front can route it to the
 * type's shard. Not sealed: a queue implementation adds its own private messages (timers, watch signals).
 */
public interface QueueCommand extends CborSerializable {

  /** The task type this message is about, or null when it concerns the whole queue. */
  default String taskType() {
    return null;
  }

  // ---- flow -> queue ----

  /**
   * Adds tasks at the tail of their type's queue. Several tasks travel in one message so that a flow's fan-out is
   * one send, not thousands. Each task's outcome goes to {@code replyTo}; a task the queue refuses (unknown type,
   * oversized payload) comes back as {@link TaskOutcome.Rejected} at once.
   */
  record Enqueue(List<TaskEnvelope> tasks, ActorRef<TaskOutcome> replyTo) implements QueueCommand {
    @Override
    public String taskType() {
      return tasks.size() == 1 ? tasks.get(0).taskType() : null;
    }
  }

  /** Drops the pending tasks of a flow that has finished or failed; tasks in flight finish and are ignored. */
  record CancelFlow(String flowId) implements QueueCommand {}

  // ---- worker -> queue ----

  /**
   * A worker says which task types it serves now and how many tasks it can hold at once. Sent at every state change
   * (Unprepared, Registered, Ready). A new {@code incarnation} for a known worker means it restarted: whatever it
   * held is put back.
   */
  record WorkerServes(
      ActorRef<WorkerCommand> worker, String workerId, String incarnation, Set<String> taskTypes, int capacity)
      implements QueueCommand {}

  /** A task ran to completion on a worker. */
  record TaskSucceeded(
      String workerId,
      String incarnation,
      String taskId,
      String taskType,
      int attempt,
      @JsonSerialize(using = AnyValue.Serializer.class) @JsonDeserialize(using = AnyValue.Deserializer.class)
          Object result)
      implements QueueCommand {}

  /** A task's compute threw. {@code retryable} is false when running it again cannot help. */
  record TaskFailed(
      String workerId, String incarnation, String taskId, String taskType, int attempt, String reason, boolean retryable)
      implements QueueCommand {}

  /** A worker refused a task it was handed (not its type in its current state, or over capacity). */
  record TaskDeclined(
      String workerId, String incarnation, String taskId, String taskType, int attempt, String reason)
      implements QueueCommand {}

  /**
   * Several worker reports for one queue in one message: a worker gathers the reports it makes while handling the
   * messages already in its mailbox and sends them together, one message per queue (entity) that dispatched the
   * tasks, so that results cross the network in batches under load and one by one when idle. (Three typed lists
   * rather than one list of the interface: Jackson then needs no type ids.)
   */
  record Reports(List<TaskSucceeded> succeeded, List<TaskFailed> failed, List<TaskDeclined> declined)
      implements QueueCommand {
    public int size() {
      return succeeded.size() + failed.size() + declined.size();
    }
  }

  // ---- anyone -> queue ----

  /** Asks for the queue's counters. */
  record GetStats(ActorRef<QueueStats> replyTo) implements QueueCommand {}
}
