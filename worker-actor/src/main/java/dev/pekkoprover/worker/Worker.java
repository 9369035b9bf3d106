package dev.pekkoprover.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.EncodedPayload;
import dev.pekkoprover.protocol.PayloadCheck;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerCommand.Cancel;
import dev.pekkoprover.protocol.WorkerCommand.Dispatch;
import dev.pekkoprover.protocol.WorkerCommand.DispatchAll;
import dev.pekkoprover.protocol.WorkerCommand.Refused;
import dev.pekkoprover.protocol.WorkerFault;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.Signal;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * A stateless worker: Unprepared -> Registered -> Ready. It tells the queue which task types it serves at each state
 * change ({@link QueueCommand.WorkerServes}) and what it holds ({@link QueueCommand.WorkerLoad}), runs the tasks the
 * queue dispatches to it and reports each one back as succeeded, failed or declined.
 *
 * <p>What a reader must not miss: the worker keeps nothing worth saving. A crash ({@link WorkerFault}, any {@link
 * Error}, a failing {@code prepare}, a compute that ignores its cancellation) makes the supervisor restart it with
 * backoff as a new <em>incarnation</em> in state Unprepared. Just before, it tells the queue it is going down and which
 * task caused it ({@link QueueCommand.WorkerGoingDown}), so its tasks move at once and only the culprit is charged;
 * results of the old incarnation's computations that arrive later are dropped. Nothing is stashed.
 *
 * <p>Slots: it runs at most {@code concurrency} computes. A task handed to it beyond that (in a cluster two queue
 * entities may each hand it the last free slot) waits here and starts when a slot frees; it is never bounced back.
 *
 * <p>Runs: it remembers the sequencer run it registered for. A task of a newer run means the sequencer restarted or a
 * standby took over: the worker goes back to Unprepared and registers again, so the new run's parameters apply.
 */
public final class Worker {

  // ---- private messages: results of work done off the actor's thread, and timers ----

  /**
   * A compute that ran on the compute dispatcher has finished. Never leaves this JVM (it is sent only to self through
   * pipeToSelf) and carries an arbitrary result object or a Throwable, so it is exempt from serialisation checks.
   */
  private record ComputeDone(String incarnation, Running run, Object result, Throwable failure)
      implements WorkerCommand, NoSerializationVerificationNeeded {}

  /**
   * The prepare of {@code index}-th regular type has finished. Same as {@link ComputeDone}: sent only to self, carries
   * a prepared state (a loaded circuit) or a Throwable, never serialised.
   */
  private record PrepareDone(String incarnation, int registration, int index, Object state, Throwable failure)
      implements WorkerCommand, NoSerializationVerificationNeeded {}

  /**
   * Time to send the reports gathered so far (and a changed load): sent to itself with the first report of a batch,
   * so it comes after the messages already waiting (more results, more dispatches). One report goes out at once; a
   * burst goes out as one {@link QueueCommand.Reports}. Sent only to self.
   */
  private enum SendReports implements WorkerCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Time to repeat the announcement and the load report; also its timer key. Sent only to self. */
  private enum Announce implements WorkerCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** A cancelled compute had {@code cancel-grace} to return; also its timer key. Sent only to self. */
  private record CancelGraceOver(String taskId) implements WorkerCommand, NoSerializationVerificationNeeded {}

  /** Reports bound for one queue (entity). */
  private static final class ReportBatch {
    final List<QueueCommand.TaskSucceeded> succeeded = new ArrayList<>();
    final List<QueueCommand.TaskFailed> failed = new ArrayList<>();
    final List<QueueCommand.TaskDeclined> declined = new ArrayList<>();
  }

  /** A served task type with the context its tasks run with in the current state. */
  private record Slot(TaskType<Object, Object> type, TaskContext context) {}

