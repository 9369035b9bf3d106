package dev.pekkoprover.protocol;

import java.util.List;
import java.util.Objects;
import org.apache.pekko.actor.typed.ActorRef;

/** What the queue sends a worker. The worker's own private messages extend this interface in its module. */
public interface WorkerCommand extends CborSerializable {

  /**
   * Run this task; report it with {@link QueueCommand.TaskSucceeded}, {@code TaskFailed} or {@code TaskDeclined} to
   * {@code replyTo}.
   *
   * @param replyTo the queue (in a cluster: the queue entity) that holds the task. Reports go straight to it, not
   *     back through the worker node's queue front and Cluster Sharding: two hops and one envelope fewer per report.
   *     Should that entity be gone by then (moved to another node), the report is lost with the task the entity
   *     held, and the flow's re-send covers both.
   */
  record Dispatch(TaskEnvelope task, ActorRef<QueueCommand> replyTo) implements WorkerCommand {
    public Dispatch {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(replyTo, "replyTo");
    }
  }

  /**
   * Several tasks at once, in order: what the queue sends when it hands one worker more than one task while handling
   * one message, so that a busy worker costs one message (one network frame between nodes) per batch, not per task.
   * {@code replyTo} as in {@link Dispatch}.
   */
  record DispatchAll(List<TaskEnvelope> tasks, ActorRef<QueueCommand> replyTo) implements WorkerCommand {
    public DispatchAll {
      Objects.requireNonNull(tasks, "tasks");
      Objects.requireNonNull(replyTo, "replyTo");
    }
  }
}
