package dev.pekkoprover.protocol;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Everything the task queue accepts. Sequencer and workers speak only this protocol, so they cannot
 * tell the local queue from the sharded one. Every message names the task type it is about, so that
 * a front can route it to the type's shard. Not sealed: a queue implementation adds its own private
 * messages (timers, watch signals).
 */
public interface QueueCommand extends CborSerializable {

  /** The task type this message is about, or null when it concerns the whole queue. */
  default String taskType() {
    return null;
  }

  // ---- flow -> queue ----

  /**
   * Adds tasks at the tail of their type's queue. Several tasks travel in one message so that a
   * flow's fan-out is one send, not thousands. Each task's outcome goes to {@code replyTo}; a task
   * the queue refuses (unknown type, oversized payload) comes back as {@link TaskOutcome.Rejected}
   * at once.
   */
  record Enqueue(List<TaskEnvelope> tasks, ActorRef<TaskOutcome> replyTo) implements QueueCommand {
    @Override
    public String taskType() {
      return tasks.size() == 1 ? tasks.get(0).taskType() : null;
    }
  }

  /**
   * Drops the pending tasks of a flow that has finished or failed; tasks in flight finish and are
   * ignored.
   */
  record CancelFlow(String flowId) implements QueueCommand {}

  /**
   * What a worker must match in the run whose registration task was just offered: the task type
   * versions of the sequencer's build and the digest of the run's registration parameters. In a
   * cluster the queue front that takes the registration offer (the sequencer's node's, of the
   * sequencer's build) sends it to every queue entity, so that each judges workers against the
   * sequencer's catalog rather than that of whichever node hosts it, and knows the run's keys
   * although only the registration type's entity holds the offer.
   *
   * @param versions task type name -> its contract (version and shape), as in {@link
   *     CatalogFingerprint#versions()}
   * @param keysDigest {@link CatalogFingerprint#keysDigestOf} of the run's registration parameters
   */
  record RunCatalog(String runId, java.util.TreeMap<String, String> versions, String keysDigest)
      implements QueueCommand {}

  /**
   * Sequencer run {@code runId} has begun. In a cluster the queue front that takes the run's first
   * task (the sequencer's node's) sends it to every queue entity, so that an entity the newer run
   * has not sent a task yet gives up the older runs' tasks at once (those waiting dropped, those in
   * flight cancelled on their workers) instead of keeping workers on computes whose results nobody
   * takes, or handing those tasks to workers registered for the newer run, which fail them. An
   * entity that knows this run or a newer one ignores it. {@link RunCatalog} has the same effect.
   *
   * @param runId a {@link RunIds} id
   */
  record RunStarted(String runId) implements QueueCommand {}

  // ---- worker -> queue ----

  /**
   * A worker says which task types it serves now and how many tasks it can hold at once. Sent at
   * every state change (Unprepared, Registered, Ready) and every {@code announce-interval}. A new
   * {@code incarnation} for a known worker means it restarted: whatever it held is put back.
   *
   * @param state its life-cycle state, for the fleet view and metrics (null from a sender that does
   *     not say)
   * @param configuredTypes every type it is configured for, which it serves once Ready
   *     (registration aside): its worker class, the unit the autoscaling signal counts in
   * @param fingerprint the versions of its types and the digest of the keys it registered with; the
   *     queue gives a worker whose catalog differs from its own no work at all. Null from a sender
   *     that does not say (tests of the queue alone): not checked
   */
  record WorkerServes(
      ActorRef<WorkerCommand> worker,
      String workerId,
      String incarnation,
      Set<String> taskTypes,
      int capacity,
      WorkerState state,
      Set<String> configuredTypes,
      CatalogFingerprint fingerprint)
      implements QueueCommand {

    /**
     * An announcement that does not say its state; its configured types are those it serves now.
     */
    public WorkerServes(
        ActorRef<WorkerCommand> worker,
        String workerId,
        String incarnation,
        Set<String> taskTypes,
        int capacity) {
      this(worker, workerId, incarnation, taskTypes, capacity, null, taskTypes, null);
    }

    /** An announcement without a fingerprint: its catalog is not checked. */
    public WorkerServes(
        ActorRef<WorkerCommand> worker,
        String workerId,
        String incarnation,
        Set<String> taskTypes,
        int capacity,
        WorkerState state,
        Set<String> configuredTypes) {
      this(worker, workerId, incarnation, taskTypes, capacity, state, configuredTypes, null);
    }
  }