  /** A task handed to this worker that waits for a free slot. */
  private record Waiting(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {}

  /**
   * A compute in progress on the compute dispatcher. Its thread is known while the compute runs, so a cancellation
   * can interrupt exactly that compute; the lock keeps an interrupt from reaching the thread after the compute has
   * returned (and then the next task it runs).
   */
  private static final class Running {
    final TaskEnvelope task;
    final ActorRef<QueueCommand> replyTo;
    private Thread thread;
    private boolean cancelled;
    /** Why it was cancelled, once it was; read on the actor's thread only. */
    String cancelReason;

    Running(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
      this.task = task;
      this.replyTo = replyTo;
    }

    /** On the compute thread: false when the task was cancelled before it started. */
    synchronized boolean begin() {
      if (cancelled) {
        return false;
      }
      thread = Thread.currentThread();
      return true;
    }

    /** On the compute thread, when the compute has returned or thrown: no interrupt may reach it after this. */
    synchronized void end() {
      thread = null;
      Thread.interrupted(); // clears an interrupt that came in while the compute was finishing
    }

    /** On the actor's thread. */
    synchronized void cancel(String reason) {
      cancelled = true;
      cancelReason = reason;
      if (thread != null) {
        thread.interrupt();
      }
    }

    synchronized boolean isCancelled() {
      return cancelled;
    }
  }

  private final ActorContext<WorkerCommand> context;
  private final TimerScheduler<WorkerCommand> timers;
  private final WorkerSettings settings;
  private final String workerId;
  private final ServedTypes types;
  private final ActorRef<QueueCommand> queue;
  private final ActorRef<WorkerStateChanged> listener;
  private final Executor computeExecutor;
  private final ObjectMapper json;
  /** Checks a result bound for another node; off (0) in one JVM, where nothing crosses. */
  private final PayloadCheck results;
  private final WorkerMeters meters;
  /** Fresh at every (re)start; tells the queue that this worker restarted, and tells stale results apart. */
  private final String incarnation = UUID.randomUUID().toString();

  private WorkerState state;
  /** The types served in {@link #state}, by name, each with its task context. */
  private Map<String, Slot> served = Map.of();
  /** Reports not sent yet (see {@link SendReports}), by the queue (entity) that dispatched their task. */
  private final Map<ActorRef<QueueCommand>, ReportBatch> reports = new LinkedHashMap<>();
  /** A {@link SendReports} is on its way to this actor. */
  private boolean flushScheduled;
  /** What this worker holds changed since the last load report. */
  private boolean loadChanged;
  /** Computes on the compute dispatcher whose result has not come back yet, by task id. */
  private final Map<String, Running> running = new LinkedHashMap<>();
  /** Tasks handed to this worker beyond its free slots, in arrival order. */
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  /** The registration parameters, once registered. */
  private Object registration;
  /** The sequencer run of the registration task this worker took; null while unregistered. */
  private String registeredRun;
  /** What each regular type's prepare returned, by index in {@link ServedTypes#regular()}. */
  private Object[] preparedStates;
  /** Registrations of this incarnation so far, so that a prepare of an earlier registration is told apart. */
  private int registrations;
  /** What it announces: its types' versions, and the digest of {@link #registration} once registered. */
  private CatalogFingerprint fingerprint;
  /** A refusal of this incarnation was logged: the queue (every entity of its types) may say it more than once. */
  private boolean refusalLogged;

  private Worker(
      ActorContext<WorkerCommand> context,
      TimerScheduler<WorkerCommand> timers,
      WorkerSettings settings,
      ServedTypes types,
      ActorRef<QueueCommand> queue,
      ActorRef<WorkerStateChanged> listener) {
    this.context = context;
    this.timers = timers;
    this.settings = settings;
    this.workerId = settings.workerId();
    this.types = types;
    this.queue = queue;
    this.listener = listener;
    this.computeExecutor =
        context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(settings.computeDispatcher()));
    this.json = JacksonObjectMapperProvider.get(context.getSystem()).getOrCreate("jackson-json", Optional.empty());
    this.results = new PayloadCheck(context.getSystem(), settings.maxResultBytes());
    this.meters = WorkerMeters.get(context.getSystem());
    this.fingerprint = types.fingerprint();
  }

