package dev.pekkoprover.worker;

import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.ReportBatches;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerFault;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.slf4j.Logger;

/**
 * What one worker incarnation tells its queue about the tasks it holds: each outcome as its report,
 * checked ({@link TaskValues}) and logged where it matters, gathered per queue (entity) that
 * dispatched the task in {@link ReportBatches}; and, where the queue is sharded, what it holds
 * ({@link QueueCommand.WorkerLoad}) after each change. Both go out when the worker's flush message
 * comes round, which the first report or change after a flush asks for, so it comes after the
 * messages already in the worker's mailbox: reports travel in batches under load, one by one when
 * idle. A batch for a queue on another node goes out early once it holds {@link
 * WorkerSettings#maxReportsPerMessage()} reports, so that several are in flight between the nodes.
 * Nothing is logged above DEBUG for a task that succeeds.
 *
 * <p>Used on the worker actor's thread only. A crash ({@link #crashes}) is not a report: the worker
 * goes down instead.
 */
final class TaskReports {
  private final String workerId;
  private final String incarnation;

  /**
   * Load reports after each change: only where the queue is sharded ({@code
   * prover.worker.report-load}).
   */
  private final boolean reportLoad;

  /**
   * Every result is checked as one bound for another node ({@code
   * prover.queue.check-payloads-in-one-jvm}): false nearly always.
   */
  private final boolean checkEveryResult;

  /** {@link WorkerSettings#maxReportsPerMessage()}: 0, or a batch size that goes out at once. */
  private final int maxReportsPerMessage;

  /** True for a queue (entity) on another node, where {@link #maxReportsPerMessage} applies. */
  private final Predicate<ActorRef<QueueCommand>> onAnotherNode;

  /**
   * The last queue asked about and {@link #onAnotherNode}'s answer for it: a worker reports to one
   * queue (or entity) nearly always, and the answer walks the ref's path up to its root.
   */
  private ActorRef<QueueCommand> lastAsked;

  private boolean lastOnAnotherNode;

  private final ActorRef<WorkerCommand> self;
  private final ActorRef<QueueCommand> queue;
  private final WorkerCommand flushMessage;
  private final TaskValues values;
  private final WorkerMeters meters;
  private final Logger log;
  private final ReportBatches<ActorRef<QueueCommand>> batches = new ReportBatches<>();

  /**
   * Queue entities that handed this worker tasks and have stopped since ({@link #entityStopped}):
   * their tasks' reports go to {@link #queue} instead, which routes them to where the entity starts
   * again. Empty nearly always.
   */
  private final Set<ActorRef<QueueCommand>> stopped = new HashSet<>();

  /**
   * Where the report of a task goes that another queue (entity) handed this worker again while it
   * held it ({@link #redirect}), by task id; removed with the report. Empty nearly always.
   */
  private final Map<String, ActorRef<QueueCommand>> redirected = new HashMap<>();

