package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The task queue's bookkeeping, without an actor: pending tasks per type, which worker holds which
 * task, leases, failure counts and counters. An actor (or a test) calls it with what happened and
 * receives through {@link Effects} what to send. Not thread-safe: one owner calls it.
 *
 * <p>The one thing not to miss: after every call, no type has a pending task while a worker serving
 * that type has a free slot. Dispatch keeps that invariant cheaply, because each call only changes
 * the free slots of one worker or the pending tasks of one type.
 *
 * <p>How it stays O(1) per task on the success path: tasks are found by id in one map; a task's own
 * record is also its element in two {@link IntrusiveList}s (its type's in-flight list, ordered by
 * dispatch time and so by lease deadline, and its worker's held list), so finishing one unlinks it
 * without searching or allocating. The workers serving a type stand in a {@link WorkerLadder},
 * which names the one with the most free slots, ties round-robin.
 *
 * <p>Slots: a worker holds at most its capacity. A task whose lease overran is put back, but its
 * worker's slot stays taken ("zombie") until that worker reports on it, restarts or terminates, so
 * a hung worker gets no more work.
 *
 * <p>Prefetch: tasks of a cheap type ({@link dev.pekkoprover.protocol.TaskType#runsInline()},
 * registration excepted) may go to a worker beyond its free slots, up to {@link
 * QueueSettings#inlinePrefetch()} more, so that across processes a slot does not idle for a round
 * trip per task; the worker runs such a task the moment it arrives. Other types never get more than
 * the free slots, and the tasks in flight beyond them count as taken slots, so a worker serving
 * both kinds gets a task of another type only once it is back under its capacity. It gets
 * prefetched tasks only while none of its other types has tasks waiting, and a freed slot still
 * goes to the first task across its types (in the order below), so cheap tasks cannot keep a proof
 * of their own or an older flow from its slot.
 *
 * <p>Order: pending tasks go out oldest flow first ({@link TaskEnvelope#flowSeq}, the order in
 * which the sequencer started their flows), and within a flow, tasks put back first, then in the
 * order they came; across the types a worker serves, the same order decides. A job's first batch is
 * so proven before its last, as the rollup provers' brokers hand out the oldest batch's jobs first
 * (zkSync's and Scroll's by batch, Aztec's by epoch), instead of every batch finishing at the end
 * together. Tasks of one flow (or of no flow, all 0) go out first come, first served. The order is
 * strict: a newer flow's tasks get the slots the older flows leave free, so a flow that keeps a
 * fleet busy for hours holds back every later one (as it should when batches settle in order; a
 * flow that must overtake is one to start earlier, or to run on a fleet of its own).
 *
 * <p>Failure classes (the README has the table): what is the task's own fault spends one of its
 * {@code max-attempts} (a compute that threw, a lease overrun on a live worker); what is
 * infrastructure spends one of its {@code max-worker-losses} (its worker terminated, restarted, was
 * unreachable, a message was lost in transit, or the task crashed the worker); a task that only ran
 * beside the task that crashed its worker spends nothing. A lease overrun on a worker that then
 * goes away turns from an attempt into a loss. Each budget bounds its class on its own.
 *
 * <p>Shared slots: in a cluster each type (partition) is its own queue entity, so a worker serving
 * several types is known to several entities. The worker's load reports ({@link #workerLoad}) tell
 * each entity how many slots the worker spends on tasks it did not hand out itself; the same
 * reports reveal a task that never reached the worker, or whose report never came back.
 *
 * <p>Declines: a worker declines a task of a type it does not serve in its current state; the
 * declined task goes to another eligible worker, and the decliner gets no more of that type until
 * its next announcement, so a decline can never bounce between the queue and one worker. Where the
 * queue is sharded, a task may wait on its worker for a slot another entity filled; when this
 * entity has nothing pending and a worker with room, it withdraws the task ({@link
 * Effects#withdraw}, one at a time, once per task), and the worker's answer, a decline marked no
 * free slot, puts it on the worker with room.
 *
 * @param <W> how a worker is addressed ({@code ActorRef<WorkerCommand>} in the actor)
 * @param <R> how a flow is addressed ({@code ActorRef<TaskOutcome>} in the actor)
 */
public final class TaskQueueState<W, R> {

  /** What the queue must send or schedule as a consequence of a call. */
  public interface Effects<W, R> {
    /** Hand this task to this worker. Hot path. */
    void dispatch(W worker, TaskEnvelope task);

    /**
     * Tell a flow the one final outcome of its task. Hot path for {@link TaskOutcome.Succeeded}.
     */
    void reply(R replyTo, TaskOutcome outcome);

    /**
     * A compute failed on that worker, or crashed it, and will be retried: call {@link
     * #retryDue(String)} with this task's id after the backoff for {@code failures} (the failures
     * of that kind so far).
     *
     * @param reason what happened and how much of the task's budget is spent, for the log
     */
    void retryLater(TaskEnvelope task, String workerId, int failures, String reason);

    /**
     * A task was put back at the head of its queue ({@code task} carries the next delivery's
     * attempt number); {@code budget} says what it has spent of its attempts and worker losses.
     */
    void putBack(TaskEnvelope task, String workerId, Redelivery cause, String budget);

    /**
     * Tell this worker to stop a task it may still hold: the queue has put it back (lease overrun,
     * unreachable node), its flow is gone, or a newer sequencer run took over. {@code runId} is the
     * task's run: the worker may hold a newer run's task under the same id, which goes on. Rare;
     * the actor gathers them into one message per worker and run.
     */
    void cancel(W worker, String taskId, String runId, String reason);

    /**
     * Ask this worker to hand back a task that waits there for a slot, if it has not started (a
     * worker with room for it is idle meanwhile): it answers with a decline marked {@code
     * noFreeSlot}, or not at all if the task has started. Rare.
     */
    default void withdraw(W worker, String taskId, String runId) {}

    /**
     * A task's result from the worker that held it went to its flow: how long the task waited for
     * that dispatch (since it was enqueued or last put back) and how long the run took (dispatch to
     * result). A task that waited on its worker for a slot counts that wait as waiting: its run
     * starts at the load report that showed it started. For the wait and run histograms. Hot path:
     * one call per completed task.
     */
    default void completed(String taskType, long waitNanos, long runNanos) {}

    /**
     * A task its flow sent again (its queue entity moved) went back to the worker that held it
     * already for the entity's earlier life ({@link TaskQueueState#workerLoad(String, String,
     * Collection, List, List)}), instead of to another worker to compute again. Rare.
     */
    default void handedBack(TaskEnvelope task, String workerId) {}

    /**
     * A newer sequencer run began ({@link TaskQueueState#runStarted}): the tasks of older runs this
     * queue held are given up, {@code dropped} waiting ones dropped and {@code cancelled} in flight
     * cancelled on their workers. Once per newer run, where the queue held any.
     */
    default void superseded(String runId, int dropped, int cancelled) {}

    /**
     * A task of a run older than {@code latestRun}, which started here, came after that run had
     * started: dropped, unanswered (that run is over, its flows gone). Rare: a late message of a
     * sequencer that handed over.
     */
    default void runOver(TaskEnvelope task, String latestRun) {}
  }

  /** Why a task in flight went back to its queue. */
  public enum Redelivery {
    DECLINED("declined by worker %s"),
    NO_FREE_SLOT(
        "withdrawn from worker %s, where it waited for a slot another queue entity had filled, for a"
            + " worker with room"),
    LEASE_OVERRUN("lease overran on worker %s"),
    WORKER_TERMINATED("worker %s terminated"),
    WORKER_RESTARTED("worker %s restarted (new incarnation)"),
    WORKER_CRASHED("it crashed worker %s"),
    CRASH_COLLATERAL(
        "worker %s went down, not because of this task (see its reason); this one spends nothing"),
    /**
     * The worker restarted to abandon this task's compute, which overran its lease and did not
     * return within the cancel grace after it was told to stop (hung for good): the overrun spent
     * the attempt, and the restart it forced spends nothing more.
     */
    HUNG_ABANDONED(
        "worker %s restarted to abandon its compute of this task, which overran its lease and"
            + " ignored its cancellation (the overrun spent the attempt; this spends nothing more)"),
    WORKER_UNREACHABLE("worker %s is on an unreachable node"),
    DRAIN_OVER(
        "worker %s still computed it when its node's drain time was over; it spends nothing"),
    LOST_IN_TRANSIT(
        "worker %s does not have it: the dispatch or its report was lost between nodes");

    private final String format;

    Redelivery(String format) {
      this.format = format;
    }

    /** For log lines: "lease overran on worker w-1". */
    public String describe(String workerId) {
      return String.format(format, workerId);
    }

    /** Whether this cause spends one of the task's worker losses. */
    boolean spendsALoss() {
      return this != DECLINED
          && this != NO_FREE_SLOT
          && this != LEASE_OVERRUN
          && this != CRASH_COLLATERAL
          && this != HUNG_ABANDONED
          && this != DRAIN_OVER;
    }
  }

  /** Where a task is. */
  private enum TaskState {
    PENDING,
    IN_FLIGHT,
    /** Waiting out a retry backoff after a failed compute. */
    BACKOFF,
    /** Finished, failed for good or dropped: no longer indexed anywhere. */
    DONE
  }

  private final TaskCatalog catalog;
  private final QueueSettings settings;
  private final Effects<W, R> effects;
  private final LongSupplier nanoClock;
  private final Map<String, TypeQueue> types = new HashMap<>();
  private final List<TypeQueue> typeList;

  /** Every task held (pending, backing off or in flight), by id. */
  private final IdTable<Task> tasks = new IdTable<>(1 << 13);

  private final Map<String, KnownWorker> workers = new HashMap<>();
  private final long lostAfterNanos;

  /** {@link QueueSettings#inlinePrefetch()}. */
  private final int prefetch;

  private final ArrayList<Task> scratch = new ArrayList<>();

  /**
   * Tasks that workers hold although the queue entity that handed them out has stopped (their load
   * reports' {@code orphanedTaskIds}) and that this queue does not hold yet, by task id, with the
   * worker incarnation that holds each: when a flow sends one of them again, it is handed back to
   * that worker ({@link #handBack}), which computes it already or answers with its result, rather
   * than to another worker to compute a second time. Empty unless a queue entity moved while
   * workers ran its tasks (a queue node left or died); then at most the workers' slots.
   */
  private final Map<String, Orphan> orphans = new HashMap<>();

  /**
   * An entry of {@link #orphans}: the worker, the incarnation of it that holds the task, and
   * whether the task takes one of its slots ({@code held}: it computes it still) or not (it keeps
   * the result it sent, to answer with).
   */
  private final class Orphan {
    final KnownWorker worker;
    final String incarnation;
    final boolean held;

    /** The run of the task the worker holds under that id: only that run's task goes back. */
    final String runId;

    Orphan(KnownWorker worker, String incarnation, boolean held, String runId) {
      this.worker = worker;
      this.incarnation = incarnation;
      this.held = held;
      this.runId = runId;
    }
  }

  private long unknownResults;

  private long repeatedEnqueues;

  /** The newest sequencer run of the tasks enqueued here; null before the first. */
  private String latestRun;

  /**
   * The fleet view's counts of the workers forgotten lately ({@link #workerTerminated}), by id,
   * oldest first: a worker back under its id (its node restarted after the cluster removed the old
   * one, a few seconds after a kill) goes on from them, its restart counted, as a worker restarted
   * before it was forgotten does. At most {@link FleetView.DepartedWorker#KEEP}, each for {@link
   * FleetView.DepartedWorker#KEEP_MILLIS}, as the fleet view's departed workers.
   */
  private final LinkedHashMap<String, Forgotten> forgotten = new LinkedHashMap<>();

  private record Forgotten(
      String incarnation, long done, long failed, int restarts, long atNanos) {}

  /**
   * The clock reading of the call in progress, where one call reads the clock once for several uses
   * (a result's run time and the dispatch its freed slot makes); {@link #NO_TIME} outside such a
   * call. The clock is the one cost of timing on the hot path, so each call reads it at most once.
   */
  private long callTime = NO_TIME;

  private static final long NO_TIME = Long.MIN_VALUE;

  /**
   * A type's list of stale seats is worked off at this length even if the type gets no task, so
   * that it does not grow without bound (each announcement of a worker makes new seats).
   */
  static final int MAX_STALE_SEATS = 1024;

  private final boolean measureWaits;

  /**
   * Tasks accepted so far: each task's sequence number, so a worker's free slot goes to its oldest
   * task.
   */
  private long enqueued;

  /**
   * @param catalog the task types this queue accepts; one queue per type
   * @param nanoClock monotonic time in nanoseconds ({@code System::nanoTime}; a manual clock in
   *     tests)
   */
  public TaskQueueState(
      TaskCatalog catalog, QueueSettings settings, Effects<W, R> effects, LongSupplier nanoClock) {
    this(catalog, settings, effects, nanoClock, true);
  }

  /**
   * @param measureWaits whether to time how long tasks wait, for {@link Effects#completed}: one
   *     clock reading at the enqueue of a task that cannot be dispatched at once. Off where nobody
   *     reads the wait ({@code prover.metrics.enabled = off}); run times are measured either way
   *     (the fleet view and the autoscaling signal need them) at no extra reading where the
   *     result's freed slot is refilled at once.
   */
  public TaskQueueState(
      TaskCatalog catalog,
      QueueSettings settings,
      Effects<W, R> effects,
      LongSupplier nanoClock,
      boolean measureWaits) {
    this.measureWaits = measureWaits;
    this.catalog = catalog;
    this.settings = settings;
    this.effects = effects;
    this.nanoClock = nanoClock;
    this.lostAfterNanos = settings.lostAfter().toNanos();
    this.prefetch = settings.inlinePrefetch();
    for (String name : catalog.names()) {
      boolean prefetched =
          prefetch > 0
              && catalog.get(name).runsInline()
              && !name.equals(WorkerRegistrationTask.NAME);
      types.put(name, new TypeQueue(name, settings.leaseFor(name).toNanos(), prefetched));
    }
    this.typeList = List.copyOf(types.values());
  }

  // ---- flows ----

  /**
   * Adds a task behind the pending tasks of its flow (and of older flows), or replies {@link
   * TaskOutcome.Rejected} (unknown type, a payload that could not cross a node, a task id already
   * queued).
   */
  public void enqueue(TaskEnvelope envelope, R replyTo) {
    TypeQueue type = types.get(envelope.taskType());
    if (type == null) {
      reject(envelope, replyTo, catalog.unknownTypeMessage(envelope.taskType()));
      return;
    }
    Object payload = envelope.payload();
    if (payload != null && !AnyValue.isAllowed(payload.getClass())) {
      type.rejected++;
      reject(
          envelope,
          replyTo,
          "payload of class "
              + payload.getClass().getName()
              + " cannot travel as a task input: make it a record implementing "
              + CborSerializable.class.getName()
              + " (or use String, Long, Integer, Boolean, Double or BigInteger)");
      return;
    }
    String runId = envelope.runId();
    if (runId != latestRun && runId != null && !runStillOn(runId)) {
      effects.runOver(envelope, latestRun);
      return;
    }
    Task task = new Task(envelope, replyTo, type, ++enqueued);
    if (tasks.putIfAbsent(task) != null) {
      // Enqueue is idempotent: a flow sends a task again when its outcome is overdue (the first
      // Enqueue or the
      // outcome may have been lost between nodes, or a queue entity that moved lost it); while the
      // queue still
      // holds the task, the repeat changes nothing.
      repeatedEnqueues++;
      return;
    }
    if (!orphans.isEmpty() && handBackOrphan(task)) {
      return;
    }
    if (!holds.isEmpty() && heldAt(replyTo)) { // its node is unreachable here
      park(task);
      return;
    }
    type.pending.addLast(task);
    type.refreshLadder();
    if (type.ladder.hasFreeSlot()) {
      dispatch(type); // a task dispatched at once waited no time: its stamp is its dispatch's (see
      // start)
    }
    if (task.state == TaskState.PENDING && measureWaits) {
      task.pendingSince = callTime != NO_TIME ? callTime : nanoClock.getAsLong();
    }
  }

  /**
   * Enqueues the tasks of one message (a flow's fan-out) as {@link #enqueue} does each, stamped
   * with one clock reading: their enqueue and the dispatches it makes happen at the same moment to
   * within the message's handling, and a clock reading per task was a measurable part of a
   * microsecond task's cost.
   */
  public void enqueueAll(List<TaskEnvelope> envelopes, R replyTo) {
    if (envelopes.size() == 1) {
      enqueue(envelopes.get(0), replyTo);
      return;
    }
    callTime = nanoClock.getAsLong();
    try {
      for (TaskEnvelope envelope : envelopes) {
        enqueue(envelope, replyTo);
      }
    } finally {
      callTime = NO_TIME;
    }
  }

  /**
   * Sequencer run {@code runId} has begun: its first task came here, or its start was announced
   * ({@link dev.pekkoprover.protocol.QueueCommand.RunStarted}, which the queue front of the
   * sequencer's node sends every entity at the run's first task, and {@link
   * dev.pekkoprover.protocol.QueueCommand.RunCatalog}, at its registration offers), so that an
   * entity whose types the new run has not reached yet learns of it too. When it is newer than
   * every run before it here, the older runs' tasks are given up ({@link #supersedeOlderRuns}); the
   * same or an older run changes nothing. Without the announcement an entity kept workers on the
   * older run's tasks and then handed them to workers registered for the newer run, which failed
   * each for good (a worker WARN and a queue ERROR per task after a takeover).
   *
   * @param runId a {@link RunIds} id; null (tests' tasks without a run) changes nothing
   */
  public void runStarted(String runId) {
    if (runId != null && runId != latestRun) {
      runStillOn(runId);
    }
  }

  /**
   * A task of run {@code runId} (not null, not the instance {@link #latestRun}) came: a newer run
   * starts here ({@link #runStarted}); false when it is a {@link RunIds} run older than one that
   * started here, which is over: a late Enqueue of a sequencer that has handed over, whose task
   * would go to a worker registered for the newer run and fail there for good. One comparison of
   * the ids where the same run's id is another instance (a task from another node).
   */
  private boolean runStillOn(String runId) {
    if (latestRun == null) {
      latestRun = runId;
      return true;
    }
    int order = runId.compareTo(latestRun);
    if (order > 0) {
      supersedeOlderRuns(runId);
      latestRun = runId;
      // Every worker registered so far holds an older run's parameters and must register again: an
      // Unprepared announcement from now on is that, not one overtaken by an older registration's
      // result. The mark is otherwise cleared only by an announcement past Unprepared reaching this
      // entity, which nothing guarantees (the front routes it here only while it remembers the
      // worker's previous types); left set, it hid the worker from every later run's registration.
      for (KnownWorker w : workers.values()) {
        w.justRegistered = false;
      }
      return true;
    }
    return order == 0 || !RunIds.isRunId(runId) || !RunIds.isRunId(latestRun);
  }

  /**
   * A run newer than every run before it here has begun: a sequencer has only one run at a time, so
   * the older runs are over, their flows gone, and results of theirs would be dropped. Their tasks
   * are given up: those waiting are dropped, and those in flight are cancelled on their workers
   * (each worker's slot stays counted until it reports), so that the fleet stops spending its time
   * on them and their ids, which start again with each run, are free for the newer run's tasks
   * (registration offers too: their ids repeat in every run, and a worker registered with an older
   * run's parameters registers again on the newer run's first task). A scan: runs change rarely.
   */
  private void supersedeOlderRuns(String runId) {
    GivenUp given =
        giveUp(
            t -> RunIds.isNewer(runId, t.envelope.runId()),
            t -> "run " + t.envelope.runId() + " is over: run " + runId + " took over");
    if (given.dropped() + given.cancelled() > 0) {
      effects.superseded(runId, given.dropped(), given.cancelled());
    }
  }

  /**
   * How many tasks {@link #giveUp} dropped (waiting: pending or in a retry backoff) and cancelled
   * (in flight).
   */
  public record GivenUp(int dropped, int cancelled) {}

  /**
   * The flows that {@code gone} matches are gone for good: their node was removed from the cluster
   * (killed and downed, or partitioned off and downed), so no outcome can reach them and a new
   * sequencer run sends what they wanted again. Their waiting tasks are dropped and those in flight
   * cancelled on their workers, as a newer run's start does ({@link #runStarted}), so that the
   * fleet stops computing for them: without it the workers went through all of a dead sequencer's
   * pending tasks until its successor's run began (a trial: 11,460 tasks, 28% of a job, computed
   * for nothing). A scan: nodes leave rarely.
   *
   * @param gone true for a reply destination on the removed node
   * @param why the cancel's reason, for the workers' log
   */
  public GivenUp repliesGone(Object key, java.util.function.Predicate<R> gone, String why) {
    holds.remove(key);
    GivenUp given = giveUp(t -> gone.test(t.replyTo), t -> why);
    heldBack.removeIf(task -> task.state == TaskState.DONE); // completed while held, too
    return given;
  }

  /**
   * Tasks held back while their flow's node is unreachable ({@link #holdBack}), in the order they
   * were held; each waits as in a retry backoff (state BACKOFF, {@code held} set, counted in its
   * type's {@code waiting}) until {@link #releaseHeld}. One dropped or completed meanwhile is DONE
   * here and skipped. Rare: a list, not a field of every task.
   */
  private final List<Task> heldBack = new ArrayList<>();

  /**
   * The holds in force: a node's key (its address) to the test of a reply destination on it. A task
   * of such a flow that would become pending (enqueued, put back, its retry due) is held instead.
   * Empty but for the seconds a node with flows here is unreachable.
   */
  private final Map<Object, java.util.function.Predicate<R>> holds = new HashMap<>();

  /**
   * The flows that {@code at} matches are on a node that is unreachable now (killed, paused or cut
   * off): their waiting tasks are held back, so that no worker starts one whose result may reach no
   * one, until the node is reachable again ({@link #releaseHeld}) or removed ({@link #repliesGone},
   * which drops them); and so is any of their tasks that would become pending meanwhile (put back
   * from a lost worker, as on a node that is sequencer and worker at once, or its retry due). Tasks
   * in flight go on: their results wait in the transport for a node that comes back. Before this,
   * the workers went on through a dead sequencer's tasks for the 12 s until its removal (a trial:
   * 16,642 computes of 1 ms thrown away). A node none of whose flows has a task here gets no hold.
   * Returns how many tasks were held back now. A scan: nodes become unreachable rarely.
   *
   * @param key the node (its address): {@link #releaseHeld} and {@link #repliesGone} name it so
   */
  public int holdBack(Object key, java.util.function.Predicate<R> at) {
    if (tasks.select(t -> at.test(t.replyTo)).isEmpty()) {
      return 0;
    }
    holds.put(key, at);
    List<Task> held = tasks.select(t -> t.state == TaskState.PENDING && at.test(t.replyTo));
    for (Task task : held) { // in any order: releaseHeld puts them back by age
      park(task);
    }
    if (!held.isEmpty()) {
      for (TypeQueue type : typeList) {
        type.pending.removeIf(task -> task.held);
      }
    }
    return held.size();
  }

  /** A task of a held flow waits as held, out of its queue (the caller takes it out of it). */
  private void park(Task task) {
    task.state = TaskState.BACKOFF;
    task.held = true;
    task.type.waiting++;
    heldBack.add(task);
  }

  /** Whether {@code replyTo} is on a node under a hold. */
  private boolean heldAt(R replyTo) {
    for (java.util.function.Predicate<R> at : holds.values()) {
      if (at.test(replyTo)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The node {@code key} is reachable again: the tasks held back for it go back to the head of
   * their queues, oldest first (by acceptance) and with their attempt numbers, and out to free
   * workers. Returns how many went back.
   */
  public int releaseHeld(Object key) {
    if (holds.remove(key) == null) {
      return 0;
    }
    List<Task> back = new ArrayList<>();
    heldBack.removeIf(
        task -> {
          if (task.state != TaskState.BACKOFF || !task.held) {
            return true; // dropped or completed meanwhile
          }
          if (heldAt(task.replyTo)) {
            return false; // another node's hold still covers it
          }
          back.add(task);
          return true;
        });
    back.sort(java.util.Comparator.comparingLong(t -> t.seq)); // by age, put-backs among them
    Set<TypeQueue> touched = new java.util.LinkedHashSet<>();
    for (int i = back.size() - 1; i >= 0; i--) { // to the head: the oldest last
      Task task = back.get(i);
      task.held = false;
      task.type.waiting--;
      task.state = TaskState.PENDING;
      task.pendingSince = nanoClock.getAsLong();
      task.type.pending.addFirst(task);
      touched.add(task.type);
    }
    for (TypeQueue type : touched) {
      dispatch(type);
    }
    return back.size();
  }

  /**
   * Gives up the tasks {@code which} matches: drops those waiting, cancels those in flight on their
   * workers (each worker's slot stays counted until it reports) and forgets them all.
   */
  private GivenUp giveUp(
      java.util.function.Predicate<Task> which,
      java.util.function.Function<Task, String> cancelReason) {
    int dropped = 0;
    int cancelled = 0;
    for (Task task : tasks.select(which)) {
      switch (task.state) {
        case IN_FLIGHT -> {
          KnownWorker w = task.holder;
          detach(task);
          w.addZombie(task.envelope.taskId());
          effects.cancel(
              w.ref, task.envelope.taskId(), task.envelope.runId(), cancelReason.apply(task));
          cancelled++;
        }
        case BACKOFF -> {
          task.type.waiting--;
          dropped++;
        }
        case PENDING -> dropped++;
        default -> {}
      }
      forget(task);
    }
    if (dropped > 0) {
      for (TypeQueue type : typeList) {
        type.pending.removeIf(task -> task.state == TaskState.DONE);
      }
      heldBack.removeIf(task -> task.state == TaskState.DONE); // a removed node's, held till now
    }
    return new GivenUp(dropped, cancelled);
  }

  /**
   * Drops a flow's pending tasks (also those waiting out a retry backoff); its tasks in flight
   * finish and their outcomes are dropped. Returns how many pending tasks were dropped. A scan:
   * flows are cancelled rarely.
   */
  public int cancelFlow(String flowId) {
    int dropped = 0;
    for (Task task : tasks.select(t -> Objects.equals(t.envelope.flowId(), flowId))) {
      if (task.state == TaskState.IN_FLIGHT) {
        task.cancelled = true;
        effects.cancel(
            task.holder.ref,
            task.envelope.taskId(),
            task.envelope.runId(),
            "flow " + flowId + " is over");
        continue;
      }
      if (task.state == TaskState.BACKOFF) {
        task.type.waiting--;
      }
      task.state = TaskState.DONE;
      tasks.remove(task.envelope.taskId());
      dropped++;
    }
    if (dropped > 0) {
      for (TypeQueue type : typeList) {
        type.pending.removeIf(task -> task.state == TaskState.DONE);
      }
      heldBack.removeIf(task -> task.state == TaskState.DONE);
    }
    return dropped;
  }

  // ---- workers ----

  /**
   * A worker serves these types with this capacity now. A new incarnation of a known worker puts
   * back everything its old incarnation still held here (each a worker loss, unless the old
   * incarnation said why it went down: {@link #workerGoingDown}). A repeated announcement also ends
   * a suspension after a decline. Types not in the catalog are ignored.
   */
  public void workerServes(
      String workerId, String incarnation, W worker, Set<String> taskTypes, int capacity) {
    workerServes(workerId, incarnation, worker, taskTypes, capacity, null);
  }

  /**
   * As {@link #workerServes(String, String, Object, Set, int)}, knowing the worker's state ({@code
   * null}: unknown). An announcement made while Unprepared that arrives after the worker's
   * registration result (announcements come through the worker node's front, results straight from
   * the worker, so they can cross) does not offer the worker the registration type again: it
   * registered, and would only decline.
   */
  public void workerServes(
      String workerId,
      String incarnation,
      W worker,
      Set<String> taskTypes,
      int capacity,
      WorkerState state) {
    KnownWorker w = workers.get(workerId);
    List<TypeQueue> touched = List.of();
    if (w == null) {
      w = new KnownWorker(workerId, incarnation, worker);
      workers.put(workerId, w);
      if (!forgotten.isEmpty()) {
        resumeCounts(w);
      }
    } else {
      w.ref = worker;
      if (!Objects.equals(w.incarnation, incarnation)) {
        touched = putBackAll(w, Redelivery.WORKER_RESTARTED, Set.of());
        dropOrphans(w);
        w.incarnation = incarnation;
        w.down = false;
        w.justRegistered = false;
        w.elsewhere = 0;
        w.restarts++;
      }
    }
    w.lastHeard = nanoClock.getAsLong();
    w.capacity = Math.max(0, capacity);
    w.unseatAll();
    List<Seat> seats = new ArrayList<>(taskTypes.size());
    // a draining worker (its node shuts down) names the types it served, and is seated for none
    for (String name : state == WorkerState.DRAINING ? Set.<String>of() : taskTypes) {
      TypeQueue type = types.get(name);
      if (type != null) {
        seats.add(new Seat(w, type));
      }
    }
    w.seats = seats.toArray(newSeats(0));
    w.prefetchSeats = (int) seats.stream().filter(seat -> seat.type.prefetched).count();
    if (state != null) {
      w.announced = state;
    }
    if (state != null && state != WorkerState.UNPREPARED) {
      w.justRegistered =
          false; // its announcement after the registration has come: later Unprepared ones are new
    }
    boolean staleUnprepared = w.justRegistered && state == WorkerState.UNPREPARED;
    int free = w.free();
    int extra = w.prefetchRoom();
    for (Seat seat : w.seats) {
      if (staleUnprepared && seat.type.name.equals(WorkerRegistrationTask.NAME)) {
        seat.suspended = true;
      } else {
        seat.type.ladder.add(
            seat,
            seat.type.prefetched
                ? free + extra
                : seat.type.registration ? w.roomFor(seat.type) : free);
      }
    }
    for (TypeQueue type : touched) {
      dispatch(type);
    }
    dispatchFor(w);
  }

  /**
   * A worker incarnation says it is going down (a compute crashed it, a task hung, a prepare
   * failed): everything it held goes back now. Tasks in {@code causedBy} spend a worker loss; the
   * others spend nothing. The worker gets no work until its next incarnation announces itself.
   * Ignored for an incarnation the queue does not know (already replaced). Returns the number of
   * tasks put back or given up.
   */
  public int workerGoingDown(String workerId, String incarnation, Set<String> causedBy) {
    return workerGoingDown(workerId, incarnation, causedBy, false);
  }

  /**
   * As {@link #workerGoingDown(String, String, Set)}; with {@code drainOver} the worker does not
   * crash but its node shuts down and its drain's time is over: what it held goes back as {@link
   * Redelivery#DRAIN_OVER}, spending nothing.
   */
  public int workerGoingDown(
      String workerId, String incarnation, Set<String> causedBy, boolean drainOver) {
    KnownWorker w = workers.get(workerId);
    if (w == null || !Objects.equals(w.incarnation, incarnation)) {
      return 0;
    }
    int held = w.busy - w.zombieCount();
    List<TypeQueue> touched =
        putBackAll(w, drainOver ? Redelivery.DRAIN_OVER : Redelivery.CRASH_COLLATERAL, causedBy);
    w.down = true;
    w.reseat();
    for (TypeQueue type : touched) {
      dispatch(type);
    }
    return held;
  }

  /**
   * A worker actor terminated: every task it held goes back (each a worker loss) and it is
   * forgotten. Returns the ids of the workers forgotten: none when no known worker has that address
   * (never registered).
   */
  public List<String> workerTerminated(W worker) {
    List<KnownWorker> gone = new ArrayList<>(1);
    for (KnownWorker w : workers.values()) {
      if (w.ref.equals(worker)) {
        gone.add(w);
      }
    }
    for (KnownWorker w : gone) {
      workers.remove(w.workerId);
      remember(w);
      dropOrphans(w);
      w.unseatAll();
      w.seats = newSeats(0);
      for (TypeQueue type : putBackAll(w, Redelivery.WORKER_TERMINATED, Set.of())) {
        dispatch(type);
      }
    }
    List<String> ids = new ArrayList<>(gone.size());
    for (KnownWorker w : gone) {
      ids.add(w.workerId);
    }
    return ids;
  }

  /** Keeps a forgotten worker's counts for {@link #resumeCounts}. */
  private void remember(KnownWorker w) {
    forgotten.remove(w.workerId);
    forgotten.put(
        w.workerId,
        new Forgotten(w.incarnation, w.done, w.failed, w.restarts, nanoClock.getAsLong()));
    if (forgotten.size() > FleetView.DepartedWorker.KEEP) {
      Iterator<String> oldest = forgotten.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
  }

  /**
   * A worker the queue did not know announced itself: when one of its id was forgotten within
   * {@link FleetView.DepartedWorker#KEEP_MILLIS}, its counts go on, with one more restart if the
   * incarnation is another.
   */
  private void resumeCounts(KnownWorker w) {
    Forgotten before = forgotten.remove(w.workerId);
    if (before == null
        || nanoClock.getAsLong() - before.atNanos()
            > FleetView.DepartedWorker.KEEP_MILLIS * 1_000_000) {
      return;
    }
    w.done = before.done();
    w.failed = before.failed();
    w.restarts = before.restarts() + (Objects.equals(before.incarnation(), w.incarnation) ? 0 : 1);
  }

  /**
   * The worker's node is unreachable: its tasks go back now (each a worker loss; a late result is
   * still taken if it comes first), the worker is told to cancel them, and it gets no work until
   * {@link #workerReachable}. Returns the number of tasks put back or given up.
   */
  public int workerUnreachable(String workerId) {
    KnownWorker w = workers.get(workerId);
    if (w == null || w.unreachable) {
      return 0;
    }
    int held = w.busy - w.zombieCount();
    for (Task task = w.held.first(); task != null; task = w.held.next(task)) {
      effects.cancel(
          w.ref,
          task.envelope.taskId(),
          task.envelope.runId(),
          "node unreachable; the queue put the task back");
    }
    List<TypeQueue> touched = putBackAll(w, Redelivery.WORKER_UNREACHABLE, Set.of());
    w.unreachable = true;
    w.reseat();
    for (TypeQueue type : touched) {
      dispatch(type);
    }
    return held;
  }

  /** The worker's node is reachable again: it gets work again. */
  public void workerReachable(String workerId) {
    KnownWorker w = workers.get(workerId);
    if (w == null || !w.unreachable) {
      return;
    }
    w.unreachable = false;
    w.reseat();
    dispatchFor(w);
  }

  /**
   * What a worker holds now (running, or handed to it beyond its free slots): every task id, from
   * any queue entity. Counts the slots it spends on tasks not held here; frees the slot of an
   * overrun task the worker no longer has; and puts back (a worker loss) a task held here that the
   * worker's reports have left out for {@code lost-after}: its dispatch or its report was lost
   * between nodes. Ignored for an unknown worker or incarnation.
   */
  public void workerLoad(String workerId, String incarnation, Collection<String> heldTaskIds) {
    workerLoad(workerId, incarnation, heldTaskIds, List.of(), List.of(), List.of());
  }

  /**
   * As {@link #workerLoad(String, String, Collection)}, with those of the held tasks that wait
   * there for a slot ({@code waitingTaskIds}, not started yet: in a cluster two entities may hand a
   * worker its last free slot at once). A task of this queue's named waiting has its lease start
   * again now, and once more at the first report that names it held but no longer waiting (it has
   * started): its lease bounds its compute, not the time it waited behind another entity's task.
   */
  public void workerLoad(
      String workerId,
      String incarnation,
      Collection<String> heldTaskIds,
      Collection<String> waitingTaskIds) {
    workerLoad(workerId, incarnation, heldTaskIds, waitingTaskIds, List.of(), List.of());
  }

  /**
   * As {@link #workerLoad(String, String, Collection, Collection)}, with the tasks whose queue
   * entity stopped while this worker held them ({@code orphanedTaskIds}, empty nearly always; held
   * still, or their result kept): each that waits here is handed back to this worker at once, and
   * so is each that this queue handed to another worker meanwhile (that copy is cancelled: this
   * worker started before the move); each that this queue does not hold yet is handed back when its
   * flow sends it again ({@link #orphans}). One waiting out a retry backoff here is left to it.
   * Each is matched by its id and its run ({@code orphanedRunIds}, in the same order): a task of
   * another run under that id is not it.
   */
  public void workerLoad(
      String workerId,
      String incarnation,
      Collection<String> heldTaskIds,
      Collection<String> waitingTaskIds,
      List<String> orphanedTaskIds,
      List<String> orphanedRunIds) {
    KnownWorker w = workers.get(workerId);
    if (w == null || !Objects.equals(w.incarnation, incarnation)) {
      return;
    }
    Set<String> held = heldTaskIds instanceof Set<String> set ? set : new HashSet<>(heldTaskIds);
    long now = nanoClock.getAsLong();
    w.lastHeard = now;
    int mine = 0;
    List<Task> lost = null;
    for (Task task = w.held.first(); task != null; task = w.held.next(task)) {
      if (held.contains(task.envelope.taskId())) {
        mine++;
        task.present();
        // a short list: only tasks handed beyond the worker's free slots wait
        boolean waits =
            !waitingTaskIds.isEmpty() && waitingTaskIds.contains(task.envelope.taskId());
        if (waits || task.waitedOnWorker()) {
          noteWaiting(task, now, waits);
          leaseFromNow(task, now, waits);
        }
      } else if (!task.absent()) {
        // suspect: maybe still on its way to the worker, or its report on its way back
        task.doubts().absentSince = now;
      } else if (now - task.doubts.absentSince >= lostAfterNanos) {
        if (lost == null) {
          lost = new ArrayList<>(2);
        }
        lost.add(task);
      }
    }
    if (w.zombies != null) {
      for (Iterator<String> it = w.zombies.iterator(); it.hasNext(); ) {
        if (held.contains(it.next())) {
          mine++;
        } else {
          it.remove(); // its report was lost, or it was cancelled before it started: the slot is
          // free again
          w.busy--;
        }
      }
    }
    w.elsewhere = held.size() - mine;
    if (w.orphans != null || !orphanedTaskIds.isEmpty()) {
      takeOrphans(w, held, orphanedTaskIds, orphanedRunIds);
    }
    if (lost != null) {
      List<TypeQueue> touched = new ArrayList<>(2);
      for (Task task : lost) {
        KnownWorker holder = task.holder;
        detach(task);
        holder.busy--;
        if (putBackOne(task, holder, Redelivery.LOST_IN_TRANSIT) && !touched.contains(task.type)) {
          touched.add(task.type);
        }
      }
      w.reseat();
      for (TypeQueue type : touched) {
        dispatch(type);
      }
    } else {
      w.reseat();
    }
    dispatchPendingFor(w);
    offerWaitingOf(w); // a task here named waiting, or a withdraw ended: room elsewhere?
  }

  /**
   * Replaces what {@link #orphans} holds for this worker by its latest report: a task waiting here
   * goes back to it now, and so does one this entity handed to another worker meanwhile (that copy
   * is cancelled); one not held here is kept for its flow's re-send.
   */
  private void takeOrphans(
      KnownWorker w, Set<String> held, List<String> orphanedTaskIds, List<String> orphanedRunIds) {
    dropOrphans(w);
    for (int i = 0; i < orphanedTaskIds.size(); i++) {
      String taskId = orphanedTaskIds.get(i);
      String runId = orphanedRunIds.get(i);
      Task task = tasks.get(taskId);
      if (task == null || !Objects.equals(runId, task.envelope.runId())) {
        if (w.orphans == null) {
          w.orphans = new HashSet<>(4);
        }
        w.orphans.add(taskId);
        orphans.put(taskId, new Orphan(w, w.incarnation, held.contains(taskId), runId));
      } else if (task.state == TaskState.PENDING && mayHandBackTo(w)) {
        task.type.pending.remove(task);
        handBack(task, w, held.contains(taskId));
      } else if (task.state == TaskState.IN_FLIGHT && task.holder == w && !held.contains(taskId)) {
        // handed back for its kept result, the answer on its way: the entry stays, for a repeat of
        // the task after that answer (see handBackOrphan)
        if (w.orphans == null) {
          w.orphans = new HashSet<>(4);
        }
        w.orphans.add(taskId);
        orphans.put(taskId, new Orphan(w, w.incarnation, false, runId));
      } else if (task.state == TaskState.IN_FLIGHT && task.holder != w && mayHandBackTo(w)) {
        // a copy this entity handed out after the move (the re-send came before this report):
        // the worker that held the task before computes it further along, so the copy stops
        KnownWorker other = task.holder;
        detach(task);
        other.addZombie(taskId); // its slot stays taken until it reports
        effects.cancel(
            other.ref,
            taskId,
            task.envelope.runId(),
            "worker " + w.workerId + " computes it already, since before its queue entity moved");
        handBack(task, w, held.contains(taskId));
      }
    }
  }

  /** Forgets what {@link #orphans} holds for this worker. */
  private void dropOrphans(KnownWorker w) {
    if (w.orphans != null) {
      for (String taskId : w.orphans) {
        Orphan orphan = orphans.get(taskId);
        if (orphan != null && orphan.worker == w) {
          orphans.remove(taskId);
        }
      }
      w.orphans = null;
    }
  }

  /**
   * A task just enqueued that a worker holds from the entity's earlier life ({@link #orphans}):
   * handed back to that worker incarnation if it still takes work; false otherwise (it waits as any
   * other).
   *
   * <p>An entry for a kept result (not {@code held}) stays until the worker's next load report
   * replaces its entries: the flows may send the task more than once (all their pending tasks once
   * per queue node removed more than a second apart, and what a loss check finds missing), and a
   * repeat that comes after the answer, when this entity no longer holds the task, goes back to
   * that worker too, which answers with the same result again ({@code TaskReports.answerAgain}),
   * rather than to a free worker that would compute it a second time. An entry for a task the
   * worker still computes ({@code held}) goes with its hand-back: a repeat that came after that
   * compute's result, which goes straight to this entity and is not kept, would be computed again.
   * That takes a second queue node removed more than a second after the first (two removed together
   * send once: {@code PendingTasks.sinceResentAllWithinCheckInterval}) and a compute that ends
   * between the two re-sends' arrivals.
   */
  private boolean handBackOrphan(Task task) {
    String taskId = task.envelope.taskId();
    Orphan orphan = orphans.get(taskId);
    if (orphan == null) {
      return false;
    }
    KnownWorker w = orphan.worker;
    boolean goesBack =
        Objects.equals(orphan.runId, task.envelope.runId())
            && workers.get(w.workerId) == w
            && Objects.equals(w.incarnation, orphan.incarnation)
            && mayHandBackTo(w);
    if (orphan.held || !goesBack) {
      orphans.remove(taskId);
      if (w.orphans != null) {
        w.orphans.remove(taskId);
      }
    }
    if (goesBack) {
      handBack(task, w, orphan.held);
    }
    return goesBack;
  }

  private static boolean mayHandBackTo(TaskQueueState<?, ?>.KnownWorker w) {
    return !w.down && !w.unreachable;
  }

  /**
   * Hands a task to the worker that computes it already for the entity's earlier life ({@code
   * held}: beyond its free slots, since the slot it spends on the task was counted as spent
   * elsewhere), or that keeps the result it sent for it. The worker reports on its running compute,
   * or answers with that result.
   */
  private void handBack(Task task, KnownWorker w, boolean held) {
    if (held && w.elsewhere > 0) {
      w.elsewhere--; // counted here from now on, as busy
    }
    start(task, w);
    effects.handedBack(task.envelope, w.workerId);
  }

  /**
   * The ids among these that the queue does not hold (pending, waiting out a backoff or in flight).
   */
  public List<String> notHeld(Collection<String> taskIds) {
    List<String> missing = new ArrayList<>();
    for (String id : taskIds) {
      if (!tasks.contains(id)) {
        missing.add(id);
      }
    }
    return missing;
  }

  // ---- results ----

  /**
   * A task ran to completion. The first result for a task the queue holds (in flight, or put back
   * and not yet run again) goes to its flow; returns false (and counts it) for a task the queue
   * does not hold, or holds for another sequencer run than {@code runId}: task ids start again with
   * each run, and a compute of an earlier run that ends late never answers for the newer run's task
   * of the same id.
   */
  public boolean succeeded(
      String workerId,
      String incarnation,
      String taskId,
      String runId,
      int attempt,
      Object result) {
    Task task = tasks.get(taskId);
    if (task != null && !Objects.equals(runId, task.envelope.runId())) {
      task = null; // another run's task under this id: not the one computed
    } else if (task != null) {
      tasks.remove(taskId); // a task the queue holds is done after this, whoever reports it
    }
    if (task != null && task.heldBy(workerId, incarnation)) {
      KnownWorker w = task.holder;
      long now = nanoClock.getAsLong();
      w.lastHeard = now;
      w.done++;
      release(task);
      if (task.type.name.equals(WorkerRegistrationTask.NAME)) {
        // The worker is registered now: it serves the registration type no more. Its announcement
        // saying so comes by
        // another path (its node's front) and can arrive after the next registration task, which
        // the registration
        // loop offers as soon as it has this result; that one would go to this idle worker and be
        // declined.
        w.suspend(task.type);
        // Unless its announcement past Unprepared came first (the two paths cross either way): then
        // no Unprepared
        // announcement of before the registration can still be on its way, and none that clears the
        // mark will come
        // to this entity (a registered worker no longer serves the registration type), so a mark
        // set now would hide
        // the worker from the registration of every later run.
        w.justRegistered = w.announced == null || w.announced == WorkerState.UNPREPARED;
      }
      task.state = TaskState.DONE;
      if (complete(task, workerId, attempt, result)) {
        TypeQueue type = task.type;
        long run = now - task.dispatchedAt;
        long wait = task.dispatchedAt - task.pendingSince;
        type.runs++;
        type.runNanos += run;
        type.waitNanos += wait;
        effects.completed(type.name, wait, run);
      }
      callTime = now; // the dispatch into the freed slot happens now too
      try {
        dispatchFor(w);
      } finally {
        callTime = NO_TIME;
      }
      return true;
    }
    KnownWorker reporter = freeZombieSlot(workerId, incarnation, taskId);
    if (task == null) {
      unknownResults++;
      if (reporter != null) {
        dispatchFor(reporter);
      }
      return false;
    }
    // A late result (lease overrun, an unreachable node, an earlier incarnation) for a task still
    // held: the first
    // result wins.
    switch (task.state) {
      case IN_FLIGHT -> {
        KnownWorker other = task.holder;
        detach(task);
        other.addZombie(
            taskId); // it is still running the task: its slot stays taken until it reports
        effects.cancel(
            other.ref, taskId, task.envelope.runId(), "another worker finished it first");
      }
      case PENDING ->
          task.type.pending.remove(task); // redelivered tasks sit near the head: a short search
      case BACKOFF -> task.type.waiting--;
      default -> {} // DONE: never indexed
    }
    task.state = TaskState.DONE;
    complete(task, workerId, attempt, result);
    if (reporter != null) {
      dispatchFor(reporter);
    }
    return true;
  }

  /**
   * The task this worker incarnation holds, with the worker marked as heard from now; null (and
   * counted as an unknown result) when it holds no such task, or holds one of another run under
   * that id.
   */
  private Task heardOf(String workerId, String incarnation, String taskId, String runId) {
    Task task = tasks.get(taskId);
    if (task == null
        || !task.heldBy(workerId, incarnation)
        || !Objects.equals(runId, task.envelope.runId())) {
      dropUnknown(workerId, incarnation, taskId);
      return null;
    }
    task.holder.lastHeard = nanoClock.getAsLong();
    return task;
  }

  /**
   * A task's compute failed on the worker that holds it: retried after a backoff when {@code
   * retryable} and the task has attempts left, else its flow gets {@link TaskOutcome.Failed}.
   * Returns false (and counts it as an unknown result) when that worker incarnation does not hold
   * the task, or holds a later attempt of it: then this is the failure of a compute cancelled
   * before the task came back to the same worker (a lease that ran out, a node unreachable for a
   * while), which spends nothing of the attempt handed out since. Likewise when the task it holds
   * under that id is of another run than {@code runId} (see {@link #succeeded}).
   *
   * @param attempt the attempt the failed compute ran, as in its {@link TaskEnvelope}
   */
  public boolean failed(
      String workerId,
      String incarnation,
      String taskId,
      String runId,
      int attempt,
      String reason,
      boolean retryable) {
    Task task = heardOf(workerId, incarnation, taskId, runId);
    if (task == null) {
      return false;
    }
    if (attempt < task.envelope.attempt()) {
      Doubts doubts = task.doubts;
      if (doubts != null
          && doubts.overrunOn != null
          && doubts.overrunOn.workerId.equals(workerId)
          && Objects.equals(doubts.overrunIncarnation, incarnation)) {
        // the compute cancelled at its overrun returned: should that worker go down now, it is
        // not to abandon a hung compute ({@link #stillHungHere})
        doubts.overrunReturned = true;
      }
      dropUnknown(workerId, incarnation, taskId);
      return false;
    }
    KnownWorker w = task.holder;
    w.failed++;
    release(task);
    task.failures++;
    if (task.cancelled) {
      forget(task);
    } else if (retryable && task.failures < settings.maxAttempts()) {
      task.state = TaskState.BACKOFF;
      task.type.waiting++;
      task.type.retried++;
      effects.retryLater(
          task.envelope,
          workerId,
          task.failures,
          reason + " (" + task.failures + " of " + settings.maxAttempts() + " attempts used)");
    } else {
      giveUp(task, retryable ? reason + " (" + budgetSpent(task) + ")" : reason);
    }
    dispatchFor(w);
    return true;
  }

  /**
   * A worker refused a task it holds because it does not serve that type in its current state: the
   * task goes back to the head with attempt + 1, spending nothing, and to another worker if one is
   * free; the decliner gets no more of that type until its next announcement. Returns false
   * (counted) when that worker incarnation does not hold the task of that id and run.
   */
  public boolean declined(String workerId, String incarnation, String taskId, String runId) {
    return declined(workerId, incarnation, taskId, runId, Integer.MAX_VALUE, false);
  }

  /**
   * As {@link #declined(String, String, String, String)}, for the decline of delivery {@code
   * attempt} (an earlier delivery's late decline is dropped, counted as unknown). With {@code
   * noFreeSlot} it is a worker's answer to a {@link Effects#withdraw}: the task waited there for a
   * slot, all taken; it goes back to the head, spending nothing, and to the worker with room; this
   * worker counts as having no free slot, for every type, until its next load report says what it
   * holds. It is not suspended: its next free slot may take this type again.
   */
  public boolean declined(
      String workerId,
      String incarnation,
      String taskId,
      String runId,
      int attempt,
      boolean noFreeSlot) {
    Task task = heardOf(workerId, incarnation, taskId, runId);
    if (task == null) {
      return false;
    }
    if (attempt < task.envelope.attempt()) {
      dropUnknown(workerId, incarnation, taskId);
      return false;
    }
    KnownWorker w = task.holder;
    if (noFreeSlot) { // full until its next report: its slots all taken, this task's by the others'
      w.elsewhere = Math.max(w.elsewhere, w.capacity - (w.busy - 1));
    }
    release(task);
    if (!noFreeSlot) {
      w.suspend(task.type);
    }
    if (task.cancelled) {
      forget(task);
    } else {
      redeliver(task, workerId, noFreeSlot ? Redelivery.NO_FREE_SLOT : Redelivery.DECLINED);
      dispatch(task.type);
    }
    dispatchFor(w);
    return true;
  }

  /** A retry backoff is over: the task goes back to the head of its queue with attempt + 1. */
  public void retryDue(String taskId) {
    Task task = tasks.get(taskId);
    if (task == null || task.state != TaskState.BACKOFF || task.held) {
      // completed by a late result, or its flow was cancelled, while it waited; or an older run's
      // timer for the same id finds a task held for its unreachable node
      return;
    }
    task.type.waiting--;
    toHead(task);
    dispatch(task.type);
  }

  /**
   * Puts back every task in flight whose lease has run out (each spends an attempt: a live worker
   * that overruns is hung, most likely on this task) and tells its worker to cancel it; the
   * worker's slot stays taken until it reports, or its next load report no longer lists the task.
   * Work is proportional to the number of expired leases. Returns that number.
   */
  public int expireLeases() {
    long now = nanoClock.getAsLong();
    int expired = 0;
    for (TypeQueue type : typeList) {
      Task task;
      while ((task = type.leases.first()) != null
          && task.dispatchedAt + type.leaseNanos - now <= 0) {
        KnownWorker w = task.holder;
        detach(task);
        w.addZombie(
            task.envelope
                .taskId()); // its slot stays taken until it reports, restarts or terminates
        Doubts doubts = task.doubts();
        doubts.overrunOn = w;
        doubts.overrunIncarnation = w.incarnation;
        doubts.overrunReturned = false;
        scratch.add(task);
      }
      if (scratch.isEmpty()) {
        continue;
      }
      expired += scratch.size();
      // Oldest last, so that after the puts at the head the oldest is first again.
      for (int i = scratch.size() - 1; i >= 0; i--) {
        Task t = scratch.get(i);
        t.failures++;
        String workerId = t.lastWorkerId;
        String lease = "lease of " + type.leaseNanos / 1_000_000 + " ms";
        effects.cancel(
            t.doubts.overrunOn.ref, t.envelope.taskId(), t.envelope.runId(), lease + " ran out");
        if (t.cancelled) {
          forget(t);
        } else if (t.failures >= settings.maxAttempts()) {
          giveUp(t, lease + " overran on worker " + workerId + " (" + budgetSpent(t) + ")");
        } else {
          redeliver(t, workerId, Redelivery.LEASE_OVERRUN);
        }
      }
      scratch.clear();
      dispatch(type);
    }
    return expired;
  }

  // ---- reading ----

  public QueueStats stats() {
    Map<String, QueueStats.TypeStats> byType = new LinkedHashMap<>();
    for (String name : catalog.names()) {
      TypeQueue t = types.get(name);
      byType.put(
          name,
          new QueueStats.TypeStats(
              t.pending.size() + t.waiting,
              t.inFlight,
              t.completed,
              t.failed,
              t.declined + t.lost + t.leaseOverruns,
              t.retried,
              t.rejected,
              t.declined,
              t.lost,
              t.leaseOverruns));
    }
    return new QueueStats(byType, workers.size(), unknownResults, repeatedEnqueues);
  }

  /**
   * What the queue knows of one worker, for the fleet view.
   *
   * @param inFlight tasks handed it here whose outcome is not back yet (tasks in flight plus
   *     overrun tasks it still runs): more than its slots when some wait there for one or are
   *     prefetched
   * @param done results it delivered that went to their flow
   * @param failed computes that failed on it
   * @param restarts new incarnations seen
   * @param lastHeardNanosAgo since its last announcement, load report or report on a task it held
   * @param reachable false while its node is unreachable
   */
  public record WorkerNumbers(
      int inFlight,
      long done,
      long failed,
      int restarts,
      long lastHeardNanosAgo,
      boolean reachable) {}

  /** What the queue knows of this worker, or null for an unknown worker. */
  public WorkerNumbers workerNumbers(String workerId) {
    KnownWorker w = workers.get(workerId);
    if (w == null) {
      return null;
    }
    return new WorkerNumbers(
        w.busy, w.done, w.failed, w.restarts, nanoClock.getAsLong() - w.lastHeard, !w.unreachable);
  }

  /**
   * Run times and waiting of one type, for the fleet view and the autoscaling signal.
   *
   * @param runs tasks whose run time was measured (results from the worker that held the task)
   * @param runNanos their run times added up
   * @param waitNanos the same tasks' waits (enqueue or last put-back to the dispatch that completed
   *     them) added up; 0 for tasks enqueued while waits are not measured
   * @param oldestPendingNanos the longest any pending task looked at ({@link #OLDEST_SCAN}) has
   *     waited, 0 when none
   */
  public record TypeTimes(long runs, long runNanos, long waitNanos, long oldestPendingNanos) {}

  /**
   * Pending tasks looked at for the oldest, shared among the flows with pending tasks (at least the
   * head of each): put-backs go to the head of their flow's tasks, so the oldest is near the head
   * of one of them. A scan of at most this many tasks or one per flow, whichever is more, per call.
   */
  static final int OLDEST_SCAN = 1000;

  public TypeTimes typeTimes(String taskType) {
    TypeQueue t = types.get(taskType);
    if (t == null) {
      return new TypeTimes(0, 0, 0, 0);
    }
    long now = nanoClock.getAsLong();
    long oldest = 0;
    // each flow's tasks wait in push order behind its put-backs, so the oldest is near the head of
    // some flow's deque; every flow's head is looked at, since the newest flows wait longest
    int perFlow = Math.max(1, OLDEST_SCAN / Math.max(1, t.pending.orders()));
    for (ArrayDeque<Task> flow : t.pending.byFlow()) {
      int seen = 0;
      for (Task task : flow) {
        if (task.pendingSince != NO_TIME) { // unknown where waits are not measured
          oldest = Math.max(oldest, now - task.pendingSince);
        }
        if (++seen == perFlow) {
          break;
        }
      }
    }
    return new TypeTimes(t.runs, t.runNanos, t.waitNanos, oldest);
  }

  /**
   * Tasks of this type put back for this cause so far (one that crashed its worker: when its
   * backoff starts).
   */
  public long putBack(String taskType, Redelivery cause) {
    TypeQueue t = types.get(taskType);
    return t == null ? 0 : t.putBack[cause.ordinal()];
  }

  /**
   * Slots of this worker that are taken here (in flight plus zombies), or -1 for an unknown worker.
   */
  public int slotsTaken(String workerId) {
    KnownWorker w = workers.get(workerId);
    return w == null ? -1 : w.busy;
  }

  /**
   * Free slots of this worker as this queue sees them (0 while it is unreachable or going down, or
   * while prefetched tasks take it to or beyond its capacity), -1 if unknown.
   */
  public int freeSlots(String workerId) {
    KnownWorker w = workers.get(workerId);
    return w == null ? -1 : Math.max(0, w.free());
  }

  /** For tests: entries in this type's list of stale seats (see {@link KnownWorker#reseat}). */
  int staleSeats(String taskType) {
    return types.get(taskType).staleSeats.size();
  }

  /** Tasks the queue holds: pending, waiting out a backoff, or in flight. */
  public int size() {
    return tasks.size();
  }

  // ---- internals ----

  private void reject(TaskEnvelope envelope, R replyTo, String reason) {
    effects.reply(
        replyTo,
        new TaskOutcome.Rejected(
            envelope.taskId(), envelope.flowId(), envelope.runId(), envelope.taskType(), reason));
  }

  /** "3 of 3 attempts and 1 of 10 worker losses spent": for the reason of a task given up. */
  private String budgetSpent(Task task) {
    return task.failures
        + " of "
        + settings.maxAttempts()
        + " attempts and "
        + task.losses
        + " of "
        + settings.maxWorkerLosses()
        + " worker losses spent";
  }

  /** Hands the head of this type's queue to the best workers while both exist. */
  private void dispatch(TypeQueue type) {
    while (!type.pending.isEmpty()) {
      KnownWorker w = bestFor(type);
      if (w == null) {
        return;
      }
      start(type.pending.pollFirst(), w);
    }
    if (!type.waitingOnWorkers.isEmpty()) {
      offerWaiting(type);
    }
  }

  /**
   * A load report named this task waiting on its worker for a slot ({@code waits}), or no longer:
   * it joins its type's {@link TypeQueue#waitingOnWorkers}, and a withdraw of it under way ends
   * when the report shows it started, or when no answer came within {@code lost-after}.
   */
  private void noteWaiting(Task task, long now, boolean waits) {
    Doubts doubts = task.doubts();
    if (waits && !doubts.listed) {
      doubts.listed = true;
      task.type.waitingOnWorkers.add(task);
    } else if (!waits) {
      unlistWaiting(task);
    }
    if (doubts.withdrawing && (!waits || now - doubts.withdrawnAt >= lostAfterNanos)) {
      endWithdrawal(task);
    }
  }

  /** Out of its type's {@link TypeQueue#waitingOnWorkers}: it no longer waits on a worker. */
  private void unlistWaiting(Task task) {
    if (task.doubts != null && task.doubts.listed) {
      task.doubts.listed = false;
      task.type.waitingOnWorkers.remove(task);
    }
  }

  /**
   * This type has no pending task and a worker with room, while one of its tasks waits on another
   * worker for a slot (two entities handed that worker the same slot): asks that worker to hand the
   * oldest such task back if it has not started ({@link Effects#withdraw}), so that it runs there
   * rather than behind another entity's compute. One withdraw at a time per type, at most one per
   * task; a task that started meanwhile goes on where it is; never a later attempt waiting for its
   * cancelled compute to return (it waits in that compute's slot).
   */
  private void offerWaiting(TypeQueue type) {
    if (type.withdrawing > 0 || !type.pending.isEmpty()) {
      return;
    }
    for (Task task : type.waitingOnWorkers) { // only tasks waiting now: detach unlists them
      Doubts doubts = task.doubts;
      if (doubts.withdrawn || doubts.behindCancelled || task.cancelled) {
        continue;
      }
      KnownWorker to = bestFor(type);
      if (to == null) {
        return;
      }
      if (to == task.holder) { // its holder looks free here (a stale report): not it
        continue;
      }
      doubts.withdrawing = true;
      doubts.withdrawnAt = callTime != NO_TIME ? callTime : nanoClock.getAsLong();
      doubts.withdrawn = true;
      type.withdrawing++;
      effects.withdraw(task.holder.ref, task.envelope.taskId(), task.envelope.runId());
      return;
    }
  }

  /** A withdraw of this task is over: answered, moot, or unanswered for too long. */
  private void endWithdrawal(Task task) {
    if (task.doubts != null && task.doubts.withdrawing) {
      task.doubts.withdrawing = false;
      task.type.withdrawing--;
    }
  }

  /**
   * The worker that gets the next task of this type: the one with the most room (free slots, plus
   * the prefetch for a prefetched type), or null when none has room. A worker whose room is only
   * its prefetch, and which has a task of another type waiting since it was last placed, is placed
   * again without it first.
   */
  private KnownWorker bestFor(TypeQueue type) {
    type.refreshLadder();
    for (Seat best; (best = type.ladder.best()) != null; ) {
      KnownWorker w = best.worker;
      if (!type.prefetched || w.free() > 0 || w.prefetchRoom() > 0) {
        return w;
      }
      w.reseat(); // its seat drops to its free slots (none), so the loop moves on
    }
    return null;
  }

  /**
   * Room came free on this worker: it goes to the first task among the types it serves in the
   * queue's order (oldest flow first, then within a flow first come, first served, across types),
   * so a reduction does not overtake the leaves of its flow enqueued before it, and a type's tasks
   * wait only behind older flows' tasks and their own flow's earlier ones. When the worker has no
   * free slot, only its prefetch room, the first task fills it only if it is of a prefetched type:
   * a later cheap task does not take the place of an earlier one that needs a slot.
   */
  private void dispatchFor(KnownWorker w) {
    dispatchPendingFor(w);
    if (w.free() > 0) {
      offerWaitingOf(w);
    }
  }

  /** {@link #offerWaiting} for each type this worker serves that has tasks waiting on workers. */
  private void offerWaitingOf(KnownWorker w) {
    for (Seat seat : w.seats) {
      if (!seat.type.waitingOnWorkers.isEmpty()) {
        offerWaiting(seat.type);
      }
    }
  }

  /** {@link #dispatchFor}'s pending tasks. */
  private void dispatchPendingFor(KnownWorker w) {
    Seat[] seats = w.seats;
    while (true) {
      int free = w.free();
      if (free <= 0 && w.prefetchSeats == 0) {
        return;
      }
      TypeQueue oldest = null;
      for (Seat seat : seats) {
        Task head = seat.type.pending.peekFirst();
        if (head != null
            && !seat.suspended
            && (oldest == null || head.before(oldest.pending.peekFirst()))) {
          oldest = seat.type;
        }
      }
      if (oldest == null || (free <= 0 && !(oldest.prefetched && free + w.prefetchRoom() > 0))) {
        return;
      }
      KnownWorker to = bestFor(oldest);
      if (to == null) {
        return;
      }
      start(oldest.pending.pollFirst(), to);
    }
  }

  private void start(Task task, KnownWorker w) {
    TypeQueue type = task.type;
    task.state = TaskState.IN_FLIGHT;
    task.holder = w;
    task.lastWorkerId = w.workerId;
    task.present();
    long now = callTime != NO_TIME ? callTime : nanoClock.getAsLong();
    if (task.pendingSince == NO_TIME) {
      task.pendingSince = now; // dispatched within its enqueue: it did not wait
    }
    task.dispatchedAt = now; // its lease runs out at dispatchedAt + type.leaseNanos
    if (task.doubts != null) { // a new delivery has not waited on its worker yet
      task.doubts.waitsOnWorker = false;
      task.doubts.waitingSince = NO_TIME;
      task.doubts.behindCancelled = false;
    }
    type.leases.addLast(task);
    w.held.addLast(task);
    type.inFlight++;
    if (w.zombies == null || !w.zombies.remove(task.envelope.taskId())) {
      w.busy++;
    } else {
      // back on the worker still cancelling it: a worker runs one compute per task id, and starts
      // this attempt only once that one has returned, so the zombie's slot is this attempt's
      task.doubts().behindCancelled = true;
    }
    w.reseat();
    effects.dispatch(w.ref, task.envelope);
  }

  /**
   * Its holder said it waits there for a slot ({@code stillWaiting}), or it has started after
   * waiting: its lease starts again now, so that it bounds the compute, not the wait, for up to one
   * lease of waiting (then it runs on, and the task spends at most two leases on that worker: a
   * task stuck behind a compute that never ends is still put back). Its dispatch time moves with
   * it, so the wait and run histograms count that wait as waiting.
   */
  private void leaseFromNow(Task task, long now, boolean stillWaiting) {
    Doubts doubts = task.doubts();
    if (doubts.waitingSince == NO_TIME) {
      doubts.waitingSince = task.dispatchedAt;
    }
    doubts.waitsOnWorker = stillWaiting;
    if (now - doubts.waitingSince >= task.type.leaseNanos) {
      return; // waited a whole lease already: its lease runs on from the last restart
    }
    task.type.leases.remove(task);
    task.dispatchedAt = now; // later than every other lease of the type: the order holds
    task.type.leases.addLast(task);
  }

  /** Unlinks a task in flight from its lease list and its holder, and frees the holder's slot. */
  private void release(Task task) {
    KnownWorker w = task.holder;
    detach(task);
    w.busy--;
    w.reseat();
  }

  /** Unlinks a task in flight from its lease list and its holder; the holder's slot stays taken. */
  private void detach(Task task) {
    endWithdrawal(task);
    unlistWaiting(task);
    task.type.leases.remove(task);
    task.holder.held.remove(task);
    task.type.inFlight--;
    task.holder = null;
  }

  /** Passes the result on to the flow; false (nothing sent) when the flow was cancelled. */
  private boolean complete(Task task, String workerId, int attempt, Object result) {
    if (task.cancelled) {
      return false;
    }
    TaskEnvelope e = task.envelope;
    task.type.completed++;
    effects.reply(
        task.replyTo,
        new TaskOutcome.Succeeded(
            e.taskId(), e.flowId(), e.runId(), e.taskType(), attempt, workerId, result));
    return true;
  }

  private void giveUp(Task task, String reason) {
    forget(task);
    task.type.failed++;
    TaskEnvelope e = task.envelope;
    effects.reply(
        task.replyTo,
        new TaskOutcome.Failed(
            e.taskId(), e.flowId(), e.runId(), e.taskType(), e.attempt(), reason));
  }

  private void forget(Task task) {
    tasks.remove(task.envelope.taskId());
    task.state = TaskState.DONE;
    endWithdrawal(task); // ended when it left its worker; kept here in case a path did not
    unlistWaiting(task);
  }

  private void redeliver(Task task, String workerId, Redelivery cause) {
    toHead(task);
    task.type.putBack[cause.ordinal()]++;
    switch (cause) {
      case DECLINED, NO_FREE_SLOT -> task.type.declined++;
      case LEASE_OVERRUN -> task.type.leaseOverruns++;
      default -> task.type.lost++;
    }
    effects.putBack(task.envelope, workerId, cause, budgetSpent(task));
  }

  private void toHead(Task task) {
    task.envelope = task.envelope.withAttempt(task.envelope.attempt() + 1);
    if (!holds.isEmpty() && heldAt(task.replyTo)) { // its flow's node is unreachable here
      park(task);
      return;
    }
    task.state = TaskState.PENDING;
    task.pendingSince = nanoClock.getAsLong();
    task.type.pending.addFirst(task);
  }

  /**
   * A task taken from a worker that went away, already detached: spends a loss when the cause does,
   * then goes back at the head, or fails for good when its losses are used up, or is dropped when
   * its flow was cancelled. Returns true when it went back to its queue.
   */
  private boolean putBackOne(Task task, KnownWorker from, Redelivery cause) {
    if (task.cancelled) {
      forget(task);
      return false;
    }
    if (cause.spendsALoss()) {
      task.losses++;
    }
    if (task.losses >= settings.maxWorkerLosses()) {
      giveUp(
          task,
          cause.describe(from.workerId)
              + "; it went back to the queue because its worker went away "
              + task.losses
              + " times, the limit (prover.queue.max-worker-losses): a task that brings down every "
              + "worker or node that runs it is poison ("
              + budgetSpent(task)
              + ")");
      return false;
    }
    if (cause == Redelivery.WORKER_CRASHED) {
      // Not at once: a task that just crashed its worker waits out a backoff like a failed compute,
      // so that it does
      // not take down the next worker the moment that one is up (memory pressure and similar
      // passing causes clear
      // meanwhile), and a crash that merely hit it in passing does not hit it again by the same
      // timing.
      task.type.lost++;
      task.type.putBack[cause.ordinal()]++;
      task.state = TaskState.BACKOFF;
      task.type.waiting++;
      effects.retryLater(
          task.envelope,
          from.workerId,
          task.losses,
          cause.describe(from.workerId)
              + " ("
              + task.losses
              + " of "
              + settings.maxWorkerLosses()
              + " worker losses spent)");
      return false;
    }
    redeliver(task, from.workerId, cause);
    return true;
  }

  /**
   * Puts back every task this worker holds, oldest first at the head, and clears its slots: with
   * {@code cause}, or as {@link Redelivery#WORKER_CRASHED} for the tasks in {@code causedBy}. A
   * lease overrun charged to a task that this worker still ran (a zombie) was the worker's fault
   * after all, unless the task brought it down: that attempt becomes a loss. A task in {@code
   * causedBy} back on this worker behind the compute cancelled at its overrun here, which has not
   * reported back ({@link #stillHungHere}), brought the worker down by that hang, which its overrun
   * charged already: {@link Redelivery#HUNG_ABANDONED}, no loss (a trial's hang that ignored
   * interrupts spent an attempt and a loss per hang, 9 dispatches for 5 hangs). Returns the types
   * that got tasks back; the caller dispatches them once the worker's seats are up to date.
   */
  private List<TypeQueue> putBackAll(KnownWorker w, Redelivery cause, Set<String> causedBy) {
    List<TypeQueue> touched = new ArrayList<>(2);
    for (Task task; (task = w.held.last()) != null; ) {
      detach(task);
      String taskId = task.envelope.taskId();
      Redelivery why;
      if (causedBy.contains(taskId)) {
        why = stillHungHere(task, w) ? Redelivery.HUNG_ABANDONED : Redelivery.WORKER_CRASHED;
      } else {
        refundOverrun(task, w, causedBy); // it overran here, then came back here (start)
        why = cause;
      }
      if (putBackOne(task, w, why) && !touched.contains(task.type)) {
        touched.add(task.type);
      }
    }
    if (w.zombies != null) {
      for (String taskId : w.zombies) {
        Task task = tasks.get(taskId);
        if (task != null) {
          refundOverrun(task, w, causedBy);
        }
      }
    }
    w.zombies = null;
    w.busy = 0;
    w.reseat();
    return touched;
  }

  /**
   * Whether {@code task}'s lease ran out on this incarnation of {@code w}, this delivery went to
   * {@code w} behind the compute it then cancelled (in that compute's slot), and that compute has
   * not reported back: the worker can only have gone down to abandon it, since this delivery has
   * not started. A delivery that found the slot free (the cancelled compute had let go) may have
   * crashed the worker itself.
   */
  private boolean stillHungHere(Task task, KnownWorker w) {
    Doubts doubts = task.doubts;
    return doubts != null
        && doubts.overrunOn == w
        && Objects.equals(doubts.overrunIncarnation, w.incarnation)
        && doubts.behindCancelled
        && !doubts.overrunReturned;
  }

  /**
   * The task's lease ran out on this worker incarnation, which now went away for another reason
   * than the task: the overrun was most likely the worker's (a node that stopped answering), so the
   * attempt it spent becomes a worker loss.
   */
  private void refundOverrun(Task task, KnownWorker w, Set<String> causedBy) {
    if (task.doubts != null
        && task.doubts.overrunOn == w
        && Objects.equals(task.doubts.overrunIncarnation, w.incarnation)
        && !causedBy.contains(task.envelope.taskId())
        && task.failures > 0) {
      task.failures--;
      task.losses++;
      task.doubts.overrunOn = null;
    }
  }

  /**
   * A report from a worker that does not hold the task: free its zombie slot if it had one, count
   * it, go on.
   */
  private void dropUnknown(String workerId, String incarnation, String taskId) {
    unknownResults++;
    KnownWorker reporter = freeZombieSlot(workerId, incarnation, taskId);
    if (reporter != null) {
      dispatchFor(reporter);
    }
  }

  private KnownWorker freeZombieSlot(String workerId, String incarnation, String taskId) {
    KnownWorker w = workers.get(workerId);
    if (w == null
        || w.zombies == null
        || !Objects.equals(w.incarnation, incarnation)
        || !w.zombies.remove(taskId)) {
      return null;
    }
    w.busy--;
    w.reseat();
    return w;
  }

  /**
   * One task, from enqueue until its outcome. In flight it is also an element of two lists: its
   * type's, ordered by dispatch and so by lease deadline ({@link IntrusiveList.Links#FIRST}), and
   * its holder's ({@link IntrusiveList.Links#SECOND}).
   */
  private final class Task extends IdTable.Entry<Task> {
    TaskEnvelope envelope;

    /**
     * Order of acceptance; kept on redelivery and retry, so a task put back stays older than later
     * ones.
     */
    final long seq;

    final R replyTo;
    final TypeQueue type;
    TaskState state = TaskState.PENDING;
    boolean cancelled;

    /** Held back while its flow's node is unreachable ({@link #holdBack}); state BACKOFF. */
    boolean held;

    /** Attempts spent: failed computes and lease overruns on a live worker (max-attempts). */
    int failures;

    /** Worker losses spent (max-worker-losses). */
    int losses;

    KnownWorker holder;
    String lastWorkerId;

    /** A lease overrun or an absence from its holder's load reports; null until the first. */
    Doubts doubts;

    /**
     * When it last became pending (enqueued, put back, or its retry came due; {@link #NO_TIME}
     * until its enqueue is over), and when it was last dispatched.
     */
    long pendingSince;

    /** Its lease's deadline is this plus its type's lease time. */
    long dispatchedAt;

    Task(TaskEnvelope envelope, R replyTo, TypeQueue type, long seq) {
      this.envelope = envelope;
      this.seq = seq;
      this.replyTo = replyTo;
      this.type = type;
      this.pendingSince = NO_TIME;
    }

    @Override
    String id() {
      return envelope.taskId();
    }

    /** Its flow's start order: a lower one is handed out first ({@link TypeQueue#pending}). */
    long flowSeq() {
      return envelope.flowSeq();
    }

    /** Handed out before {@code other}: its flow is older, or the same and it came first. */
    boolean before(Task other) {
      long flow = flowSeq();
      long otherFlow = other.flowSeq();
      return flow < otherFlow || (flow == otherFlow && seq < other.seq);
    }

    boolean heldBy(String workerId, String incarnation) {
      KnownWorker w = holder;
      return w != null && w.workerId.equals(workerId) && Objects.equals(w.incarnation, incarnation);
    }

    Doubts doubts() {
      if (doubts == null) {
        doubts = new Doubts();
      }
      return doubts;
    }

    /** Its holder's last load report named it as waiting there for a slot. */
    boolean waitedOnWorker() {
      return doubts != null && doubts.waitsOnWorker;
    }

    /** Its holder's last load report left it out (since {@link Doubts#absentSince}). */
    boolean absent() {
      return doubts != null && doubts.absentSince != NO_TIME;
    }

    /** Its holder's last load report listed it, or it was just dispatched. */
    void present() {
      if (doubts != null) {
        doubts.absentSince = NO_TIME;
      }
    }
  }

  /**
   * What only a few tasks ever need: those whose lease ran out, those a load report of their holder
   * left out, and those that waited on their worker for a slot. Made at the first such event, so
   * that every other task's record (a queue may hold a million pending) carries one reference
   * instead of these fields.
   */
  private final class Doubts {
    /**
     * The worker whose lease overran on this task, while that overrun still counts as an attempt,
     * and that worker's incarnation then.
     */
    KnownWorker overrunOn;

    String overrunIncarnation;

    /**
     * The compute cancelled at the overrun on {@link #overrunOn} reported back (its failure, an
     * attempt older than the task's): that worker going down afterwards is not to abandon it.
     */
    boolean overrunReturned;

    /** When its holder's load reports first left it out; {@link #NO_TIME} while they list it. */
    long absentSince = NO_TIME;

    /**
     * Its holder's last load report named it as waiting there for a slot, not started: its lease
     * starts again at each such report and at the first that names it started.
     */
    boolean waitsOnWorker;

    /**
     * The dispatch of the delivery that has waited on its worker ({@link #NO_TIME} while none has):
     * its lease starts again only within one lease of this.
     */
    long waitingSince = NO_TIME;

    /**
     * In its type's {@link TypeQueue#waitingOnWorkers}: its holder's last report named it waiting.
     */
    boolean listed;

    /**
     * This delivery went to a worker still cancelling its earlier attempt: it waits there for that
     * compute to return, in that compute's slot, not in the worker's queue for a slot, so it is
     * never withdrawn.
     */
    boolean behindCancelled;

    /**
     * A {@link Effects#withdraw} of it is on its way to its holder: no answer yet, nor a load
     * report that shows it started.
     */
    boolean withdrawing;

    /** When that withdraw went out. */
    long withdrawnAt = NO_TIME;

    /**
     * It was withdrawn once: never again in its life here, so that it does not hop between workers
     * whose slots other entities fill at the same moment.
     */
    boolean withdrawn;
  }

  /**
   * One type's queue: pending tasks, tasks in flight by lease deadline, the ladder of workers
   * serving it.
   */
  private final class TypeQueue {
    final String name;
    final long leaseNanos;

    /**
     * Its tasks may go to a worker beyond its free slots ({@link QueueSettings#inlinePrefetch()}).
     */
    final boolean prefetched;

    /** The registration type: a worker holds at most one of its tasks at a time. */
    final boolean registration;

    /**
     * Its tasks in flight whose holder's last load report named them waiting there for a slot, in
     * the order reports named them ({@link TaskQueueState#noteWaiting}; out again when a report
     * names them started, or they leave their worker). Empty unless two entities handed a worker
     * the same slot.
     */
    final List<Task> waitingOnWorkers = new ArrayList<>(2);

    /** Withdraws of its tasks under way ({@link Doubts#withdrawing}): at most one at a time. */
    int withdrawing;

    /**
     * Oldest flow first ({@link TaskEnvelope#flowSeq}), then put-backs, then push order: what a
     * worker with room gets next is {@code pending.peekFirst()}.
     */
    final FlowOrderedQueue<Task> pending = new FlowOrderedQueue<>(Task::flowSeq, 16);

    /**
     * Tasks in flight, oldest dispatch first: every task of a type has one lease, so this is
     * deadline order.
     */
    final IntrusiveList<Task> leases = new IntrusiveList<>(IntrusiveList.Links.FIRST);

    /**
     * The workers serving this type, by free slots: the best one gets the head of {@link #pending}.
     */
    final WorkerLadder<Seat> ladder = new WorkerLadder<>();

    /**
     * Seats whose place in {@link #ladder} was left as it was while this type had no pending task
     * (see {@link KnownWorker#reseat}); {@link #refreshLadder} places them before the ladder is
     * read. May hold a seat twice, or one placed since ({@link Seat#stale} says which count).
     */
    final ArrayList<Seat> staleSeats = new ArrayList<>();

    int waiting;
    int inFlight;
    long completed;
    long failed;
    long retried;
    long rejected;
    long declined;
    long lost;
    long leaseOverruns;

    /** Tasks put back, by {@link Redelivery} ordinal. */
    final long[] putBack = new long[Redelivery.values().length];

    /**
     * Run times measured (see {@link Effects#completed}): how many, their sum, and the sum of their
     * waits.
     */
    long runs;

    long runNanos;
    long waitNanos;

    TypeQueue(String name, long leaseNanos, boolean prefetched) {
      this.name = name;
      this.leaseNanos = leaseNanos;
      this.prefetched = prefetched;
      this.registration = name.equals(WorkerRegistrationTask.NAME);
    }

    /** Places the seats left stale by their workers' room now; before the ladder is read. */
    void refreshLadder() {
      if (staleSeats.isEmpty()) {
        return;
      }
      for (Seat seat : staleSeats) {
        if (seat.stale && !seat.suspended) {
          // to the tail of its bucket, as every change of its worker's room would have put it
          ladder.requeue(seat, seat.worker.roomFor(this));
        }
        seat.stale = false;
      }
      staleSeats.clear();
    }
  }

  /** A worker's place in one type's ladder. */
  private final class Seat extends WorkerLadder.Rung {
    final KnownWorker worker;
    final TypeQueue type;

    /** Out of the ladder after the worker declined this type, until its next announcement. */
    boolean suspended;

    /**
     * Its place in the ladder may be out of date: it is in its type's {@link TypeQueue#staleSeats}.
     */
    boolean stale;

    Seat(KnownWorker worker, TypeQueue type) {
      this.worker = worker;
      this.type = type;
    }
  }

  /**
   * A worker as the queue knows it: its current incarnation, capacity, types and the tasks it
   * holds.
   */
  private final class KnownWorker {
    final String workerId;
    String incarnation;
    W ref;
    int capacity;

    /** Taken slots: tasks in flight here plus zombies. */
    int busy;

    /** Slots the worker spends on tasks of other queue entities, from its last load report. */
    int elsewhere;

    /** On an unreachable node: no work until it is reachable again. */
    boolean unreachable;

    /** This incarnation said it is going down: no work until the next one announces itself. */
    boolean down;

    /** It completed a registration task and has not announced a state past Unprepared since. */
    boolean justRegistered;

    /** The state its last announcement said, or null when announcements do not say. */
    WorkerState announced;

    /**
     * For the fleet view: results passed on, failed computes, new incarnations seen, last word from
     * it (nanos).
     */
    long done;

    long failed;
    int restarts;
    long lastHeard;
    Seat[] seats = newSeats(0);

    /** How many of its seats are of prefetched types. */
    int prefetchSeats;

    /** Its tasks in flight here, in dispatch order. */
    final IntrusiveList<Task> held = new IntrusiveList<>(IntrusiveList.Links.SECOND);

    /**
     * Tasks whose lease overran here; each keeps a slot until this worker reports on it. Rare, so a
     * set.
     */
    Set<String> zombies;

    /** The ids it holds in {@link #orphans}; null nearly always. */
    Set<String> orphans;

    KnownWorker(String workerId, String incarnation, W ref) {
      this.workerId = workerId;
      this.incarnation = incarnation;
      this.ref = ref;
    }

    int free() {
      return unreachable || down ? 0 : capacity - busy - elsewhere;
    }

    int zombieCount() {
      return zombies == null ? 0 : zombies.size();
    }

    /**
     * Tasks of prefetched types it may hold beyond its free slots now: the prefetch, or 0 when it
     * gets no work, serves no prefetched type, or one of its other types has tasks waiting (they
     * get its next free slot; prefetched tasks in flight would only delay that).
     */
    int prefetchRoom() {
      if (prefetchSeats == 0 || unreachable || down) {
        return 0;
      }
      if (prefetchSeats < seats.length) {
        for (Seat seat : seats) {
          if (!seat.type.prefetched && !seat.suspended && !seat.type.pending.isEmpty()) {
            return 0;
          }
        }
      }
      return prefetch;
    }

    /**
     * Its room for a task of this type: free slots, plus {@link #prefetchRoom()} if prefetched;
     * none for a registration task while it holds one (with several on offer, a worker of
     * concurrency c would otherwise be handed up to c of them, run one and decline the rest as
     * already registered).
     */
    int roomFor(TypeQueue type) {
      if (type.registration && holdsRegistration()) {
        return 0;
      }
      return type.prefetched ? free() + prefetchRoom() : free();
    }

    /** True while a registration task is in flight to it. */
    boolean holdsRegistration() {
      for (Task task = held.first(); task != null; task = held.next(task)) {
        if (task.type.registration) {
          return true;
        }
      }
      return false;
    }

    /**
     * Places its seats by its room now ({@link #roomFor}). The hot path: it runs at every dispatch
     * and result. A seat of a type with no pending task is only marked stale, and placed when its
     * type's ladder is next read ({@link TypeQueue#refreshLadder}), since nothing reads it before:
     * so a worker serving many types pays for the busy ones only.
     */
    void reseat() {
      int free = free();
      int extra = -1; // prefetchRoom(), once needed
      for (Seat seat : seats) {
        if (seat.suspended) {
          continue;
        }
        TypeQueue type = seat.type;
        if (type.pending.isEmpty()) {
          if (!seat.stale) {
            seat.stale = true;
            type.staleSeats.add(seat);
            if (type.staleSeats.size() > MAX_STALE_SEATS) {
              // a type that gets no tasks for long: every announcement makes new seats
              type.refreshLadder();
            }
          }
          continue;
        }
        seat.stale = false;
        int room = free;
        if (type.prefetched) {
          if (extra < 0) {
            extra = prefetchRoom();
          }
          room += extra;
        } else if (type.registration) {
          room = roomFor(type);
        }
        type.ladder.move(seat, room);
      }
    }

    void unseatAll() {
      for (Seat seat : seats) {
        if (!seat.suspended) {
          seat.type.ladder.remove(seat);
        }
      }
    }

    /** No more tasks of this type until the worker's next announcement (it declined one). */
    void suspend(TypeQueue type) {
      for (Seat seat : seats) {
        if (seat.type == type && !seat.suspended) {
          type.ladder.remove(seat);
          seat.suspended = true;
        }
      }
    }

    void addZombie(String taskId) {
      if (zombies == null) {
        zombies = new HashSet<>(4);
      }
      zombies.add(taskId);
    }
  }

  @SuppressWarnings({
    "unchecked",
    "rawtypes"
  }) // Java has no array of a generic inner class but through its raw type
  private TaskQueueState<W, R>.Seat[] newSeats(int size) {
    return (TaskQueueState<W, R>.Seat[]) new TaskQueueState.Seat[size];
  }
}