  /**
   * The worker under its supervisor, which restarts it with backoff on any exception.
   *
   * @param types the task types this worker is configured for (always including registration)
   * @param queue where it announces itself and reports results
   * @param listener told of every state change besides the event stream (e.g. the worker-ready gate); may be null
   */
  public static Behavior<WorkerCommand> create(
      WorkerSettings settings,
      TaskCatalog types,
      ActorRef<QueueCommand> queue,
      ActorRef<WorkerStateChanged> listener) {
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(queue, "queue");
    ServedTypes served = new ServedTypes(Objects.requireNonNull(types, "types"));
    AtomicInteger starts = new AtomicInteger();
    Behavior<WorkerCommand> worker =
        Behaviors.setup(
            context ->
                Behaviors.withTimers(
                    timers -> {
                      context.setLoggerName(Worker.class); // else a Pekko logger, kept at WARN by a node's logback
                      if (starts.getAndIncrement() > 0) {
                        WorkerMeters.get(context.getSystem()).restarted();
                      }
                      if (!settings.announceInterval().isZero()) {
                        timers.startTimerWithFixedDelay(Announce.INSTANCE, settings.announceInterval());
                      }
                      return new Worker(context, timers, settings, served, queue, listener).unprepared("started");
                    }));
    SupervisorStrategy restart =
        SupervisorStrategy.restartWithBackoff(
                settings.restartMinBackoff(), settings.restartMaxBackoff(), settings.restartRandomFactor())
            .withResetBackoffAfter(settings.restartResetAfter());
    // A WorkerFault is a restart on purpose, already logged with its task and reason; anything else is a bug in the
    // worker and keeps the supervisor's log line with its stack trace.
    return Behaviors.supervise(
            Behaviors.supervise(worker).onFailure(WorkerFault.class, restart.withLoggingEnabled(false)))
        .onFailure(Exception.class, restart);
  }

  // ---- states ----

  private Behavior<WorkerCommand> unprepared(String detail) {
    registration = null;
    registeredRun = null;
    preparedStates = null;
    fingerprint = types.fingerprint();
    enter(WorkerState.UNPREPARED, detail);
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(Dispatch.class, this::onDispatch)
        .onMessage(DispatchAll.class, this::onDispatchAll)
        .onMessage(ComputeDone.class, this::onComputeDone)
        .onMessage(Cancel.class, this::onCancel)
        .onMessage(CancelGraceOver.class, this::onCancelGraceOver)
        .onMessage(PrepareDone.class, this::onStalePrepareDone)
        .onMessageEquals(Announce.INSTANCE, this::onAnnounce)
        .onMessage(Refused.class, this::onRefused)
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .onSignal(PostStop.class, this::onStopping)
        .onSignal(PreRestart.class, this::onStopping)
        .build();
  }

  private Behavior<WorkerCommand> registered(Object parameters, TaskEnvelope registrationTask) {
    this.registration = parameters;
    this.registeredRun = registrationTask.runId();
    this.fingerprint = types.fingerprint().registeredWith(registeredRun, keysDigest(parameters));
    this.preparedStates = new Object[types.regular().size()];
    this.registrations++;
    enter(WorkerState.REGISTERED, "registered by task " + registrationTask.taskId() + " of run "
        + registrationTask.runId() + "; preparing " + types.regular().stream().map(TaskType::name).toList());
    if (types.regular().isEmpty()) {
      return ready();
    }
    startPrepare(0);
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(Dispatch.class, this::onDispatch)
        .onMessage(DispatchAll.class, this::onDispatchAll)
        .onMessage(ComputeDone.class, this::onComputeDone)
        .onMessage(Cancel.class, this::onCancel)
        .onMessage(CancelGraceOver.class, this::onCancelGraceOver)
        .onMessage(PrepareDone.class, this::onPrepareDone)
        .onMessageEquals(Announce.INSTANCE, this::onAnnounce)
        .onMessage(Refused.class, this::onRefused)
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .onSignal(PostStop.class, this::onStopping)
        .onSignal(PreRestart.class, this::onStopping)
        .build();
  }

  private Behavior<WorkerCommand> ready() {
    enter(WorkerState.READY, "prepared");
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(Dispatch.class, this::onDispatch)
        .onMessage(DispatchAll.class, this::onDispatchAll)
        .onMessage(ComputeDone.class, this::onComputeDone)
        .onMessage(Cancel.class, this::onCancel)
        .onMessage(CancelGraceOver.class, this::onCancelGraceOver)
        .onMessage(PrepareDone.class, this::onStalePrepareDone)
        .onMessageEquals(Announce.INSTANCE, this::onAnnounce)
        .onMessage(Refused.class, this::onRefused)
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .onSignal(PostStop.class, this::onStopping)
        .onSignal(PreRestart.class, this::onStopping)
        .build();
  }

  /** This incarnation stops or is about to restart: it no longer counts in its node's workers by state. */
  private Behavior<WorkerCommand> onStopping(Signal signal) {
    meters.gone(workerId);
    return Behaviors.same();
  }

