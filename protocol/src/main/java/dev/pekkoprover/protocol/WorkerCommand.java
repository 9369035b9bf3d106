package dev.pekkoprover.protocol;

import java.util.List;
import java.util.Objects;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What the queue sends a worker. The worker's own private messages extend this interface in its
 * module.
 */
public interface WorkerCommand extends CborSerializable {

  /**
   * Run this task; report it with {@link QueueCommand.TaskSucceeded}, {@code TaskFailed} or {@code
   * TaskDeclined} to {@code replyTo}.
   *
   * @param replyTo the queue (in a cluster: the queue entity) that holds the task. Reports go
   *     straight to it, not back through the worker node's queue front and Cluster Sharding: two
   *     hops and one envelope fewer per report. Should that entity stop (its shard handed off to
   *     another node), the worker sends its reports through its node's queue front instead, which
   *     routes them to the entity's new life ({@link QueueEntityStopping}).
   */
  record Dispatch(TaskEnvelope task, ActorRef<QueueCommand> replyTo) implements WorkerCommand {
    public Dispatch {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(replyTo, "replyTo");
    }
  }

  /**
   * Several tasks at once, in order: what the queue sends when it hands one worker more than one
   * task while handling one message, so that a busy worker costs one message (one network frame
   * between nodes) per batch, not per task. {@code replyTo} as in {@link Dispatch}.
   */
  record DispatchAll(List<TaskEnvelope> tasks, ActorRef<QueueCommand> replyTo)
      implements WorkerCommand {
    public DispatchAll {
      Objects.requireNonNull(tasks, "tasks");
      Objects.requireNonNull(replyTo, "replyTo");
    }
  }

  /**
   * A queue entity that handed this worker tasks stops because its node shuts down: its shards are
   * handed off (a rolling restart) and it starts again on another queue node. The entity sends it
   * itself as it stops, because once a node's CoordinatedShutdown has begun Pekko's Artery
   * transport sends no death-watch notification to watchers on other nodes: they hear of the stop
   * only when the node is removed, about a second later, and that is when the sequencer sends the
   * entity's tasks again. On this the worker sends the reports and load of what it holds for that
   * entity through its node's queue front at once, so that the entity's new life knows them before
   * the tasks come again.
   *
   * @param entity the entity that stops; a worker that took no task from it ignores this
   */
  record QueueEntityStopping(ActorRef<QueueCommand> entity) implements WorkerCommand {
    public QueueEntityStopping {
      Objects.requireNonNull(entity, "entity");
    }
  }

  /**
   * Stop these tasks: the queue has put them back (their lease ran out, or this worker's node was
   * unreachable) and handed them to another worker. A task not started yet is dropped; a running
   * compute is interrupted. A compute that has not returned {@code prover.worker.cancel-grace}
   * later means the worker is hung: it restarts, abandoning that thread, so that it can take work
   * again.
   *
   * <p>Task ids start again with each sequencer run, so a cancel names the run its tasks belong to:
   * a task this worker holds under one of these ids for another run is not the one meant, and goes
   * on.
   *
   * @param taskIds the tasks to stop, all of run {@code runId}
   * @param runId the sequencer run of those tasks; null from a sender that does not know the field
   *     (an older build in a rolling upgrade), which means the tasks held under these ids whatever
   *     their run
   * @param reason why, for the worker's log line
   */
  record Cancel(List<String> taskIds, String runId, String reason) implements WorkerCommand {
    public Cancel {
      taskIds = List.copyOf(taskIds);
      Objects.requireNonNull(reason, "reason");
    }
  }

  /**
   * Hand this task back if it has not started: it waits here for a slot (in a cluster two queue
   * entities may hand a worker its last free slot at once), and its queue entity sees a free slot
   * on another worker now. The worker answers with {@link QueueCommand.TaskDeclined} ({@code
   * noFreeSlot} true), to the entity its reports of that task go to (the one that holds it now),
   * and the task goes to that other worker; a task that has started meanwhile, or that this worker
   * does not hold waiting, goes on and gets no answer (its entity sees it started in the worker's
   * next load report); so does a later attempt waiting for its cancelled compute to return. Never
   * interrupts a compute.
   *
   * @param taskId the waiting task's id
   * @param runId its sequencer run (task ids start again with each run: a task held under this id
   *     for another run is not the one meant)
   */
  record Withdraw(String taskId, String runId) implements WorkerCommand {
    public Withdraw {
      Objects.requireNonNull(taskId, "taskId");
    }
  }

  /**
   * The queue gives this worker incarnation no work: its announcement's {@link CatalogFingerprint}
   * differs from the queue's. Sent once per incarnation and queue (in a cluster: per queue entity
   * of its types), so that the worker's node logs it too.
   *
   * @param reason the exact difference, for the worker's log line
   * @param registerAgain true when only its registration is out of date (it holds the keys of an
   *     earlier run): it goes back to Unprepared and takes the current run's parameters; false when
   *     its build differs, which only a redeploy mends
   * @param keysDigest the keys digest of the refused announcement: a worker that has registered
   *     again since ignores a late refusal
   */
  record Refused(
      String workerId, String incarnation, String reason, boolean registerAgain, String keysDigest)
      implements WorkerCommand {}

  /**
   * This worker's node shuts down (a SIGTERM, a scale-down, a rolling update): drain before the
   * node leaves the cluster. The worker announces {@link WorkerState#DRAINING} (the queues give it
   * no more work), declines the tasks that wait for one of its slots (they go to other workers at
   * once, spending nothing) and any task handed to it from now on, and finishes the computes it
   * runs, so that a proof minutes into its compute is not thrown away. It answers {@code replyTo}
   * once it holds nothing, or when {@code timeoutMillis} is over: then it tells the queue it goes
   * down ({@link QueueCommand.WorkerGoingDown}), which puts back what is still running at once.
   * Sent by its node only, in CoordinatedShutdown's {@code service-requests-done} phase.
   *
   * @param timeoutMillis how long the computes under way may take to finish, in milliseconds
   *     ({@code prover.worker.drain-timeout}), at least 0
   */
  record Drain(long timeoutMillis, ActorRef<Drained> replyTo) implements WorkerCommand {
    public Drain {
      if (timeoutMillis < 0) {
        throw new IllegalArgumentException(
            "timeoutMillis must be at least 0, was " + timeoutMillis);
      }
      Objects.requireNonNull(replyTo, "replyTo");
    }
  }

  /**
   * A worker's answer to {@link Drain}: it holds no task any more.
   *
   * @param finished computes that finished during the drain (their reports went out)
   * @param declined tasks that waited for a slot, or came during the drain, handed back at once
   * @param putBack computes still running when the drain's time was over, put back by the queue
   * @param millis how long the drain took, in milliseconds
   */
  record Drained(String workerId, int finished, int declined, int putBack, long millis)
      implements CborSerializable {}
}
