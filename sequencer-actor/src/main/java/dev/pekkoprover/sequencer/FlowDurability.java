package dev.pekkoprover.sequencer;

import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.slf4j.Logger;

/**
 * A flow's durable side ({@link FlowRunner.Durable}): its tasks' content keys, finding results in
 * the store, claiming a key so that one flow computes what several push, and writing results. A
 * plain class holding one flow actor's state (its {@link ContentKeys} are not thread-safe); it
 * decides where a task goes and the flow acts on it.
 *
 * <p>What a reader must not miss: a claim must always be settled, with the result or with null (the
 * task failed, the flow ended), or the flows waiting on the key wait forever: {@link #giveUp} and
 * {@link #releaseClaims}.
 *
 * <p>Every task of a durable flow is a {@link PendingTask.Keyed} ({@link FlowRunner}'s push makes
 * them so), which holds what this class keeps per task.
 */
final class FlowDurability {

  /** Where a task goes after {@link #place}. */
  enum Placement {
    /**
     * Its result was stored (or computed by another flow): {@code task.result} holds it, stage
     * SETTLED.
     */
    REUSED,
    /** It runs here: send {@code task.envelope} to the queue (stage QUEUED). */
    RUN,
    /**
     * Another flow computes the same key: its {@link FlowRunner.ClaimSettled} ends the wait (stage
     * WAITING).
     */
    WAIT
  }

  private final FlowRunner.Durable durable;
  private final ContentKeys keys;
  private final ActorRef<FlowRunner.Command> self;
  private final ActorRef<ResultWriter.Stored> stored;
  private final Logger log;
  private final String flowId;

  /**
   * @param self the flow, which waiting flows tell when a claim it waits on settles
   * @param stored where the writer confirms a result written (the flow's adapter)
   */
  FlowDurability(
      FlowRunner.Durable durable,
      ContentKeys keys,
      ActorRef<FlowRunner.Command> self,
      ActorRef<ResultWriter.Stored> stored,
      Logger log,
      String flowId) {
    this.durable = durable;
    this.keys = keys;
    this.self = self;
    this.stored = stored;
    this.log = log;
    this.flowId = flowId;
  }

  /** Sets the task's content key; throws when its input cannot be serialised. */
  void key(PendingTask task, Object input) {
    keyed(task).key = keys.keyOf(task.type, input, durable.parametersDigest());
  }

  /**
   * A keyed task: found in the store, waiting on the flow that claimed its key, or claimed to run
   * here.
   */
  Placement place(PendingTask pushed) {
    PendingTask.Keyed task = keyed(pushed);
    ResultIndex index = durable.index();
    StoredResult found = index.lookup(task.key);
    ResultIndex.ClaimOutcome outcome =
        found != null ? new ResultIndex.Found(found) : index.claim(task.key, self, task.sequence());
    if (outcome instanceof ResultIndex.Found stored) {
      Object value = load(task, stored.result());
      task.stage =
          value == null
              ? PendingTask.QUEUED
              : PendingTask.SETTLED; // unreadable now: computed again
      task.result = value;
      return value == null ? Placement.RUN : Placement.REUSED;
    }
    if (outcome instanceof ResultIndex.Owned owned) {
      task.claim = owned.claim();
      task.stage = PendingTask.QUEUED;
      return Placement.RUN;
    }
    task.stage = PendingTask.WAITING;
    return Placement.WAIT;
  }

  /**
   * Another flow settled the claim the task waited on: REUSED with its result, or, when it gave the
   * key up (null) or the value is not of the task's result type, placed anew (this flow runs it, or
   * waits on a third).
   */
  Placement claimSettled(PendingTask task, Object result) {
    if (result != null && task.type.resultType().isInstance(result)) {
      keyed(task).result = result;
      task.stage = PendingTask.SETTLED;
      return Placement.REUSED;
    }
    return place(task);
  }

  /**
   * Sends a task's result to the store (stage STORING); its callback waits for {@link #stored}.
   * Throws when the result cannot be serialised.
   */
  void store(PendingTask done, Object result) {
    PendingTask.Keyed task = keyed(done);
    StoredResult value = keys.toStored(task.key, task.type.name(), result);
    task.stage = PendingTask.STORING;
    task.result = result;
    durable.writer().tell(new ResultWriter.Put(value, stored, task.sequence()));
  }

  /**
   * The store confirmed these writes: each task still storing becomes SETTLED, goes to {@code
   * settled}, and the flows waiting on its key get its result.
   */
  void stored(ResultWriter.Stored confirmed, PendingTasks pending, Consumer<PendingTask> settled) {
    for (Long n : confirmed.tokens()) {
      PendingTask found = pending.get(n);
      if (found == null || found.stage != PendingTask.STORING) {
        continue;
      }
      PendingTask.Keyed task = keyed(found);
      task.stage = PendingTask.SETTLED;
      settled.accept(task);
      if (task.claim != null) {
        settleClaim(task, task.result);
      }
    }
  }

  /**
   * The task will not bring its key's result (it failed): the flows waiting on it run the task
   * themselves.
   */
  void giveUp(PendingTask task) {
    PendingTask.Keyed keyed = keyed(task);
    if (keyed.claim != null) {
      settleClaim(keyed, null);
    }
  }

  /** Gives up every claim the flow still holds: their results will not come from it. */
  void releaseClaims(PendingTasks pending) {
    pending.forEach(this::giveUp);
  }

  /** The result of a task that is SETTLED. */
  static Object result(PendingTask task) {
    return keyed(task).result;
  }

  private static PendingTask.Keyed keyed(PendingTask task) {
    return (PendingTask.Keyed) task;
  }

  /**
   * Ends this task's claim: the flows waiting on its key get {@code result}, or run their own task
   * when null.
   */
  private void settleClaim(PendingTask.Keyed task, Object result) {
    for (ResultIndex.Waiter waiter : durable.index().settle(task.key, task.claim)) {
      waiter.flow().tell(new FlowRunner.ClaimSettled(waiter.sequence(), result));
    }
    task.claim = null;
  }

  /** A stored value, or null (with a WARN) when it no longer reads as the task's result type. */
  private Object load(PendingTask task, StoredResult stored) {
    try {
      Object value = keys.fromStored(stored);
      if (task.type.resultType().isInstance(value)) {
        return value;
      }
      log.warn(
          "Flow {}: the stored result under {} is a {}, not a {}: computing it again",
          flowId,
          stored.key(),
          value == null ? "null" : value.getClass().getName(),
          task.type.resultType().getName());
    } catch (RuntimeException e) {
      log.warn(
          "Flow {}: the stored result under {} does not deserialise ({}): computing it again",
          flowId,
          stored.key(),
          e.toString());
    }
    return null;
  }
}