  /** Switches the served types, then tells the queue, the event stream and the listener. */
  private void enter(WorkerState newState, String detail) {
    state = newState;
    meters.entered(workerId, newState);
    served = slots(newState);
    var serves = types.served(newState);
    announce();
    WorkerStateChanged changed = new WorkerStateChanged(workerId, incarnation, newState);
    context.getSystem().eventStream().tell(new EventStream.Publish<>(changed));
    if (listener != null) {
      listener.tell(changed);
    }
    context.getLog().info(
        "Worker {} (incarnation {}) is {} ({}); serves {} with capacity {}",
        workerId, incarnation, newState, detail, serves, settings.concurrency());
  }

  private void announce() {
    queue.tell(
        new QueueCommand.WorkerServes(context.getSelf(), workerId, incarnation, types.served(state),
            settings.concurrency(), state, types.served(WorkerState.READY), fingerprint));
  }

  /** The digest the queue compares; null (its keys are then not checked) for parameters that do not write as JSON. */
  private String keysDigest(Object parameters) {
    try {
      return CatalogFingerprint.keysDigestOf(parameters);
    } catch (IllegalArgumentException e) {
      context.getLog().warn("Worker {}: {}; the queue cannot check which keys it holds", workerId, e.getMessage());
      return null;
    }
  }

  /**
   * The queue gives this incarnation no work. An out-of-date registration mends itself: the worker registers again. A
   * catalog of another build does not: one ERROR line, and the worker waits (it keeps announcing itself, so it gets
   * work once the queue runs the same build).
   */
  private Behavior<WorkerCommand> onRefused(Refused refused) {
    if (!incarnation.equals(refused.incarnation())) {
      return Behaviors.same(); // a refusal of an earlier incarnation
    }
    if (refused.registerAgain()) {
      if (state == WorkerState.UNPREPARED || !Objects.equals(refused.keysDigest(), fingerprint.keysDigest())) {
        return Behaviors.same(); // it has registered again since
      }
      return unprepared("registering again: " + refused.reason());
    }
    if (!refusalLogged) {
      refusalLogged = true;
      context.getLog().error("Worker {} (incarnation {}) is refused by the queue: {}", workerId, incarnation,
          refused.reason());
    }
    return Behaviors.same();
  }

  /**
   * Just before this incarnation crashes on purpose: sends what it finished, then tells the queue it is going down
   * and which task caused it, so the tasks it held go to other workers at once (only the culprit is charged) instead
   * of waiting out the restart backoff until the next incarnation announces itself.
   */
  private void goingDown(List<String> causedBy, String reason) {
    sendReports();
    queue.tell(new QueueCommand.WorkerGoingDown(context.getSelf(), workerId, incarnation, causedBy, reason));
  }

  // ---- reports and load ----

  private void scheduleFlush() {
    if (!flushScheduled) {
      flushScheduled = true;
      context.getSelf().tell(SendReports.INSTANCE);
    }
  }

  /** The batch of reports for {@code to}; asks for a {@link SendReports} when the first report of a burst comes. */
  private ReportBatch batchFor(ActorRef<QueueCommand> to) {
    scheduleFlush();
    ReportBatch batch = reports.get(to);
    if (batch == null) {
      batch = new ReportBatch();
      reports.put(to, batch);
    }
    return batch;
  }

  /** What this worker holds changed: report it with the next flush, where the queue is sharded. */
  private void loadChanged() {
    if (settings.reportLoad()) {
      loadChanged = true;
      scheduleFlush();
    }
  }

  private Behavior<WorkerCommand> onSendReports() {
    flushScheduled = false;
    sendReports();
    if (loadChanged) {
      sendLoad(false);
    }
    return Behaviors.same();
  }

  /** The gathered reports, one message per queue (entity): a lone report as itself, several as one Reports. */
  private void sendReports() {
    if (reports.isEmpty()) {
      return;
    }
    reports.forEach((to, batch) -> {
      int count = batch.succeeded.size() + batch.failed.size() + batch.declined.size();
      if (count > 1) {
        to.tell(new QueueCommand.Reports(batch.succeeded, batch.failed, batch.declined));
      } else if (!batch.succeeded.isEmpty()) {
        to.tell(batch.succeeded.get(0));
      } else if (!batch.failed.isEmpty()) {
        to.tell(batch.failed.get(0));
      } else {
        to.tell(batch.declined.get(0));
      }
    });
    reports.clear();
  }