  /**
   * The results sent through {@link #queue} for a stopped entity's tasks, and those sent to it
   * shortly before it stopped ({@link #recentlySent}), by task id: the last {@link #MAX_REROUTED},
   * for {@link #answerAgain}. Empty unless a queue node left or died while this worker ran its
   * entities' tasks.
   */
  private final Map<String, Rerouted> rerouted =
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Rerouted> eldest) {
          return size() > MAX_REROUTED;
        }
      };

  /**
   * The results this worker sent straight to a queue entity on another node in the last {@link
   * #SENT_NANOS}, oldest first, at most {@link #MAX_SENT} of them and {@link #MAX_SENT_BYTES}
   * (serialised) in all. When that entity stops ({@link #entityStopped}) a result it had not taken
   * yet is lost with it: one in transit at a hand-off, and every one sent to a node that crashed,
   * between the crash and its removal (10-15 s with cluster.conf). Those results move to {@link
   * #rerouted} then, so that the entity's new life hands their re-sent tasks back here, answered
   * with the result, rather than to another worker to compute a second time. A result the entity
   * did take reached its flow, which sends that task no more: its id in the load reports costs the
   * new entity an entry until it expires. Empty where the queue is in the same JVM.
   */
  private final ArrayDeque<Sent> recentlySent = new ArrayDeque<>();

  /** The serialised sizes of {@link #recentlySent}, summed. */
  private long recentlySentBytes;

  /** A result in {@link #recentlySent}: where it went, and what {@link #rerouted} would keep. */
  private record Sent(ActorRef<QueueCommand> to, String taskId, Rerouted kept, int bytes) {}

  /**
   * 64 results: more than a worker's slots (a proof runs for seconds to minutes, so a crash window
   * holds a few of each worker's results); the cheap tasks that send more are cheap to compute
   * again.
   */
  static final int MAX_SENT = 64;

  /** 16 MiB: 16 results at the shipped {@code max-payload-size} (1 MiB). */
  static final long MAX_SENT_BYTES = 16L << 20;

  /**
   * 30 s: a crashed queue node is removed about 13 s after the crash (README, failures in the
   * cluster); a hand-off loses only what was in transit.
   */
  static final long SENT_NANOS = 30_000_000_000L;

  /** A result in {@link #rerouted}, with what identifies its task beyond the id, and when. */
  private record Rerouted(String runId, String flowId, TaskSucceeded report, long sentNanos) {}

  /** 256: see {@link #rerouted}; a worker holds at most its capacity of tasks at a time. */
  static final int MAX_REROUTED = 256;

  /**
   * 2 minutes: how long a result stays in {@link #rerouted}. The flows send a moved entity's tasks
   * again as soon as they see its node removed; a queue node that died is removed about 20 s after
   * (README, failures in the cluster).
   */
  static final long REROUTED_NANOS = 120_000_000_000L;

  /**
   * The tasks the worker holds that a queue matching the predicate handed out ({@link
   * Admission#heldFrom}); for the orphaned tasks of a load report. None until {@link #heldFrom} is
   * set.
   */
  private Function<Predicate<ActorRef<QueueCommand>>, List<TaskEnvelope>> heldFrom =
      from -> List.of();

  /**
   * The held tasks that wait for a slot, not started ({@link Admission#waitingIds}); for load
   * reports. None until {@link #waitingFrom} is set.
   */
  private Supplier<List<String>> waiting = List::of;

  /** {@link #flushMessage} is on its way to the worker. */
  private boolean flushScheduled;

  /** What the worker holds changed since the last load report. */
  private boolean loadChanged;

  /** What a worker counts as a queue on another node: a ref whose address has a host and port. */
  static final Predicate<ActorRef<QueueCommand>> ON_ANOTHER_NODE =
      to -> to.path().address().hasGlobalScope();

  /**
   * @param self the worker, told {@code flushMessage} when a flush is due
   * @param queue where load reports go; task reports go to the queue (entity) that dispatched the
   *     task, or here once that entity has stopped ({@link #entityStopped})
   * @param onAnotherNode which queues are on another node ({@link #ON_ANOTHER_NODE}; a test's
   *     probes are all local): where a batch goes out at {@link
   *     WorkerSettings#maxReportsPerMessage()} and a result is checked as one that crosses nodes
   *     ({@link TaskValues#result})
   */
  TaskReports(
      WorkerSettings settings,
      String incarnation,
      ActorRef<WorkerCommand> self,
      WorkerCommand flushMessage,
      ActorRef<QueueCommand> queue,
      TaskValues values,
      WorkerMeters meters,
      Logger log,
      Predicate<ActorRef<QueueCommand>> onAnotherNode) {
    this.workerId = settings.workerId();
    this.maxReportsPerMessage = settings.maxReportsPerMessage();
    this.onAnotherNode = onAnotherNode;
    this.reportLoad = settings.reportLoad();
    this.checkEveryResult = settings.checkEveryResult();
    this.incarnation = incarnation;
    this.self = self;
    this.flushMessage = flushMessage;
    this.queue = queue;
    this.values = values;
    this.meters = meters;
    this.log = log;
  }

  /**
   * The task's input decoded to {@code inputType}, or null after failing the task for good (a bad
   * payload).
   */
  Object input(TaskEnvelope task, Class<?> inputType, ActorRef<QueueCommand> replyTo) {
    TaskValues.Checked input = values.input(task, inputType);
    if (!input.ok()) {
      failedForGood(task, input.problem(), replyTo);
    }
    return input.value();
  }

  /**
   * A result; one that could not reach {@code replyTo} fails its task for good instead of being
   * lost in transit.
   */
  private void succeeded(TaskEnvelope task, Object result, ActorRef<QueueCommand> to) {
    ActorRef<QueueCommand> replyTo = route(task, to);
    TaskValues.Checked checked =
        values.result(task, result, checkEveryResult || isOnAnotherNode(replyTo));
    if (!checked.ok()) {
      meters.resultRefused(checked.refusedAs());
      failedForGood(task, checked.problem(), replyTo);
      return;
    }
    // bound for another node, the result travels as the bytes of its check, written as they are
    // and decoded only by its flow; the raw value was serialised a second time on the way out, and
    // again between the entity's node and the flow's
    TaskSucceeded report =
        new TaskSucceeded(
            workerId,
            incarnation,
            task.taskId(),
            task.runId(),
            task.taskType(),
            task.attempt(),
            checked.value());
    if (replyTo == queue && to != queue) {
      forgetExpiredReroutes(System.nanoTime());
      rerouted.remove(task.taskId()); // one answered again: to the end, in the order of the times
      rerouted.put(
          task.taskId(), new Rerouted(task.runId(), task.flowId(), report, System.nanoTime()));
    } else if (replyTo != queue && isOnAnotherNode(replyTo)) {
      rememberSent(replyTo, task, report, checked.value());
    }
    gathered(replyTo, batches.add(replyTo, report));
  }

  /** Keeps a result sent straight to an entity on another node in {@link #recentlySent}. */
  private void rememberSent(
      ActorRef<QueueCommand> to, TaskEnvelope task, TaskSucceeded report, Object travels) {
    long now = System.nanoTime();
    int bytes = travels instanceof SerializedPayload payload ? payload.size() : 0;
    recentlySent.addLast(
        new Sent(to, task.taskId(), new Rerouted(task.runId(), task.flowId(), report, now), bytes));
    recentlySentBytes += bytes;
    // a result larger than MAX_SENT_BYTES alone (max-payload-size raised) is dropped at once
    while (!recentlySent.isEmpty()
        && (recentlySent.size() > MAX_SENT
            || recentlySentBytes > MAX_SENT_BYTES
            || now - recentlySent.peekFirst().kept().sentNanos() > SENT_NANOS)) {
      recentlySentBytes -= recentlySent.removeFirst().bytes();
    }
  }

  private void forgetExpiredReroutes(long now) {
    for (var it = rerouted.values().iterator(); it.hasNext(); ) {
      if (now - it.next().sentNanos() < REROUTED_NANOS) {
        return; // in the order sent: the rest are younger
      }
      it.remove();
    }
  }

  /**
   * A queue hands out a task whose result this worker sent through {@link #queue} because the
   * entity that handed it out first had stopped ({@link #entityStopped}): the entity's new life
   * sent it out again before that result reached it. Answers with the same result instead of a
   * second compute; false when there is none. The result stays kept (until {@link #REROUTED_NANOS})
   * and its task named orphaned in the load reports: the flows may send a moved entity's task more
   * than once (once per queue node removed more than a loss-check-interval apart, and again when a
   * loss check finds it missing), and the entity hands a repeat that comes after this answer back
   * here too, to be answered the same way.
   */
  boolean answerAgain(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
    if (rerouted.isEmpty()) {
      return false;
    }
    forgetExpiredReroutes(System.nanoTime());
    Rerouted sent = rerouted.get(task.taskId());
    if (sent == null
        || !sent.runId().equals(task.runId())
        || !sent.flowId().equals(task.flowId())) {
      return false; // task ids start again with each sequencer run: another task of that id
    }
    log.debug(
        "Worker {}: {} handed out again after its result went through the node's queue front: "
            + "the same result again",
        workerId,
        task.describe());
    succeeded(task, sent.report().result(), replyTo); // checked again: now bound for replyTo
    return true;
  }

  /**
   * The result of a registration task: the parameters it registered with, which are not checked
   * again.
   */
  void registered(TaskEnvelope task, Object parameters, ActorRef<QueueCommand> to) {
    ActorRef<QueueCommand> replyTo = route(task, to);
    gathered(
        replyTo,
        batches.add(
            replyTo,
            new TaskSucceeded(
                workerId,
                incarnation,
                task.taskId(),
                task.runId(),
                task.taskType(),
                task.attempt(),
                parameters)));
  }

  /**
   * True when {@code failure} crashes the worker rather than failing its task: a {@link
   * WorkerFault}, an Error.
   */
  static boolean crashes(Throwable failure) {
    return failure instanceof WorkerFault || failure instanceof Error;
  }

  /**
   * The outcome of a compute that did not crash its worker ({@link #crashes}): its result, or its
   * failure, retryable when the compute was cancelled (the interrupt, mostly; the cancellation was
   * logged).
   *
   * @param failure what it threw, or null when it returned {@code result}
   * @param cancelReason why it was cancelled, or null when it was not
   */
  void computed(
      TaskEnvelope task,
      Object result,
      Throwable failure,
      String cancelReason,
      ActorRef<QueueCommand> replyTo) {
    if (cancelReason != null) {
      log.debug(
          "Worker {}: cancelled {} returned ({})",
          workerId,
          task.describe(),
          failure == null ? "with a result" : failure.toString());
    }
    if (failure == null) {
      // a cancelled compute too: the queue takes a late result if it comes first, and it frees the
      // slot kept for it
      succeeded(task, result, replyTo);
    } else if (cancelReason != null) {
      ActorRef<QueueCommand> to = route(task, replyTo);
      gathered(to, batches.add(to, failure(task, "cancelled: " + cancelReason, true)));
    } else {
      failed(task, failure, replyTo);
    }
  }

  /**
   * A compute that threw: for good on a {@link PermanentTaskFailure}, else retryable (one WARN
   * line).
   */
  private void failed(TaskEnvelope task, Throwable failure, ActorRef<QueueCommand> replyTo) {
    if (failure instanceof PermanentTaskFailure) {
      failedForGood(task, String.valueOf(failure.getMessage()), replyTo);
      return;
    }
    String reason = failure.getClass().getName() + ": " + failure.getMessage();
    log.warn(
        "{} failed on worker {} (its queue retries it while attempts remain): {}",
        task.describe(),
        workerId,
        reason);
    ActorRef<QueueCommand> to = route(task, replyTo);
    gathered(to, batches.add(to, failure(task, reason, true)));
  }

  /** Running it again cannot help (one WARN line). */
  void failedForGood(TaskEnvelope task, String reason, ActorRef<QueueCommand> replyTo) {
    log.warn("{} failed for good on worker {}: {}", task.describe(), workerId, reason);
    ActorRef<QueueCommand> to = route(task, replyTo);
    gathered(to, batches.add(to, failure(task, reason, false)));
  }

  /** Not a type this worker serves in its state (DEBUG only: a registration race, not a fault). */
  void declined(TaskEnvelope task, String reason, ActorRef<QueueCommand> to) {
    declined(task, reason, route(task, to), false, false);
  }

  /**
   * A task that waited for a slot, withdrawn by its queue ({@link
   * QueueCommand.TaskDeclined#noFreeSlot}): back to it, to go to a worker with a free slot (DEBUG
   * only: two queue entities filled the same slot, a race settled, not a fault).
   */
  void noFreeSlot(TaskEnvelope task, String reason, ActorRef<QueueCommand> to) {
    declined(task, reason, route(task, to), false, true);
  }

  /**
   * Another task under the id of one this worker holds ({@link Admission.Verdict#ID_TAKEN}):
   * declined to {@code to} itself; a {@link #redirect} of that id is the held task's.
   */
  void idTaken(TaskEnvelope task, String reason, ActorRef<QueueCommand> to) {
    declined(task, reason, to, true, false);
  }

  private void declined(
      TaskEnvelope task,
      String reason,
      ActorRef<QueueCommand> replyTo,
      boolean atInfo,
      boolean noFreeSlot) {
    if (atInfo) {
      log.info("Worker {} declines {}: {}", workerId, task.describe(), reason);
    } else {
      log.debug("Worker {} declines {}: {}", workerId, task.describe(), reason);
    }
    gathered(
        replyTo,
        batches.add(
            replyTo,
            new TaskDeclined(
                workerId,
                incarnation,
                task.taskId(),
                task.runId(),
                task.taskType(),
                task.attempt(),
                reason,
                noFreeSlot)));
  }

  /**
   * Where the report of {@code task} goes: the queue that handed it out last ({@link #redirect}),
   * or this worker's {@link #queue} when that queue entity has stopped ({@link #entityStopped}).
   */
  private ActorRef<QueueCommand> route(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
    if (!redirected.isEmpty()) {
      ActorRef<QueueCommand> latest = redirected.remove(task.taskId());
      if (latest != null) {
        replyTo = latest;
      }
    }
    return !stopped.isEmpty() && stopped.contains(replyTo) ? queue : replyTo;
  }

  /**
   * A queue (entity) handed out again a task this worker holds already (the entity started anew
   * elsewhere after its node left or died, and its flow sent the task again): that task's report
   * goes to {@code replyTo}, the queue that holds it now.
   */
  void redirect(String taskId, ActorRef<QueueCommand> replyTo) {
    redirected.put(taskId, replyTo);
  }

  /**
   * A task that waited here was dropped (cancelled before it started) and gets no report: its
   * {@link #redirect} goes too, so that a later task under that id reports to its own queue.
   */
  void droppedUnreported(String taskId) {
    if (!redirected.isEmpty()) {
      redirected.remove(taskId);
    }
  }

  /**
   * A queue entity that handed this worker tasks has stopped: its shard was handed off (its node
   * leaves) or its node is gone. The reports of those tasks, those gathered already and those to
   * come, go to this worker's {@link #queue}, which routes them by type to where the entity starts
   * again; that entity takes a result for a task it holds, whichever worker it handed the task to,
   * and the flows send a moved entity's tasks again as soon as they see its node removed; the load
   * reports name those tasks as orphaned ({@link #orphaned}), so that the new entity hands each
   * re-sent one back here rather than to another worker. Without this, a compute under way when its
   * entity moved was lost and ran again. The results sent to the entity lately ({@link
   * #recentlySent}) are kept the same way: one it had not taken is lost with it.
   */
  void entityStopped(ActorRef<QueueCommand> entity) {
    stopped.add(entity);
    batches.flush(entity, (to, report) -> queue.tell(report));
    if (!recentlySent.isEmpty()) {
      long now = System.nanoTime();
      forgetExpiredReroutes(now);
      for (Iterator<Sent> it = recentlySent.iterator(); it.hasNext(); ) {
        Sent sent = it.next();
        if (sent.to().equals(entity)) {
          it.remove();
          recentlySentBytes -= sent.bytes();
          Rerouted kept = sent.kept();
          if (now - kept.sentNanos() <= SENT_NANOS) {
            // kept from now on: rerouted is in the order of these times (a result answered again
            // is kept already, further up: it moves to the end)
            rerouted.remove(sent.taskId());
            rerouted.put(
                sent.taskId(), new Rerouted(kept.runId(), kept.flowId(), kept.report(), now));
          }
        }
      }
    }
  }

  /** Where a load report's tasks waiting for a slot are found: {@link Admission#waitingIds}. */
  void waitingFrom(Supplier<List<String>> waiting) {
    this.waiting = waiting;
  }

  /** Where the orphaned tasks of a load report are found: {@link Admission#heldFrom}. */
  void heldFrom(Function<Predicate<ActorRef<QueueCommand>>, List<TaskEnvelope>> heldFrom) {
    this.heldFrom = heldFrom;
  }

  /**
   * The tasks whose queue entity stopped and that no queue handed out again since ({@link
   * QueueCommand.WorkerLoad#orphanedTaskIds}): those held, and those whose result went through the
   * front and is kept for {@link #answerAgain}. Empty, without a scan, unless an entity stopped;
   * once no task held comes from a stopped entity, the stopped ones are forgotten (a stopped entity
   * hands out nothing more).
   */
  private Orphans orphaned() {
    if (stopped.isEmpty() && rerouted.isEmpty()) {
      return Orphans.NONE;
    }
    List<TaskEnvelope> held = stopped.isEmpty() ? List.of() : heldFrom.apply(stopped::contains);
    if (held.isEmpty()) {
      stopped.clear();
    }
    Orphans orphans = new Orphans(new ArrayList<>(), new ArrayList<>());
    for (TaskEnvelope task : held) {
      if (!redirected.containsKey(task.taskId())) {
        orphans.add(task.taskId(), task.runId());
      }
    }
    if (!rerouted.isEmpty()) {
      forgetExpiredReroutes(System.nanoTime());
      rerouted.forEach((taskId, kept) -> orphans.add(taskId, kept.runId()));
    }
    return orphans;
  }

  /** The orphaned tasks of a load report: their ids, and the run of each in the same order. */
  private record Orphans(List<String> taskIds, List<String> runIds) {
    static final Orphans NONE = new Orphans(List.of(), List.of());

    void add(String taskId, String runId) {
      taskIds.add(taskId);
      runIds.add(runId);
    }
  }

  /** What the worker holds changed: reported with the next flush, where the queue is sharded. */
  void loadChanged() {
    if (reportLoad) {
      loadChanged = true;
      scheduleFlush();
    }
  }

  /**
   * The flush message came round: sends the reports gathered and, when it changed, what the worker
   * holds.
   */
  void flushDue(Supplier<List<String>> held) {
    flushScheduled = false;
    flush();
    if (loadChanged) {
      sendLoad(held.get(), false);
    }
  }

  /**
   * The periodic report: the reports gathered, then everything the worker holds. Reports first: a
   * load report must never leave out a task whose result has not gone out yet.
   */
  void periodic(List<String> held) {
    flush();
    sendLoad(held, true);
  }

  /**
   * Sends what was gathered: one message per queue (entity), the lone report itself or several as
   * one Reports.
   */
  void flush() {
    batches.flush(ActorRef::tell);
  }

  private void sendLoad(List<String> held, boolean periodic) {
    loadChanged = false;
    Orphans orphans = orphaned();
    queue.tell(
        new QueueCommand.WorkerLoad(
            self,
            workerId,
            incarnation,
            held,
            periodic,
            orphans.taskIds(),
            orphans.runIds(),
            waiting.get()));
  }

  private void scheduleFlush() {
    if (!flushScheduled) {
      flushScheduled = true;
      self.tell(flushMessage);
    }
  }

  private TaskFailed failure(TaskEnvelope task, String reason, boolean retryable) {
    return new TaskFailed(
        workerId,
        incarnation,
        task.taskId(),
        task.runId(),
        task.taskType(),
        task.attempt(),
        reason,
        retryable);
  }

  /**
   * A report joined {@code to}'s batch: the first of a batch asks for a flush; a batch for another
   * node that reached {@link #maxReportsPerMessage} goes out now.
   */
  private void gathered(ActorRef<QueueCommand> to, boolean firstOfBatch) {
    if (firstOfBatch) {
      scheduleFlush();
    }
    if (maxReportsPerMessage > 0
        && isOnAnotherNode(to) // the size is a map lookup
        && batches.size(to) >= maxReportsPerMessage) {
      batches.flush(to, ActorRef::tell);
    }
  }

  private boolean isOnAnotherNode(ActorRef<QueueCommand> to) {
    if (to != lastAsked) {
      lastOnAnotherNode = onAnotherNode.test(to);
      lastAsked = to;
    }
    return lastOnAnotherNode;
  }
}