  /**
   * What a worker holds now: the tasks it is running and those it was handed beyond its free slots,
   * which it starts as slots free up (in a cluster each task type's queue is its own entity and
   * decides alone, so two entities may hand a worker its last free slot at once; the worker keeps
   * the second task, which its entity may withdraw for a free slot elsewhere: {@link
   * WorkerCommand.Withdraw}). Sent to the worker's queue when that set changes (only where {@code
   * prover.worker} is told the queue is sharded) and every {@code announce-interval} ({@code
   * periodic}); a front passes it on to every entity of the worker's types.
   *
   * <p>An entity uses it twice: it counts the slots the worker spends on other entities' tasks, so
   * it never hands the worker more than its capacity in all; and a task it handed this worker that
   * is missing from the worker's reports for {@code prover.queue.lost-after} was lost between nodes
   * (a dispatch or a report that never arrived), so it is put back instead of waiting for its
   * lease.
   *
   * <p>{@code orphanedTaskIds}, empty nearly always: the tasks whose queue entity stopped while
   * this worker held them (its queue node left or died) and that no queue has handed out again
   * since, those still held and those whose result the worker sent through its queue front and
   * keeps for 2 minutes. The entity's new life hands such a task back to this worker when its flow
   * sends it again, rather than to another worker to compute a second time; the worker reports on
   * its compute or answers with the kept result. Null from a sender that does not know the field
   * reads as empty.
   *
   * <p>{@code orphanedRunIds}: the sequencer run of each of those tasks, in the same order (task
   * ids start again with each run: the new life hands back only the task of that id and run).
   *
   * <p>{@code waitingTaskIds}: those of {@code heldTaskIds} that wait for a slot here, not started
   * yet (handed beyond the free slots, or a later attempt waiting for its cancelled compute to
   * return). Their entity's lease counts from when they start, not from their dispatch: a task
   * waiting behind another entity's proof does not overrun; and their entity may withdraw those
   * waiting for a slot ({@link WorkerCommand.Withdraw}) when it sees a free slot elsewhere. Null
   * from a sender that does not know the field reads as empty.
   */
  record WorkerLoad(
      ActorRef<WorkerCommand> worker,
      String workerId,
      String incarnation,
      List<String> heldTaskIds,
      boolean periodic,
      List<String> orphanedTaskIds,
      List<String> orphanedRunIds,
      List<String> waitingTaskIds)
      implements QueueCommand {
    public WorkerLoad {
      orphanedTaskIds = orphanedTaskIds == null ? List.of() : orphanedTaskIds;
      orphanedRunIds = orphanedRunIds == null ? List.of() : orphanedRunIds;
      waitingTaskIds = waitingTaskIds == null ? List.of() : waitingTaskIds;
      if (orphanedRunIds.size() != orphanedTaskIds.size()) {
        throw new IllegalArgumentException(
            "a load report names the run of each orphaned task: "
                + orphanedTaskIds.size()
                + " task(s), "
                + orphanedRunIds.size()
                + " run(s)");
      }
    }

    /** A load report that names no orphaned task, and no task waiting for a slot. */
    public WorkerLoad(
        ActorRef<WorkerCommand> worker,
        String workerId,
        String incarnation,
        List<String> heldTaskIds,
        boolean periodic) {
      this(worker, workerId, incarnation, heldTaskIds, periodic, List.of(), List.of(), List.of());
    }
  }

  /**
   * This worker incarnation is going down on purpose, right before its supervisor restarts it: a
   * compute crashed it ({@link WorkerFault} or an {@link Error}), a task hung past its lease and
   * ignored its cancellation, or a prepare failed. The queue puts back at once everything the
   * incarnation held: each task in {@code causedBy} spends one of its {@code max-worker-losses} (so
   * a task that crashes every worker still ends as poison), the others go back without spending
   * anything, because they did nothing wrong.
   *
   * @param causedBy ids of the tasks whose compute brought the worker down; empty when none did (a
   *     failed prepare)
   * @param reason what happened, for the log and a failed task's reason
   * @param drainOver it does not crash: its node shuts down and its drain's time ({@link
   *     WorkerCommand.Drain}) is over with these computes still running. Counted apart ({@code
   *     drain_over}), so that a drain timeout too short for the proofs shows in the metrics
   */
  record WorkerGoingDown(
      ActorRef<WorkerCommand> worker,
      String workerId,
      String incarnation,
      List<String> causedBy,
      String reason,
      boolean drainOver)
      implements QueueCommand {
    /** A worker that goes down on purpose (a crash, a hung compute, a failed prepare). */
    public WorkerGoingDown(
        ActorRef<WorkerCommand> worker,
        String workerId,
        String incarnation,
        List<String> causedBy,
        String reason) {
      this(worker, workerId, incarnation, causedBy, reason, false);
    }
  }