  /** Every task this worker holds: running, then waiting for a slot. */
  private void sendLoad(boolean periodic) {
    List<String> held = new ArrayList<>(running.size() + waiting.size());
    held.addAll(running.keySet());
    for (Waiting w : waiting) {
      held.add(w.task().taskId());
    }
    loadChanged = false;
    queue.tell(new QueueCommand.WorkerLoad(context.getSelf(), workerId, incarnation, held, periodic));
  }

  private Behavior<WorkerCommand> onAnnounce() {
    announce();
    sendReports(); // reports first: a load report must never leave out a task whose result has not gone out yet
    sendLoad(true);
    return Behaviors.same();
  }

  @SuppressWarnings("unchecked")
  private Map<String, Slot> slots(WorkerState forState) {
    List<TaskType<?, ?>> regular = types.regular();
    Map<String, Slot> slots = new HashMap<>();
    for (String name : types.served(forState)) {
      TaskType<?, ?> type = types.catalog().get(name);
      int index = regular.indexOf(type);
      TaskContext taskContext =
          index < 0
              ? WorkerTaskContext.withoutPreparedState(
                  workerId, name, registration, "it is an unprepared task type, which has no prepare step")
              : WorkerTaskContext.withPreparedState(workerId, name, registration, preparedStates[index]);
      slots.put(name, new Slot((TaskType<Object, Object>) type, taskContext));
    }
    return slots;
  }

  // ---- dispatch ----

  private Behavior<WorkerCommand> onDispatch(Dispatch dispatch) {
    return handOut(dispatch.task(), dispatch.replyTo(), List.of());
  }

  /**
   * The tasks in order. A task that changes the state (a registration, or a task of a newer run) ends the loop: the
   * tasks after it go back to this worker's mailbox, to be handled by the new state.
   */
  private Behavior<WorkerCommand> onDispatchAll(DispatchAll batch) {
    List<TaskEnvelope> tasks = batch.tasks();
    for (int i = 0; i < tasks.size(); i++) {
      Behavior<WorkerCommand> next = handOut(tasks.get(i), batch.replyTo(), tasks.subList(i + 1, tasks.size()));
      if (next != Behaviors.<WorkerCommand>same()) {
        return next;
      }
    }
    return Behaviors.same();
  }

  /**
   * One task handed to this worker: registers on a registration task, registers again on a task of a newer run,
   * otherwise runs it, keeps it for a free slot, or answers it at once (declined or failed).
   *
   * @param rest tasks of the same batch after this one, sent back to self when the state changes
   */
  private Behavior<WorkerCommand> handOut(TaskEnvelope task, ActorRef<QueueCommand> replyTo, List<TaskEnvelope> rest) {
    String id = task.taskId();
    if (running.containsKey(id) || isWaiting(id)) {
      // The queue put the task back (an unreachable node, an overrun) and then gave it to this worker again: the run
      // already here answers for both.
      context.getLog().debug("Worker {} already holds {}", workerId, task.describe());
      return Behaviors.same();
    }
    boolean isRegistration = WorkerRegistrationTask.NAME.equals(task.taskType());
    if (state == WorkerState.UNPREPARED && isRegistration && served.containsKey(task.taskType())) {
      Behavior<WorkerCommand> next = register(task, replyTo);
      resend(rest, replyTo);
      return next;
    }
    if (state != WorkerState.UNPREPARED && RunIds.isNewer(task.runId(), registeredRun)) {
      context.getLog().info("Worker {} (incarnation {}) sees run {}, newer than run {} of its registration: it "
          + "registers again", workerId, incarnation, task.runId(), registeredRun);
      Behavior<WorkerCommand> next = unprepared("registering again for run " + task.runId());
      List<TaskEnvelope> again = new ArrayList<>(rest.size() + 1);
      again.add(task); // the new state serves it, or declines it until registered
      again.addAll(rest);
      resend(again, replyTo);
      return next;
    }
    Slot slot = served.get(task.taskType());
    if (slot == null) {
      decline(task, replyTo, types.notServedReason(workerId, state, task.taskType()));
      return Behaviors.same();
    }
    if (!slot.type().isUnprepared() && registeredRun != null && RunIds.isNewer(registeredRun, task.runId())) {
      failForGood(task, replyTo, "task " + id + " (type " + task.taskType() + ") belongs to run " + task.runId()
          + ", older than run " + registeredRun + " this worker is registered for: that run is over");
      return Behaviors.same();
    }
    if (slot.type().runsInline()) {
      Object input = decode(task, slot, replyTo);
      if (input != REFUSED) {
        computeInline(task, replyTo, slot, input);
      }
    } else if (running.size() >= settings.concurrency()) {
      waiting.add(new Waiting(task, replyTo));
      loadChanged();
    } else {
      start(task, replyTo, slot);
    }
    return Behaviors.same();
  }

