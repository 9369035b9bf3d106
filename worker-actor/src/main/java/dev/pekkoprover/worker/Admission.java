package dev.pekkoprover.worker;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Which task a worker takes, and the tasks it holds: at most {@code capacity} running computes, and
 * the tasks handed to it beyond its free slots, which wait here in arrival order and start as slots
 * free up (in a cluster two queue entities may each hand a worker its last free slot); until it
 * starts, its queue entity may take it back for a free slot on another worker ({@link #withdraw}).
 *
 * <p>Used on the worker actor's thread only. The worker's state and registration are its per-state
 * data, passed in with each question; this class keeps only what outlives a state change (a running
 * compute goes on through one).
 */
final class Admission {

  /**
   * What the worker does with a task handed to it. The checks are made in this order; the first
   * that holds wins.
   */
  enum Verdict {
    /**
     * It runs or waits here already (the queue put it back and handed it here again): that one
     * answers for both.
     */
    ALREADY_HELD,
    /**
     * It holds another task under this id: one of another run or flow (task ids start again with
     * each sequencer run). Declined, so that another worker computes it, rather than answered with
     * the other task's result.
     */
    ID_TAKEN,
    /** A registration task while Unprepared: take its parameters and become Registered. */
    REGISTER,
    /**
     * A task of a run newer than the registration's: go back to Unprepared, register again, then
     * see it again.
     */
    REGISTER_AGAIN,
    /** Its type is not served in this state: decline it. */
    NOT_SERVED,
    /**
     * A prepared type's task of a run older than the registration's, or a registration task of a
     * run older than the newest this worker has seen: that run is over, fail it for good.
     */
    OLDER_RUN,
    /** Its type costs less than a hand-off: compute it on the actor's thread now. */
    INLINE,
    /**
     * Every slot is taken: keep it ({@link #waitForSlot}) until one frees, in arrival order, or
     * until its queue entity withdraws it ({@link #withdraw}).
     */
    WAIT,
    /** A slot is free: start its compute ({@link #started}). */
    START
  }

  /** A task handed to the worker that waits for a free slot. */
  record Waiting(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {}

  private final int capacity;

  /** Computes whose result has not come back yet, by task id, in start order. */
  private final Map<String, RunningCompute> running = new LinkedHashMap<>();

  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();

  /**
   * The newest sequencer run of any task handed to this worker incarnation, or of its registration;
   * null before the first. A worker that went back to Unprepared for a newer run must not take an
   * older run's registration offer, which a queue entity still holds until the newer run's offers
   * reach it.
   */
  private String newestRun;

  /**
   * @param capacity how many computes may run at once ({@code prover.worker.concurrency}), at least
   *     1
   */
  Admission(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
    }
    this.capacity = capacity;
  }

  /**
   * What to do with {@code task}.
   *
   * @param state the worker's state now
   * @param registeredRun the run of the registration the worker took; null while it has none
   * @param served the task's type if the worker serves it in {@code state}, else null
   */
  Verdict admit(TaskEnvelope task, WorkerState state, String registeredRun, TaskType<?, ?> served) {
    if (RunIds.isNewer(registeredRun, newestRun)) {
      newestRun = registeredRun;
    }
    if (RunIds.isNewer(task.runId(), newestRun)) {
      newestRun = task.runId();
    }
    TaskEnvelope held = heldTask(task.taskId());
    if (held != null) {
      if (held.runId().equals(task.runId()) && held.flowId().equals(task.flowId())) {
        return Verdict.ALREADY_HELD;
      }
      // task ids start again with each run: a newer run's task under the id of an older run's
      // task held here (its queue entity moved and handed it back) is how this worker may first
      // see that run
      return state != WorkerState.UNPREPARED && RunIds.isNewer(task.runId(), registeredRun)
          ? Verdict.REGISTER_AGAIN
          : Verdict.ID_TAKEN;
    }
    if (state == WorkerState.UNPREPARED
        && served != null
        && WorkerRegistrationTask.NAME.equals(task.taskType())) {
      return RunIds.isNewer(newestRun, task.runId()) ? Verdict.OLDER_RUN : Verdict.REGISTER;
    }
    if (state != WorkerState.UNPREPARED && RunIds.isNewer(task.runId(), registeredRun)) {
      return Verdict.REGISTER_AGAIN;
    }
    if (served == null) {
      return Verdict.NOT_SERVED;
    }
    if (!served.isUnprepared()
        && registeredRun != null
        && RunIds.isNewer(registeredRun, task.runId())) {
      return Verdict.OLDER_RUN;
    }
    if (served.runsInline()) {
      return Verdict.INLINE;
    }
    return running.size() >= capacity ? Verdict.WAIT : Verdict.START;
  }

  /** Why a task of verdict {@link Verdict#OLDER_RUN} fails for good. */
  String olderRunReason(TaskEnvelope task) {
    return "task "
        + task.taskId()
        + " (type "
        + task.taskType()
        + ") belongs to run "
        + task.runId()
        + ", older than run "
        + newestRun
        + " this worker has seen: that run is over";
  }

  /** Keeps a task until a slot frees; {@link #nextToStart} hands it out. */
  void waitForSlot(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
    waiting.add(new Waiting(task, replyTo));
  }

  /**
   * Takes out the task of this id and run that waits for a slot, for its queue entity to hand to
   * another worker ({@link dev.pekkoprover.protocol.WorkerCommand.Withdraw}); null when none waits
   * under that id and run (it has started, or is not held, or is a later attempt waiting on its
   * cancelled compute, which keeps that compute's slot).
   */
  Waiting withdraw(String taskId, String runId) {
    for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
      Waiting w = it.next();
      if (w.task().taskId().equals(taskId) && (runId == null || runId.equals(w.task().runId()))) {
        it.remove();
        return w;
      }
    }
    return null;
  }

  /**
   * The queue handed this worker again a task it holds ({@link Verdict#ALREADY_HELD}), at a later
   * attempt (its lease ran out, or the queue found it missing meanwhile): what runs or waits here
   * answers for that attempt from now on.
   */
  void handedAgain(TaskEnvelope task) {
    RunningCompute run = running.get(task.taskId());
    if (run != null) {
      run.latestAttempt = Math.max(run.latestAttempt, task.attempt());
      return;
    }
    // a turn through the (short) deque, keeping its order
    for (int i = waiting.size(); i > 0; i--) {
      Waiting w = waiting.pollFirst();
      if (w.task().taskId().equals(task.taskId()) && task.attempt() > w.task().attempt()) {
        w = new Waiting(w.task().withAttempt(task.attempt()), w.replyTo());
      }
      waiting.addLast(w);
    }
  }

  /**
   * Keeps a task for the next free slot, ahead of those waiting: the later attempt of a cancelled
   * compute that just returned, which takes that compute's slot.
   */
  void waitFirst(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
    waiting.addFirst(new Waiting(task, replyTo));
  }

  /** Every task that waits for a slot, in arrival order, taken out (a drain hands them back). */
  List<Waiting> takeWaiting() {
    List<Waiting> taken = new ArrayList<>(waiting);
    waiting.clear();
    return taken;
  }

  /** How many computes run now. */
  int runningCount() {
    return running.size();
  }

  /** A compute started: it takes a slot until {@link #finished}. */
  void started(RunningCompute run) {
    running.put(run.task.taskId(), run);
  }

  /** The running compute of this task, or null. */
  RunningCompute running(String taskId) {
    return running.get(taskId);
  }

  /**
   * The compute of this task came back: its slot is free. Returns it, or null when it was not
   * running.
   */
  RunningCompute finished(String taskId) {
    return running.remove(taskId);
  }

  /**
   * The task that waited longest, taken out of the waiting ones, when a slot is free; else null.
   */
  Waiting nextToStart() {
    return running.size() < capacity ? waiting.poll() : null;
  }

  /**
   * What a cancellation did.
   *
   * @param interrupted running computes cancelled now (interrupted, or kept from starting): each
   *     gets its grace
   * @param dropped tasks that waited for a slot, let go of
   */
  record Cancelled(List<String> interrupted, List<String> dropped) {
    boolean isEmpty() {
      return interrupted.isEmpty() && dropped.isEmpty();
    }
  }

  /**
   * The queue took these tasks back: cancels those running (a compute already cancelled is left
   * alone) and drops those waiting. Ids this worker does not hold are ignored, and so is a task
   * held under one of these ids for another run than {@code runId} (ids start again with each run).
   *
   * @param runId the run of the tasks meant; null for the tasks held under these ids whatever their
   *     run (the worker's own cancels of computes it holds, a sender of an older build)
   */
  Cancelled cancel(List<String> taskIds, String runId, String reason) {
    List<String> interrupted = new ArrayList<>();
    List<String> dropped = new ArrayList<>();
    for (String taskId : taskIds) {
      TaskEnvelope held = heldTask(taskId);
      if (held == null || (runId != null && !runId.equals(held.runId()))) {
        continue;
      }
      RunningCompute run = running.get(taskId);
      if (run != null) {
        if (!run.isCancelled()) {
          run.cancel(reason);
          interrupted.add(taskId);
        } else if (run.nextAttempt != null) {
          // the later attempt waiting on this cancelled compute is cancelled too
          run.nextAttempt = null;
          run.nextAttemptFrom = null;
          dropped.add(taskId);
        }
      } else if (dropWaiting(taskId)) {
        dropped.add(taskId);
      }
    }
    return new Cancelled(interrupted, dropped);
  }

  /**
   * The ids of the computes running here, not cancelled yet, for tasks of runs older than {@code
   * runId}: their results would be dropped once run {@code runId} took over.
   */
  List<String> runningBefore(String runId) {
    List<String> ids = new ArrayList<>();
    for (RunningCompute run : running.values()) {
      if (!run.isCancelled() && RunIds.isNewer(runId, run.task.runId())) {
        ids.add(run.task.taskId());
      }
    }
    return ids;
  }

  private boolean dropWaiting(String taskId) {
    for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
      if (it.next().task().taskId().equals(taskId)) {
        it.remove();
        return true;
      }
    }
    return false;
  }

  /** The task of this id that runs or waits here, or null. */
  TaskEnvelope heldTask(String taskId) {
    RunningCompute run = running.get(taskId);
    if (run != null) {
      return run.task;
    }
    // a loop, not a stream: this runs for every task handed over, and the waiting ones are few
    // (only tasks that need a slot wait, at most what the queue sent past the free slots)
    for (Waiting w : waiting) {
      if (w.task().taskId().equals(taskId)) {
        return w.task();
      }
    }
    return null;
  }

  /** Why a task of verdict {@link Verdict#ID_TAKEN} is declined. */
  static String idTakenReason(TaskEnvelope task, TaskEnvelope held) {
    return "this worker holds another task under id "
        + task.taskId()
        + " (run "
        + held.runId()
        + ", flow "
        + held.flowId()
        + "; this one is of run "
        + task.runId()
        + ", flow "
        + task.flowId()
        + "): another worker takes it";
  }

  /**
   * The ids of the tasks held (as {@link #held}) that {@code from} handed out: a scan, for the rare
   * case of a queue entity that stopped.
   */
  List<TaskEnvelope> heldFrom(Predicate<ActorRef<QueueCommand>> from) {
    List<TaskEnvelope> tasks = new ArrayList<>();
    for (RunningCompute run : running.values()) {
      if (from.test(run.replyTo)) {
        tasks.add(run.task);
      }
    }
    for (Waiting w : waiting) {
      if (from.test(w.replyTo())) {
        tasks.add(w.task());
      }
    }
    return tasks;
  }

  /**
   * The ids of the tasks held but not started: those that wait for a slot, in arrival order, then
   * those handed back at a later attempt that wait for their cancelled compute to return. A load
   * report names them, so that their queue's lease starts when they start. Empty nearly always.
   */
  List<String> waitingIds() {
    List<String> ids = null;
    for (Waiting w : waiting) {
      ids = ids == null ? new ArrayList<>(waiting.size()) : ids;
      ids.add(w.task().taskId());
    }
    for (RunningCompute run : running.values()) {
      if (run.nextAttempt != null) {
        ids = ids == null ? new ArrayList<>(2) : ids;
        ids.add(run.nextAttempt.taskId());
      }
    }
    return ids == null ? List.of() : ids;
  }

  /**
   * The ids of every task held: running ones in start order, then waiting ones in arrival order.
   */
  List<String> held() {
    List<String> held = new ArrayList<>(running.size() + waiting.size());
    held.addAll(running.keySet());
    waiting.forEach(w -> held.add(w.task().taskId()));
    return held;
  }
}
