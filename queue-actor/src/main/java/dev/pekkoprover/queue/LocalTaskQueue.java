package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.CancelFlow;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.GetStats;
import dev.pekkoprover.protocol.QueueCommand.Reports;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;

/**
 * The task queue for one JVM: a plain actor holding one queue per task type, speaking {@link QueueCommand}. It only
 * translates messages into calls on {@link TaskQueueState} and that state's effects into messages, timers and log
 * lines; the rules (capacity, idle-first, leases, redelivery, retries) live there.
 *
 * <p>Not to miss: all state is in memory. If this actor stops, its tasks are gone and flows must enqueue again.
 */
public final class LocalTaskQueue {

  // ---- private messages: to itself only, never across a node, so not serialised ----

  /** Time to look for overrun leases (one fixed-delay timer for the whole queue). */
  private enum LeaseTick implements QueueCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** A failed task's retry backoff is over; also its timer key. */
  private record RetryDue(String taskId) implements QueueCommand, NoSerializationVerificationNeeded {}

  /** A watched worker actor terminated. */
  private record WorkerStopped(ActorRef<WorkerCommand> worker)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  public static Behavior<QueueCommand> create(TaskCatalog catalog, QueueSettings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(LeaseTick.INSTANCE, settings.leaseCheckInterval());
      return new LocalTaskQueue(context, timers, catalog, settings).running();
    }));
  }

  private final ActorContext<QueueCommand> context;
  /** Where workers report the tasks this queue dispatched to them: itself (in a cluster, this entity). */
  private final ActorRef<QueueCommand> self;
  private final TimerScheduler<QueueCommand> timers;
  private final QueueSettings settings;
  private final Logger log;
  private final TaskQueueState<ActorRef<WorkerCommand>, ActorRef<TaskOutcome>> state;
  private final Set<ActorRef<WorkerCommand>> watched = new HashSet<>();
  /** The first dispatch decided while handling the current message (see {@link #sendDispatches}). */
  private ActorRef<WorkerCommand> firstWorker;
  private TaskEnvelope firstTask;
  /** All dispatches of the current message by worker, once there is more than one. */
  private Map<ActorRef<WorkerCommand>, List<TaskEnvelope>> moreDispatches;
  /** The last announcement of each worker, so that periodic repeats are not logged. */
  private final Map<String, WorkerServes> announcements = new HashMap<>();

  private LocalTaskQueue(
      ActorContext<QueueCommand> context,
      TimerScheduler<QueueCommand> timers,
      TaskCatalog catalog,
      QueueSettings settings) {
    this.context = context;
    this.self = context.getSelf();
    this.timers = timers;
    this.settings = settings;
    this.log = context.getLog();
    this.state = new TaskQueueState<>(catalog, settings, new Effects(), System::nanoTime);
  }

  private Behavior<QueueCommand> running() {
    return Behaviors.receive(QueueCommand.class)
        .onMessage(TaskSucceeded.class, this::onTaskSucceeded)
        .onMessage(Reports.class, this::onReports)
        .onMessage(Enqueue.class, this::onEnqueue)
        .onMessage(TaskFailed.class, this::onTaskFailed)
        .onMessage(TaskDeclined.class, this::onTaskDeclined)
        .onMessage(WorkerServes.class, this::onWorkerServes)
        .onMessage(WorkerStopped.class, this::onWorkerStopped)
        .onMessageEquals(LeaseTick.INSTANCE, this::onLeaseTick)
        .onMessage(RetryDue.class, this::onRetryDue)
        .onMessage(CancelFlow.class, this::onCancelFlow)
        .onMessage(GetStats.class, this::onGetStats)
        .build();
  }

  private Behavior<QueueCommand> onEnqueue(Enqueue msg) {
    for (TaskEnvelope task : msg.tasks()) {
      state.enqueue(task, msg.replyTo());
    }
    sendDispatches();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onTaskSucceeded(TaskSucceeded msg) {
    succeeded(msg);
    sendDispatches();
    return Behaviors.same();
  }

  private void succeeded(TaskSucceeded msg) {
    if (!state.succeeded(msg.workerId(), msg.incarnation(), msg.taskId(), msg.attempt(), msg.result())) {
      logUnknown("result", msg.taskId(), msg.taskType(), msg.workerId(), msg.incarnation());
    }
  }

  /** A batch of worker reports: each as if it came alone, then one round of dispatches for all of them. */
  private Behavior<QueueCommand> onReports(Reports msg) {
    msg.succeeded().forEach(this::succeeded);
    msg.failed().forEach(this::failed);
    msg.declined().forEach(this::declined);
    sendDispatches();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onTaskFailed(TaskFailed msg) {
    failed(msg);
    sendDispatches();
    return Behaviors.same();
  }

  private void failed(TaskFailed msg) {
    if (!state.failed(msg.workerId(), msg.incarnation(), msg.taskId(), msg.reason(), msg.retryable())) {
      logUnknown("failure (" + msg.reason() + ")", msg.taskId(), msg.taskType(), msg.workerId(), msg.incarnation());
    }
  }

  private Behavior<QueueCommand> onTaskDeclined(TaskDeclined msg) {
    declined(msg);
    sendDispatches();
    return Behaviors.same();
  }

  private void declined(TaskDeclined msg) {
    if (!state.declined(msg.workerId(), msg.incarnation(), msg.taskId())) {
      logUnknown("decline", msg.taskId(), msg.taskType(), msg.workerId(), msg.incarnation());
    } else {
      log.info("worker {} declined task {} (type {}, attempt {}): {}",
          msg.workerId(), msg.taskId(), msg.taskType(), msg.attempt(), msg.reason());
    }
  }

  private Behavior<QueueCommand> onWorkerServes(WorkerServes msg) {
    if (!msg.equals(announcements.put(msg.workerId(), msg))) {
      log.info("worker {} (incarnation {}) serves {} with capacity {}",
          msg.workerId(), msg.incarnation(), msg.taskTypes(), msg.capacity());
    } // else a periodic repeat: nothing changed, nothing to log
    if (watched.add(msg.worker())) {
      context.watchWith(msg.worker(), new WorkerStopped(msg.worker()));
    }
    state.workerServes(msg.workerId(), msg.incarnation(), msg.worker(), msg.taskTypes(), msg.capacity());
    sendDispatches();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onWorkerStopped(WorkerStopped msg) {
    watched.remove(msg.worker());
    Map<String, Integer> held = new HashMap<>();
    announcements.forEach((workerId, serves) -> {
      if (serves.worker().equals(msg.worker())) {
        held.put(workerId, state.slotsTaken(workerId));
      }
    });
    for (String workerId : state.workerTerminated(msg.worker())) {
      announcements.remove(workerId);
      int tasks = held.getOrDefault(workerId, -1);
      if (tasks > 0) {
        // each put-back task has its own line too; this one says why they moved
        log.warn("worker {} terminated ({}); the {} task(s) it held here were put back", workerId,
            msg.worker().path(), tasks);
      } else {
        // in a cluster every entity of a type it served sees this: only those that held its tasks warn
        log.debug("worker {} terminated ({}); it held no task here", workerId, msg.worker().path());
      }
    }
    sendDispatches();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onLeaseTick() {
    state.expireLeases();
    sendDispatches();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onRetryDue(RetryDue msg) {
    state.retryDue(msg.taskId());
    sendDispatches();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onCancelFlow(CancelFlow msg) {
    int dropped = state.cancelFlow(msg.flowId());
    log.info("flow {} cancelled: {} pending tasks dropped", msg.flowId(), dropped);
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onGetStats(GetStats msg) {
    msg.replyTo().tell(state.stats());
    return Behaviors.same();
  }

  /**
   * Sends the dispatches decided while handling the current message: one message per worker, with all its new
   * tasks. The common case (one task to one worker) allocates nothing beyond the Dispatch.
   */
  private void sendDispatches() {
    if (firstWorker == null) {
      return;
    }
    if (moreDispatches == null) {
      firstWorker.tell(new WorkerCommand.Dispatch(firstTask, self));
    } else {
      moreDispatches.forEach((worker, tasks) ->
          worker.tell(tasks.size() == 1
              ? new WorkerCommand.Dispatch(tasks.get(0), self)
              : new WorkerCommand.DispatchAll(tasks, self)));
      moreDispatches = null;
    }
    firstWorker = null;
    firstTask = null;
  }

  private void logUnknown(String what, String taskId, String taskType, String workerId, String incarnation) {
    log.warn("dropped {} for task {} (type {}) from worker {} (incarnation {}): the queue does not hold it there "
            + "(late after a redelivery, a duplicate, or made up)",
        what, taskId, taskType, workerId, incarnation);
  }

  /** Turns the state's decisions into messages, timers and log lines. */
  private final class Effects implements TaskQueueState.Effects<ActorRef<WorkerCommand>, ActorRef<TaskOutcome>> {
    @Override
    public void dispatch(ActorRef<WorkerCommand> worker, TaskEnvelope task) {
      if (firstWorker == null) {
        firstWorker = worker;
        firstTask = task;
        return;
      }
      if (moreDispatches == null) {
        moreDispatches = new LinkedHashMap<>();
        moreDispatches.computeIfAbsent(firstWorker, w -> new ArrayList<>()).add(firstTask);
      }
      moreDispatches.computeIfAbsent(worker, w -> new ArrayList<>()).add(task);
    }

    @Override
    public void reply(ActorRef<TaskOutcome> replyTo, TaskOutcome outcome) {
      if (outcome instanceof TaskOutcome.Failed failed) {
        log.error("task {} (type {}, flow {}) failed for good after {} attempts: {}",
            failed.taskId(), failed.taskType(), failed.flowId(), failed.attempts(), failed.reason());
      } else if (outcome instanceof TaskOutcome.Rejected rejected) {
        log.warn("task {} (type {}, flow {}) rejected: {}",
            rejected.taskId(), rejected.taskType(), rejected.flowId(), rejected.reason());
      }
      replyTo.tell(outcome);
    }

    @Override
    public void retryLater(TaskEnvelope task, String workerId, int failures, String reason) {
      Duration delay = settings.retryBackoff(failures, ThreadLocalRandom.current().nextDouble());
      log.warn("{} failed on worker {} ({} of {} attempts used), retrying in {} ms: {}",
          task.describe(), workerId, failures, settings.maxAttempts(), delay.toMillis(), reason);
      RetryDue due = new RetryDue(task.taskId());
      timers.startSingleTimer(due, due, delay);
    }

    @Override
    public void putBack(TaskEnvelope task, String workerId, TaskQueueState.Redelivery cause) {
      if (cause == TaskQueueState.Redelivery.DECLINED) {
        return; // logged with the decline's reason
      }
      log.warn("task {} (type {}, flow {}) put back as attempt {}: {}",
          task.taskId(), task.taskType(), task.flowId(), task.attempt(), cause.describe(workerId));
    }
  }
}