  /** After a state change, the rest of a batch goes back to this worker's mailbox, to be handled by the new state. */
  private void resend(List<TaskEnvelope> rest, ActorRef<QueueCommand> replyTo) {
    if (!rest.isEmpty()) {
      context.getSelf().tell(new DispatchAll(List.copyOf(rest), replyTo));
    }
  }

  private boolean isWaiting(String taskId) {
    for (Waiting w : waiting) {
      if (w.task().taskId().equals(taskId)) {
        return true;
      }
    }
    return false;
  }

  /** Takes the registration parameters from a registration task and becomes Registered. */
  private Behavior<WorkerCommand> register(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
    Slot slot = served.get(task.taskType());
    Object parameters = decode(task, slot, replyTo);
    if (parameters == REFUSED) {
      return Behaviors.same();
    }
    Object registered;
    try {
      registered = slot.type().compute(parameters, slot.context());
    } catch (Throwable failure) {
      report(task, failure, replyTo);
      return Behaviors.same();
    }
    batchFor(replyTo).succeeded.add(
        new QueueCommand.TaskSucceeded(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), registered));
    sendReports(); // before the announcement of the new state
    return registered(parameters, task);
  }

  /** What {@link #decode} returns for a task it has already answered (failed). */
  private static final Object REFUSED = new Object();

  /** The task's input as its type's input class, or {@link #REFUSED} after failing it for a payload of another type. */
  private Object decode(TaskEnvelope task, Slot slot, ActorRef<QueueCommand> replyTo) {
    Object payload = task.payload();
    Class<?> inputType = slot.type().inputType();
    if (payload instanceof EncodedPayload encoded && inputType != EncodedPayload.class) {
      Object decoded;
      try {
        decoded = json.readValue(encoded.json(), inputType);
      } catch (Exception e) {
        failForGood(task, replyTo, badInput(task, inputType, "its JSON payload does not decode: " + e.getMessage()));
        return REFUSED;
      }
      if (decoded == null) {
        failForGood(task, replyTo, badInput(task, inputType, "its JSON payload is null"));
        return REFUSED;
      }
      return decoded;
    }
    if (!inputType.isInstance(payload)) {
      String what = payload == null ? "null" : "a " + payload.getClass().getName();
      failForGood(task, replyTo, badInput(task, inputType, "its payload is " + what));
      return REFUSED;
    }
    return payload;
  }

  private static String badInput(TaskEnvelope task, Class<?> inputType, String why) {
    return "task " + task.taskId() + " (type " + task.taskType() + ") needs a " + inputType.getName() + " input, but "
        + why;
  }

  private void decline(TaskEnvelope task, ActorRef<QueueCommand> replyTo, String reason) {
    context.getLog().debug("Worker {} declines {}: {}", workerId, task.describe(), reason);
    batchFor(replyTo).declined.add(
        new QueueCommand.TaskDeclined(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), reason));
  }

  private void failForGood(TaskEnvelope task, ActorRef<QueueCommand> replyTo, String reason) {
    context.getLog().warn("{} failed for good on worker {}: {}", task.describe(), workerId, reason);
    batchFor(replyTo).failed.add(
        new QueueCommand.TaskFailed(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), reason, false));
  }

  // ---- compute ----

  /** On the actor's thread, for types whose compute costs less than a hand-off; allocates only the result message. */
  private void computeInline(TaskEnvelope task, ActorRef<QueueCommand> replyTo, Slot slot, Object input) {
    Object result;
    try {
      result = slot.type().compute(input, slot.context());
    } catch (Throwable failure) {
      report(task, failure, replyTo);
      return;
    }
    succeed(task, result, replyTo);
  }

  /** Starts a compute on the compute dispatcher (a slot is free). */
  private void start(TaskEnvelope task, ActorRef<QueueCommand> replyTo, Slot slot) {
    Object input = decode(task, slot, replyTo);
    if (input == REFUSED) {
      return;
    }
    Running run = new Running(task, replyTo);
    running.put(task.taskId(), run);
    loadChanged();
    String ownIncarnation = incarnation;
    CompletableFuture<ComputeDone> done =
        CompletableFuture.supplyAsync(() -> compute(ownIncarnation, run, slot, input), computeExecutor);
    context.pipeToSelf(
        done, (finished, failure) -> finished != null ? finished : new ComputeDone(ownIncarnation, run, null, failure));
  }

  /** Runs on the compute dispatcher; never throws, so every outcome comes back as one message. */
  private static ComputeDone compute(String incarnation, Running run, Slot slot, Object input) {
    if (!run.begin()) {
      return new ComputeDone(incarnation, run, null, new InterruptedException("cancelled before it started"));
    }
    try {
      return new ComputeDone(incarnation, run, slot.type().compute(input, slot.context()), null);
    } catch (Throwable failure) {
      return new ComputeDone(incarnation, run, null, failure);
    } finally {
      run.end();
    }
  }

  private Behavior<WorkerCommand> onComputeDone(ComputeDone done) {
    Running run = done.run();
    TaskEnvelope task = run.task;
    if (!incarnation.equals(done.incarnation())) {
      context.getLog().debug(
          "Worker {} drops the result of {} from its earlier incarnation {}",
          workerId, task.describe(), done.incarnation());
      return Behaviors.same();
    }
    running.remove(task.taskId());
    timers.cancel(new CancelGraceOver(task.taskId()));
    loadChanged();
    if (run.isCancelled() && !(done.failure() instanceof WorkerFault) && !(done.failure() instanceof Error)) {
      // The queue has put it back and takes a late result only if it comes first: report it either way, which also
      // frees the slot the queue keeps for it.
      context.getLog().debug("Worker {}: cancelled {} returned ({})", workerId, task.describe(),
          done.failure() == null ? "with a result" : done.failure().toString());
      if (done.failure() == null) {
        succeed(task, done.result(), run.replyTo);
      } else {
        batchFor(run.replyTo).failed.add(new QueueCommand.TaskFailed(workerId, incarnation, task.taskId(),
            task.taskType(), task.attempt(), "cancelled: " + run.cancelReason, true));
      }
    } else if (done.failure() == null) {
      succeed(task, done.result(), run.replyTo);
    } else {
      report(task, done.failure(), run.replyTo);
    }
    startWaiting();
    return Behaviors.same();
  }

  /** Fills free slots with the tasks that waited for one, in arrival order. */
  private void startWaiting() {
    while (running.size() < settings.concurrency() && !waiting.isEmpty()) {
      Waiting next = waiting.poll();
      loadChanged();
      handOut(next.task(), next.replyTo(), List.of());
    }
  }

  /** Reports a result; one that could not cross a node fails its task for good instead of being lost in transit. */
  private void succeed(TaskEnvelope task, Object result, ActorRef<QueueCommand> replyTo) {
    if (result == null || !AnyValue.isAllowed(result.getClass())) {
      meters.resultRefused("not_serializable");
      failForGood(task, replyTo, "task " + task.taskId() + " (type " + task.taskType() + ") returned "
          + (result == null ? "null" : "a " + result.getClass().getName())
          + ", which cannot travel as a task result: return a record implementing "
          + CborSerializable.class.getName());
      return;
    }
    if (results.enabled() && replyTo.path().address().hasGlobalScope()) {
      // bound for another node: it must fit the transport's frame and be readable there, or it would be lost
      PayloadCheck.Verdict verdict = results.check("result", task.taskId(), task.taskType(), result);
      if (!verdict.ok()) {
        meters.resultRefused(verdict.bytes() > settings.maxResultBytes() ? "too_large" : "unreadable");
        failForGood(task, replyTo, verdict.problem());
        return;
      }
    }
    batchFor(replyTo).succeeded.add(
        new QueueCommand.TaskSucceeded(workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), result));
  }

  /** Reports a compute that threw; a {@link WorkerFault} or {@link Error} crashes this worker instead. */
  private void report(TaskEnvelope task, Throwable failure, ActorRef<QueueCommand> replyTo) {
    if (failure instanceof WorkerFault || failure instanceof Error) {
      context.getLog().error(
          "{} crashed worker {} (incarnation {}): {}; the worker restarts and the queue redelivers the task",
          task.describe(), workerId, incarnation, failure.toString());
      goingDown(List.of(task.taskId()), task.describe() + " crashed it: " + failure);
      throw failure instanceof WorkerFault fault
          ? fault
          : new WorkerFault(task.describe() + " crashed worker " + workerId, failure);
    }
    if (failure instanceof PermanentTaskFailure) {
      failForGood(task, replyTo, String.valueOf(failure.getMessage()));
      return;
    }
    String reason = failure.getClass().getName() + ": " + failure.getMessage();
    context.getLog().warn("{} failed on worker {} (may be retried): {}", task.describe(), workerId, reason);
    batchFor(replyTo).failed.add(
        new QueueCommand.TaskFailed(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), reason, true));
  }

  // ---- cancellation ----

  /**
   * The queue put these tasks back: drop those still waiting for a slot, interrupt those running. A running compute
   * gets {@code cancel-grace} to return.
   */
  private Behavior<WorkerCommand> onCancel(Cancel cancel) {
    List<String> interrupted = new ArrayList<>();
    List<String> dropped = new ArrayList<>();
    for (String taskId : cancel.taskIds()) {
      Running run = running.get(taskId);
      if (run != null) {
        if (!run.isCancelled()) {
          run.cancel(cancel.reason());
          interrupted.add(taskId);
          timers.startSingleTimer(new CancelGraceOver(taskId), settings.cancelGrace());
        }
      } else if (removeWaiting(taskId)) {
        dropped.add(taskId);
      }
    }
    if (!interrupted.isEmpty() || !dropped.isEmpty()) {
      loadChanged();
      context.getLog().info("Worker {} (incarnation {}) cancels task(s) {} ({}): interrupted {}, dropped before start "
          + "{}", workerId, incarnation, cancel.taskIds(), cancel.reason(), interrupted, dropped);
      startWaiting();
    }
    return Behaviors.same();
  }

  private boolean removeWaiting(String taskId) {
    for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
      if (it.next().task().taskId().equals(taskId)) {
        it.remove();
        return true;
      }
    }
    return false;
  }

  /** A cancelled compute that has not returned is hung: restart, so that this worker can take work again. */
  private Behavior<WorkerCommand> onCancelGraceOver(CancelGraceOver over) {
    Running run = running.get(over.taskId());
    if (run == null) {
      return Behaviors.same();
    }
    String reason = run.task.describe() + " did not stop within " + settings.cancelGrace().toMillis()
        + " ms of its cancellation (" + run.cancelReason + "): the compute is hung";
    context.getLog().error("{}; worker {} (incarnation {}) restarts, abandoning that compute's thread, so that it can "
        + "take work again", reason, workerId, incarnation);
    goingDown(List.of(over.taskId()), reason);
    throw new WorkerFault(reason + "; worker " + workerId + " restarts");
  }

  // ---- prepare ----

  /** Runs the prepare of the {@code index}-th regular type on the compute dispatcher; the next starts when it is done. */
  private void startPrepare(int index) {
    TaskType<?, ?> type = types.regular().get(index);
    TaskContext prepareContext =
        WorkerTaskContext.withoutPreparedState(workerId, type.name(), registration, "its prepare is still running");
    String ownIncarnation = incarnation;
    int generation = registrations;
    CompletableFuture<PrepareDone> done =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new PrepareDone(ownIncarnation, generation, index, type.prepare(prepareContext), null);
              } catch (Throwable failure) {
                return new PrepareDone(ownIncarnation, generation, index, null, failure);
              }
            },
            computeExecutor);
    context.pipeToSelf(
        done,
        (finished, failure) ->
            finished != null ? finished : new PrepareDone(ownIncarnation, generation, index, null, failure));
  }

  private Behavior<WorkerCommand> onPrepareDone(PrepareDone done) {
    if (!incarnation.equals(done.incarnation()) || done.registration() != registrations || preparedStates == null) {
      return onStalePrepareDone(done);
    }
    String typeName = types.regular().get(done.index()).name();
    if (done.failure() != null) {
      String reason = "prepare of task type '" + typeName + "' failed: " + done.failure();
      context.getLog().error("{} on worker {} (incarnation {}); the worker restarts", reason, workerId, incarnation);
      goingDown(List.of(), reason);
      throw new WorkerFault("prepare of task type '" + typeName + "' failed on worker " + workerId, done.failure());
    }
    preparedStates[done.index()] = done.state();
    int next = done.index() + 1;
    if (next < preparedStates.length) {
      startPrepare(next);
      return Behaviors.same();
    }
    return ready();
  }

  private Behavior<WorkerCommand> onStalePrepareDone(PrepareDone done) {
    context.getLog().debug(
        "Worker {} drops a prepare result of its earlier incarnation or registration {}", workerId,
        done.incarnation());
    return Behaviors.same();
  }
}