  /**
   * A task ran to completion on a worker.
   *
   * <p>Each of the three reports names the task by its id and by the sequencer run its envelope
   * carried ({@link TaskEnvelope#runId}): task ids start again with each run, and the queue takes a
   * report only for the task of that id and that run, so that a compute of an earlier run that ends
   * after a newer run pushed a task of the same id never answers for it.
   */
  record TaskSucceeded(
      String workerId,
      String incarnation,
      String taskId,
      String runId,
      String taskType,
      int attempt,
      @JsonSerialize(using = AnyValue.Serializer.class)
          @JsonDeserialize(using = AnyValue.Deserializer.class)
          Object result)
      implements QueueCommand {}

  /** A task's compute threw. {@code retryable} is false when running it again cannot help. */
  record TaskFailed(
      String workerId,
      String incarnation,
      String taskId,
      String runId,
      String taskType,
      int attempt,
      String reason,
      boolean retryable)
      implements QueueCommand {}

  /**
   * A worker refused a task it was handed, before starting it. The task spends nothing and goes
   * back to the head of its queue.
   *
   * @param reason why, for the log
   * @param noFreeSlot true when it is the answer to a {@link WorkerCommand.Withdraw}: the task
   *     waited there for a slot, all taken (in a cluster two entities may each hand a worker its
   *     last free slot); its queue counts no free slot on that worker until its next load report,
   *     and hands the task to the worker it saw with room. False when the worker does not serve the
   *     type in its current state (a registration race, a drain, an id it holds for another run):
   *     its queue hands it no task of that type until its next announcement.
   */
  record TaskDeclined(
      String workerId,
      String incarnation,
      String taskId,
      String runId,
      String taskType,
      int attempt,
      String reason,
      boolean noFreeSlot)
      implements QueueCommand {

    /** A decline of a type the worker does not serve in its state ({@code noFreeSlot} false). */
    public TaskDeclined(
        String workerId,
        String incarnation,
        String taskId,
        String runId,
        String taskType,
        int attempt,
        String reason) {
      this(workerId, incarnation, taskId, runId, taskType, attempt, reason, false);
    }
  }

  /**
   * Several worker reports for one queue in one message: a worker gathers the reports it makes
   * while handling the messages already in its mailbox and sends them together, one message per
   * queue (entity) that dispatched the tasks, so that results cross the network in batches under
   * load and one by one when idle. (Three typed lists rather than one list of the interface:
   * Jackson then needs no type ids.)
   */
  record Reports(
      List<TaskSucceeded> succeeded, List<TaskFailed> failed, List<TaskDeclined> declined)
      implements QueueCommand {
    public int size() {
      return succeeded.size() + failed.size() + declined.size();
    }
  }

  // ---- anyone -> queue ----

  /**
   * Which of these tasks of one type does the queue not hold (pending, waiting out a retry backoff,
   * or in flight)? Answered with {@link MissingTasks}. A flow asks this about tasks whose outcome
   * is long overdue, and sends again only those that are missing: a long queue is not a lost
   * message.
   */
  record CheckHeld(String taskType, List<String> taskIds, ActorRef<MissingTasks> replyTo)
      implements QueueCommand {}

  /** Asks for the queue's counters. */
  record GetStats(ActorRef<QueueStats> replyTo) implements QueueCommand {}

  /**
   * Asks for the fleet as the queue sees it: every worker it knows (state, types, load, what it
   * did, when it was last heard from), each type's queue with its run times, and its recent
   * failures. In a cluster the front asks every entity and merges their answers ({@link
   * FleetView#merge}). For the status API and the autoscaling signal; not on any hot path.
   */
  record GetFleet(ActorRef<FleetView> replyTo) implements QueueCommand {}

  // ---- queue front -> queue front ----

  /**
   * A front on a node with the queue role offers itself to the front of a node without it that it
   * saw join (member Up): that front then sends its workers' announcements, load reports and
   * going-down notices through the offering front, which routes them into its own shard region. A
   * worker node's own shard region proxy can route only once the shard coordinator has taken it,
   * and the coordinator takes it only after its own node has seen the new member Up by gossip, up
   * to a gossip round after the node itself or another queue node did: the relay lets a joining
   * node's workers register within one round trip of the first sighting of its Up.
   *
   * @param front the offering front, at the same path on its node as the receiving front on its
   */
  record RelayOffer(ActorRef<QueueCommand> front) implements QueueCommand {}

  /**
   * A front on a node with the queue role whose node has begun to shut down (CoordinatedShutdown,
   * phase {@code before-cluster-shutdown}) to the front of every node without the role: send
   * nothing more through it, choose another queue node now. Its shard region is about to hand its
   * shards off and stop, which comes before its member is marked Leaving; without this a relaying
   * front would go on sending its workers' reports and load reports into a region that is gone
   * until it sees the Leaving, and those sent in between would be lost.
   *
   * @param front the withdrawing front
   */
  record RelayWithdrawn(ActorRef<QueueCommand> front) implements QueueCommand {}
}
