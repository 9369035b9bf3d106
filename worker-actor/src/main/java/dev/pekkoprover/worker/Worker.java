package dev.pekkoprover.worker;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerCommand.Cancel;
import dev.pekkoprover.protocol.WorkerCommand.Dispatch;
import dev.pekkoprover.protocol.WorkerCommand.DispatchAll;
import dev.pekkoprover.protocol.WorkerCommand.Drain;
import dev.pekkoprover.protocol.WorkerCommand.Drained;
import dev.pekkoprover.protocol.WorkerCommand.QueueEntityStopping;
import dev.pekkoprover.protocol.WorkerCommand.Refused;
import dev.pekkoprover.protocol.WorkerCommand.Withdraw;
import dev.pekkoprover.protocol.WorkerFault;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import dev.pekkoprover.worker.ServedTypes.ServedType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.pekko.actor.CoordinatedShutdown;
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
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A stateless worker: Unprepared -> Registered -> Ready. It tells the queue which task types it
 * serves at each state change ({@link QueueCommand.WorkerServes}) and what it holds ({@link
 * QueueCommand.WorkerLoad}), runs the tasks the queue dispatches to it and reports each one back as
 * succeeded, failed or declined.
 *
 * <p>What a reader must not miss: the worker keeps nothing worth saving. A crash ({@link
 * WorkerFault}, any {@link Error}, a failing {@code prepare}, a compute that ignores its
 * cancellation) makes the supervisor restart it with backoff as a new <em>incarnation</em> in state
 * Unprepared. Just before, it tells the queue it is going down and which task caused it ({@link
 * QueueCommand.WorkerGoingDown}), so its tasks move at once and only the culprit is charged;
 * results of the old incarnation's computations that arrive later are dropped. Nothing is stashed.
 *
 * <p>Slots: it runs at most {@code concurrency} computes; which task it takes, and what waits for a
 * slot, is {@link Admission}'s. Reports go out in batches ({@link TaskReports}). Each state's data
 * (what it serves, its registration, the prepares done so far) is a parameter of that state's
 * method; fields hold only what lives as long as the incarnation.
 *
 * <p>Draining: when its node shuts down, the node tells it to drain ({@link Drain}) before it
 * leaves the cluster: it announces {@link WorkerState#DRAINING}, hands back what waits for a slot,
 * declines what comes, and finishes its computes within the drain's time, so that a scale-down or
 * rolling update does not throw proofs away.
 *
 * <p>Runs: it remembers the sequencer run it registered for. A task of a newer run means the
 * sequencer restarted or a standby took over: the worker goes back to Unprepared and registers
 * again, so the new run's parameters apply.
 */
public final class Worker {

  // ---- private messages: results of work done off the actor's thread, and timers; sent only to
  // self ----

  /**
   * A compute has returned {@code result} or thrown {@code failure}; never serialised (any result,
   * a Throwable).
   */
  private record ComputeDone(
      String incarnation, RunningCompute run, Object result, Throwable failure)
      implements WorkerCommand, NoSerializationVerificationNeeded {}

  /**
   * The prepare of the {@code index}-th regular type is done; never serialised (a loaded circuit, a
   * Throwable).
   */
  private record PrepareDone(
      String incarnation, int registration, int index, Object state, Throwable failure)
      implements WorkerCommand, NoSerializationVerificationNeeded {}

  /**
   * Time to send the reports gathered so far (and a changed load): sent with the first report of a
   * batch, so it comes after the messages already waiting (more results, more dispatches).
   */
  private enum SendReports implements WorkerCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Time to repeat the announcement and the load report; also its timer key. */
  private enum Announce implements WorkerCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Tasks wait for a slot that is free, after a state change stopped the loop that starts them. */
  private enum StartWaiting implements WorkerCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /**
   * A queue entity that handed this worker tasks has stopped (watched): its node hands its shards
   * off or is gone.
   */
  private record EntityStopped(ActorRef<QueueCommand> entity)
      implements WorkerCommand, NoSerializationVerificationNeeded {}

  /** The drain's time is over; also its timer key. */
  private enum DrainOver implements WorkerCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** A cancelled compute had {@code cancel-grace} to return; also its timer key. */
  private record CancelGraceOver(String taskId)
      implements WorkerCommand, NoSerializationVerificationNeeded {}

  // ---- per-state data ----

  /**
   * A drain under way: who asks (a second {@link Drain} adds itself), when it began, what it did so
   * far, and its answer once given. An incarnation that started while its node shut down (restarted
   * after a crash during the drain) has its answer from the start: it holds nothing.
   */
  private static final class DrainProgress {
    final List<ActorRef<Drained>> askers = new ArrayList<>();
    final long timeoutMillis;
    final long startNanos = System.nanoTime();
    int finished;
    int declined;
    Drained answer;

    DrainProgress(long timeoutMillis) {
      this.timeoutMillis = timeoutMillis;
    }

    long millis() {
      return Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
    }
  }

  /**
   * The registration this incarnation took: its parameters, run, count (to tell prepares apart) and
   * fingerprint.
   */
  private record Registration(
      Object parameters, String runId, int generation, CatalogFingerprint fingerprint) {}

  /**
   * The data of the state the worker is in: the state, the types it serves with their task
   * contexts, and its registration (null while Unprepared).
   */
  private record Serving(
      WorkerState state, Map<String, ServedType> types, Registration registration) {
    String registeredRun() {
      return registration == null ? null : registration.runId();
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
  private final WorkerMeters meters;

  /**
   * Fresh at every (re)start; tells the queue that this worker restarted, and tells stale results
   * apart.
   */
  private final String incarnation = UUID.randomUUID().toString();

  /** The tasks it holds; running computes go on through state changes. */
  private final Admission admission;

  private final TaskReports reports;

  /**
   * Registrations of this incarnation so far, so that a prepare of an earlier registration is told
   * apart.
   */
  private int registrations;

  /**
   * A refusal of this incarnation was logged: the queue (every entity of its types) may say it more
   * than once.
   */
  private boolean refusalLogged;

  /**
   * The queues (entities) that handed this worker tasks, each watched once ({@link EntityStopped}),
   * also after it stopped (a task that waited for a slot still names it); the last one seen, so
   * that a run of dispatches from one entity costs an equality test each.
   */
  private final Set<ActorRef<QueueCommand>> watchedEntities = new HashSet<>();

  private ActorRef<QueueCommand> lastEntity;

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
        context
            .getSystem()
            .dispatchers()
            .lookup(DispatcherSelector.fromConfig(settings.computeDispatcher()));
    this.meters = WorkerMeters.get(context.getSystem());
    this.admission = new Admission(settings.concurrency());
    this.reports =
        new TaskReports(
            settings,
            incarnation,
            context.getSelf(),
            SendReports.INSTANCE,
            queue,
            new TaskValues(context.getSystem(), settings.maxResultBytes()),
            meters,
            context.getLog(),
            TaskReports.ON_ANOTHER_NODE);
    this.reports.heldFrom(admission::heldFrom);
    this.reports.waitingFrom(admission::waitingIds);
  }

  /**
   * The worker under its supervisor, which restarts it with backoff on any exception.
   *
   * @param types the task types this worker is configured for (always including registration)
   * @param queue where it announces itself and reports results
   * @param listener told of every state change besides the event stream (e.g. the worker-ready
   *     gate); may be null
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
                      context.setLoggerName(
                          Worker.class); // else a Pekko logger, kept at WARN by a node's logback
                      if (starts.getAndIncrement() > 0) {
                        WorkerMeters.get(context.getSystem()).restarted();
                      }
                      if (!settings.announceInterval().isZero()) {
                        timers.startTimerWithFixedDelay(
                            Announce.INSTANCE, settings.announceInterval());
                      }
                      Worker started =
                          new Worker(context, timers, settings, served, queue, listener);
                      // restarted (a crash) while its node shuts down: it takes no work
                      return CoordinatedShutdown.get(context.getSystem())
                              .getShutdownReason()
                              .isPresent()
                          ? started.startedWhileShuttingDown()
                          : started.unprepared("started");
                    }));
    SupervisorStrategy restart =
        SupervisorStrategy.restartWithBackoff(
                settings.restartMinBackoff(),
                settings.restartMaxBackoff(),
                settings.restartRandomFactor())
            .withResetBackoffAfter(settings.restartResetAfter());
    // A WorkerFault is a restart on purpose, already logged with its task and reason; anything else
    // is a bug in the
    // worker and keeps the supervisor's log line with its stack trace.
    return Behaviors.supervise(
            Behaviors.supervise(worker)
                .onFailure(WorkerFault.class, restart.withLoggingEnabled(false)))
        .onFailure(Exception.class, restart);
  }

  // ---- states ----

  /** Serves the unprepared types (registration among them) and waits for a registration task. */
  private Behavior<WorkerCommand> unprepared(String detail) {
    Serving serving = enter(WorkerState.UNPREPARED, null, List.of(), detail);
    return accepting(serving).onMessage(PrepareDone.class, this::onStalePrepareDone).build();
  }

  /**
   * Takes the registration parameters from a registration task: Registered, or Ready when nothing
   * is to prepare.
   */
  private Behavior<WorkerCommand> register(
      TaskEnvelope task, ServedType served, ActorRef<QueueCommand> replyTo) {
    Object parameters = reports.input(task, served.type().inputType(), replyTo);
    if (parameters == null) {
      return Behaviors.same();
    }
    Object registered;
    try {
      registered = served.type().compute(parameters, served.context());
    } catch (Throwable failure) {
      computed(task, null, failure, null, replyTo);
      return Behaviors.same();
    }
    reports.registered(task, registered, replyTo);
    reports.flush(); // before the announcement of the new state
    Registration registration =
        new Registration(
            parameters,
            task.runId(),
            ++registrations,
            types.fingerprint().registeredWith(task.runId(), keysDigest(parameters)));
    Serving serving =
        enter(
            WorkerState.REGISTERED,
            registration,
            List.of(),
            "registered by task "
                + task.taskId()
                + " of run "
                + task.runId()
                + "; preparing "
                + types.regular().stream().map(TaskType::name).toList());
    if (types.regular().isEmpty()) {
      return ready(registration, List.of());
    }
    startPrepare(registration, 0);
    return registered(serving, List.of());
  }

  /**
   * Prepares each regular type in turn, off the actor's thread; {@code prepared}: what the finished
   * ones returned.
   */
  private Behavior<WorkerCommand> registered(Serving serving, List<Object> prepared) {
    return accepting(serving)
        .onMessage(PrepareDone.class, done -> onPrepareDone(done, serving, prepared))
        .build();
  }

  /**
   * Serves every type it is configured for but registration, each regular one with what its prepare
   * returned.
   */
  private Behavior<WorkerCommand> ready(Registration registration, List<Object> prepared) {
    Serving serving = enter(WorkerState.READY, registration, prepared, "prepared");
    return accepting(serving).onMessage(PrepareDone.class, this::onStalePrepareDone).build();
  }

  /** The messages every state accepts, handled with that state's data. */
  private BehaviorBuilder<WorkerCommand> accepting(Serving serving) {
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(
            Dispatch.class,
            dispatch -> handOut(List.of(dispatch.task()), dispatch.replyTo(), serving))
        .onMessage(DispatchAll.class, batch -> handOut(batch.tasks(), batch.replyTo(), serving))
        .onMessage(ComputeDone.class, done -> onComputeDone(done, serving))
        .onMessage(Cancel.class, cancel -> onCancel(cancel, serving))
        .onMessage(Withdraw.class, this::onWithdraw)
        .onMessage(CancelGraceOver.class, this::onCancelGraceOver)
        .onMessageEquals(StartWaiting.INSTANCE, () -> startWaiting(serving))
        .onMessageEquals(Announce.INSTANCE, () -> onAnnounce(serving))
        .onMessage(Refused.class, refused -> onRefused(refused, serving))
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .onMessage(EntityStopped.class, stopped -> onEntityStopped(stopped, serving))
        .onMessage(
            QueueEntityStopping.class,
            stopping -> onEntityStopping(stopping, stopped -> onEntityStopped(stopped, serving)))
        .onMessage(Drain.class, drain -> onDrain(drain, serving))
        .onSignal(PostStop.class, this::onStopping)
        .onSignal(PreRestart.class, this::onStopping);
  }

  /**
   * This incarnation stops or is about to restart: it no longer counts in its node's workers by
   * state.
   */
  private Behavior<WorkerCommand> onStopping(Signal signal) {
    meters.gone(workerId);
    return Behaviors.same();
  }

  /** Builds the new state's data, then tells the queue, the event stream and the listener. */
  private Serving enter(
      WorkerState state, Registration registration, List<Object> prepared, String detail) {
    Serving serving =
        new Serving(
            state,
            types.inState(
                state, workerId, registration == null ? null : registration.parameters(), prepared),
            registration);
    meters.entered(workerId, state);
    announce(serving);
    WorkerStateChanged changed = new WorkerStateChanged(workerId, incarnation, state);
    context.getSystem().eventStream().tell(new EventStream.Publish<>(changed));
    if (listener != null) {
      listener.tell(changed);
    }
    context
        .getLog()
        .info(
            "Worker {} (incarnation {}) is {} ({}); serves {} with capacity {}",
            workerId,
            incarnation,
            state,
            detail,
            types.served(state),
            settings.concurrency());
    return serving;
  }

  private void announce(Serving serving) {
    announce(serving, serving.state());
  }

  /**
   * Announces {@code state} with the types {@code serving} serves: a draining worker names the
   * types it served until then (so that its announcement reaches those types' queues).
   */
  private void announce(Serving serving, WorkerState state) {
    CatalogFingerprint fingerprint =
        serving.registration() == null ? types.fingerprint() : serving.registration().fingerprint();
    queue.tell(
        new QueueCommand.WorkerServes(
            context.getSelf(),
            workerId,
            incarnation,
            types.served(serving.state()),
            settings.concurrency(),
            state,
            types.served(WorkerState.READY),
            fingerprint));
  }

  /**
   * The digest the queue compares; null (its keys are then not checked) for parameters that do not
   * write as JSON.
   */
  private String keysDigest(Object parameters) {
    try {
      return CatalogFingerprint.keysDigestOf(parameters);
    } catch (IllegalArgumentException e) {
      context
          .getLog()
          .warn(
              "Worker {}: {}; the queue cannot check which keys it holds",
              workerId,
              e.getMessage());
      return null;
    }
  }

  /**
   * The queue gives this incarnation no work. An out-of-date registration mends itself: the worker
   * registers again. A catalog of another build does not: one ERROR line, and the worker waits (it
   * keeps announcing itself, so it gets work once the queue runs the same build).
   */
  private Behavior<WorkerCommand> onRefused(Refused refused, Serving serving) {
    if (!incarnation.equals(refused.incarnation())) {
      return Behaviors.same(); // a refusal of an earlier incarnation
    }
    if (refused.registerAgain()) {
      if (serving.registration() == null
          || !Objects.equals(
              refused.keysDigest(), serving.registration().fingerprint().keysDigest())) {
        return Behaviors.same(); // it has registered again since
      }
      return unprepared("registering again: " + refused.reason());
    }
    if (!refusalLogged) {
      refusalLogged = true;
      context
          .getLog()
          .error(
              "Worker {} (incarnation {}) is refused by the queue: {}",
              workerId,
              incarnation,
              refused.reason());
    }
    return Behaviors.same();
  }

  /**
   * Just before this incarnation crashes on purpose ({@code throw goingDown(...)}): sends what it
   * finished, then tells the queue it is going down and which task caused it, so the tasks it held
   * go to other workers at once (only the culprit is charged) instead of waiting out the restart
   * backoff. Returns {@code fault}, for its supervisor.
   */
  private WorkerFault goingDown(List<String> causedBy, String reason, WorkerFault fault) {
    reports.flush();
    queue.tell(
        new QueueCommand.WorkerGoingDown(
            context.getSelf(), workerId, incarnation, causedBy, reason));
    return fault;
  }

  private Behavior<WorkerCommand> onSendReports() {
    reports.flushDue(admission::held);
    return Behaviors.same();
  }

  /**
   * Watches the queue (entity) that hands out tasks, once: when it stops, the reports of its tasks
   * go through this worker's queue front instead ({@link #onEntityStopped}). Not the front itself
   * (one JVM's queue), which stops only with the node.
   */
  private void watchEntity(ActorRef<QueueCommand> entity) {
    if (entity.equals(lastEntity)) {
      return;
    }
    lastEntity = entity;
    if (!entity.equals(queue) && watchedEntities.add(entity)) {
      context.watchWith(entity, new EntityStopped(entity));
    }
  }

  /**
   * A queue entity that handed this worker tasks stopped: its shard was handed off (a queue node
   * leaves: a rolling restart) or its node is gone. The computes under way go on: their reports go
   * through this node's queue front, which routes them to where the entity starts again, and the
   * worker announces itself and what it holds there at once rather than at its next periodic
   * announcement. Nothing to do while this node itself shuts down.
   */
  private Behavior<WorkerCommand> onEntityStopped(EntityStopped stopped, Serving serving) {
    if (CoordinatedShutdown.get(context.getSystem()).getShutdownReason().isPresent()) {
      return Behaviors.same();
    }
    reports.entityStopped(stopped.entity());
    List<String> held = admission.held();
    if (context.getLog().isDebugEnabled()) {
      context
          .getLog()
          .debug(
              "Worker {}: queue entity {} stopped; reports of the {} task(s) it handed out, of the"
                  + " {} this worker holds, go through the node's queue front from now on",
              workerId,
              stopped.entity().path(),
              admission.heldFrom(stopped.entity()::equals).size(),
              held.size());
    }
    announce(serving);
    reports.periodic(held);
    return Behaviors.same();
  }

  /**
   * A queue entity that handed this worker tasks says it stops as its node shuts down ({@link
   * QueueEntityStopping}): handled as its stop ({@code stopped}: {@link #onEntityStopped}, or
   * {@link #onEntityStoppedDraining} while draining), which Pekko's death watch would report only
   * once that node is removed. The watch ends here, so that the notification at the removal changes
   * nothing more; the entity stays in {@link #watchedEntities}, so that a task of it that waited
   * for a slot and starts later does not watch it again. Ignored from an entity this worker took
   * nothing from.
   */
  private Behavior<WorkerCommand> onEntityStopping(
      QueueEntityStopping stopping, Function<EntityStopped, Behavior<WorkerCommand>> stopped) {
    if (!watchedEntities.contains(stopping.entity())) {
      return Behaviors.same();
    }
    context.unwatch(stopping.entity());
    return stopped.apply(new EntityStopped(stopping.entity()));
  }

  private Behavior<WorkerCommand> onAnnounce(Serving serving) {
    announce(serving);
    reports.periodic(admission.held());
    return Behaviors.same();
  }

  // ---- draining ----

  /**
   * Its node shuts down: announce Draining, hand back the tasks that wait for a slot, and wait for
   * the computes under way, at most the drain's time.
   */
  private Behavior<WorkerCommand> onDrain(Drain drain, Serving serving) {
    DrainProgress progress = new DrainProgress(drain.timeoutMillis());
    progress.askers.add(drain.replyTo());
    List<Admission.Waiting> waiting = admission.takeWaiting();
    enterDraining(serving);
    String reason = ServedTypes.drainingReason(workerId);
    for (Admission.Waiting task : waiting) {
      reports.declined(task.task(), reason, task.replyTo());
    }
    progress.declined += waiting.size();
    reports.loadChanged();
    context
        .getLog()
        .info(
            "Worker {} (incarnation {}) is DRAINING (its node shuts down): it takes no new task,"
                + " handed back the {} that waited for a slot and finishes the {} it runs, within"
                + " {} ms",
            workerId,
            incarnation,
            waiting.size(),
            admission.runningCount(),
            drain.timeoutMillis());
    if (!drainedIfIdle(progress)) {
      timers.startSingleTimer(DrainOver.INSTANCE, Duration.ofMillis(drain.timeoutMillis()));
    }
    return draining(serving, progress);
  }

  /** A new incarnation whose node shuts down already (it restarted after a crash): no work. */
  private Behavior<WorkerCommand> startedWhileShuttingDown() {
    Serving serving = new Serving(WorkerState.UNPREPARED, Map.of(), null);
    enterDraining(serving);
    context
        .getLog()
        .info(
            "Worker {} (incarnation {}) started while its node shuts down: it is DRAINING and takes"
                + " no task",
            workerId,
            incarnation);
    DrainProgress progress = new DrainProgress(0);
    progress.answer = new Drained(workerId, 0, 0, 0, 0);
    return draining(serving, progress);
  }

  private void enterDraining(Serving serving) {
    meters.entered(workerId, WorkerState.DRAINING);
    announce(serving, WorkerState.DRAINING);
    WorkerStateChanged changed =
        new WorkerStateChanged(workerId, incarnation, WorkerState.DRAINING);
    context.getSystem().eventStream().tell(new EventStream.Publish<>(changed));
    if (listener != null) {
      listener.tell(changed);
    }
  }

  /**
   * Draining: the computes under way finish and report as ever; every task handed out is declined
   * (or answered again, or redirected, when this worker holds it already). {@code serving}: the
   * state it drains from, whose types it names in its announcements.
   */
  private Behavior<WorkerCommand> draining(Serving serving, DrainProgress progress) {
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(
            Dispatch.class,
            dispatch -> declineDraining(List.of(dispatch.task()), dispatch.replyTo(), progress))
        .onMessage(
            DispatchAll.class, batch -> declineDraining(batch.tasks(), batch.replyTo(), progress))
        .onMessage(ComputeDone.class, done -> onComputeDoneDraining(done, progress))
        .onMessage(
            Cancel.class,
            cancel -> {
              onCancel(cancel, serving); // nothing waits: this starts nothing
              return Behaviors.same();
            })
        .onMessage(CancelGraceOver.class, this::onCancelGraceOver)
        .onMessage(Withdraw.class, withdraw -> Behaviors.same()) // nothing waits while draining
        .onMessageEquals(StartWaiting.INSTANCE, Behaviors::same)
        .onMessageEquals(
            Announce.INSTANCE,
            () -> {
              announce(serving, WorkerState.DRAINING);
              reports.periodic(admission.held());
              return Behaviors.same();
            })
        .onMessage(Refused.class, refused -> Behaviors.same())
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .onMessage(EntityStopped.class, stopped -> onEntityStoppedDraining(stopped, serving))
        .onMessage(
            QueueEntityStopping.class,
            stopping ->
                onEntityStopping(stopping, stopped -> onEntityStoppedDraining(stopped, serving)))
        .onMessage(PrepareDone.class, this::onStalePrepareDone)
        .onMessage(
            Drain.class,
            again -> {
              if (progress.answer != null) {
                again.replyTo().tell(progress.answer);
              } else {
                progress.askers.add(again.replyTo());
              }
              return Behaviors.same();
            })
        .onMessageEquals(DrainOver.INSTANCE, () -> onDrainOver(progress))
        .onSignal(PostStop.class, this::onStopping)
        .onSignal(PreRestart.class, this::onStopping)
        .build();
  }

  private Behavior<WorkerCommand> declineDraining(
      List<TaskEnvelope> tasks, ActorRef<QueueCommand> replyTo, DrainProgress progress) {
    String reason = ServedTypes.drainingReason(workerId);
    for (TaskEnvelope task : tasks) {
      if (reports.answerAgain(task, replyTo)) {
        continue;
      }
      TaskEnvelope held = admission.heldTask(task.taskId());
      if (held == null) {
        reports.declined(task, reason, replyTo);
        progress.declined++;
      } else if (held.runId().equals(task.runId()) && held.flowId().equals(task.flowId())) {
        RunningCompute run = admission.running(task.taskId());
        if (run != null && run.isCancelled() && task.attempt() > run.task.attempt()) {
          // handed back while its cancelled compute returns: it would start here only after the
          // drain, so it goes to another worker now, spending nothing
          reports.declined(task, reason, replyTo);
          progress.declined++;
          continue;
        }
        watchEntity(replyTo);
        reports.redirect(task.taskId(), replyTo);
        admission.handedAgain(task); // what runs here answers for that attempt
      } else {
        reports.idTaken(task, Admission.idTakenReason(task, held), replyTo);
      }
    }
    return Behaviors.same();
  }

  private Behavior<WorkerCommand> onComputeDoneDraining(ComputeDone done, DrainProgress progress) {
    if (computeReturned(done, progress) && progress.answer == null) {
      progress.finished++;
      drainedIfIdle(progress);
    }
    return Behaviors.same();
  }

  /**
   * A queue entity stopped while this worker drains: the reports of its tasks go through the node's
   * queue front, as in {@link #onEntityStopped}, which does nothing once the node shuts down.
   */
  private Behavior<WorkerCommand> onEntityStoppedDraining(EntityStopped stopped, Serving serving) {
    reports.entityStopped(stopped.entity());
    announce(serving, WorkerState.DRAINING);
    reports.periodic(admission.held());
    return Behaviors.same();
  }

  /** Answers the drain when nothing runs any more; returns whether it is answered. */
  private boolean drainedIfIdle(DrainProgress progress) {
    if (progress.answer != null) {
      return true;
    }
    if (admission.runningCount() > 0) {
      return false;
    }
    reports.flush();
    timers.cancel(DrainOver.INSTANCE);
    answer(
        progress,
        new Drained(workerId, progress.finished, progress.declined, 0, progress.millis()));
    context
        .getLog()
        .info(
            "Worker {} (incarnation {}) drained in {} ms: {} compute(s) finished, {} task(s) handed"
                + " back",
            workerId,
            incarnation,
            progress.answer.millis(),
            progress.finished,
            progress.declined);
    return true;
  }

  /**
   * The drain's time is over with computes still running: the queue puts them back at once (to run
   * again elsewhere), as for a worker going down, charging nothing.
   */
  private Behavior<WorkerCommand> onDrainOver(DrainProgress progress) {
    if (progress.answer != null) {
      return Behaviors.same();
    }
    List<String> running = admission.held();
    String reason =
        "its node shuts down and the drain's "
            + progress.timeoutMillis
            + " ms are over with "
            + running.size()
            + " compute(s) still running";
    reports.flush();
    queue.tell(
        new QueueCommand.WorkerGoingDown(
            context.getSelf(), workerId, incarnation, List.of(), reason, true));
    answer(
        progress,
        new Drained(
            workerId, progress.finished, progress.declined, running.size(), progress.millis()));
    context
        .getLog()
        .warn(
            "Worker {} (incarnation {}): {} ({}); the queue puts them back to run again elsewhere."
                + " To keep such work, raise prover.worker.drain-timeout above the longest compute"
                + " (and the grace period of whatever stops the node)",
            workerId,
            incarnation,
            reason,
            running);
    return Behaviors.same();
  }

  private void answer(DrainProgress progress, Drained drained) {
    progress.answer = drained;
    for (ActorRef<Drained> asker : progress.askers) {
      asker.tell(drained);
    }
  }

  // ---- dispatch ----

  /**
   * Tasks handed to this worker, in order, each as {@link Admission} says: registers, registers
   * again, runs it, keeps it for a free slot, or answers it at once (declined or failed). A task
   * that changes the state ends the loop: the tasks after it (and a task of a newer run itself) go
   * back to this worker's mailbox, for the new state.
   */
  private Behavior<WorkerCommand> handOut(
      List<TaskEnvelope> tasks, ActorRef<QueueCommand> replyTo, Serving serving) {
    watchEntity(replyTo);
    for (int i = 0; i < tasks.size(); i++) {
      TaskEnvelope task = tasks.get(i);
      if (reports.answerAgain(task, replyTo)) {
        continue; // computed already for the entity's earlier life: its result again
      }
      ServedType served = serving.types().get(task.taskType());
      switch (admission.admit(
          task, serving.state(), serving.registeredRun(), served == null ? null : served.type())) {
        case ALREADY_HELD -> {
          // its result goes to the queue that handed it out last: the one that holds it now
          reports.redirect(task.taskId(), replyTo);
          admission.handedAgain(task);
          RunningCompute run = admission.running(task.taskId());
          if (run != null && run.isCancelled() && task.attempt() > run.task.attempt()) {
            // handed back while its cancelled compute has not returned: this attempt runs once
            // that one has failed, as asked (computeReturned)
            run.nextAttempt = task;
            run.nextAttemptFrom = replyTo;
            context
                .getLog()
                .debug(
                    "Worker {} starts {} once the cancelled dispatch {} has returned",
                    workerId,
                    task.describe(),
                    run.task.attempt());
          } else {
            context.getLog().debug("Worker {} already holds {}", workerId, task.describe());
          }
        }
        case REGISTER -> {
          Behavior<WorkerCommand> registered = register(task, served, replyTo);
          if (registered != Behaviors.<WorkerCommand>same()) {
            return handOutLater(tasks.subList(i + 1, tasks.size()), replyTo, registered);
          }
        }
        case REGISTER_AGAIN -> {
          context
              .getLog()
              .info(
                  "Worker {} (incarnation {}) sees run {}, newer than run {} of its registration: it "
                      + "registers again",
                  workerId,
                  incarnation,
                  task.runId(),
                  serving.registeredRun());
          // the older run is over, and the results of its computes would be dropped: their slots
          // go to the newer run (its tasks waiting here are declined while this worker registers,
          // and fail as OLDER_RUN once it is registered again). A compute that ignores its
          // interrupt is hung after cancel-grace, as after any cancel.
          List<String> older = admission.runningBefore(task.runId());
          if (!older.isEmpty()) {
            cancel(
                older,
                null,
                "run " + serving.registeredRun() + " is over: run " + task.runId() + " took over");
          }
          // the new state serves the task, or declines it until registered
          Behavior<WorkerCommand> unprepared =
              unprepared("registering again for run " + task.runId());
          return handOutLater(tasks.subList(i, tasks.size()), replyTo, unprepared);
        }
        case ID_TAKEN ->
            reports.idTaken(
                task, Admission.idTakenReason(task, admission.heldTask(task.taskId())), replyTo);
        case NOT_SERVED ->
            reports.declined(
                task, types.notServedReason(workerId, serving.state(), task.taskType()), replyTo);
        case OLDER_RUN -> reports.failedForGood(task, admission.olderRunReason(task), replyTo);
        case INLINE -> computeInline(task, replyTo, served);
        case WAIT -> {
          admission.waitForSlot(task, replyTo);
          reports.loadChanged();
        }
        case START -> start(task, replyTo, served);
      }
    }
    return Behaviors.same();
  }

  /**
   * After a state change: these tasks go back to this worker's mailbox, to be handled by {@code
   * next}.
   */
  private Behavior<WorkerCommand> handOutLater(
      List<TaskEnvelope> tasks, ActorRef<QueueCommand> replyTo, Behavior<WorkerCommand> next) {
    if (!tasks.isEmpty()) {
      context.getSelf().tell(new DispatchAll(List.copyOf(tasks), replyTo));
    }
    return next;
  }

  /**
   * Fills free slots with the tasks that waited for one, in arrival order, until the state changes.
   */
  private Behavior<WorkerCommand> startWaiting(Serving serving) {
    for (Admission.Waiting next = admission.nextToStart();
        next != null;
        next = admission.nextToStart()) {
      reports.loadChanged();
      Behavior<WorkerCommand> after = handOut(List.of(next.task()), next.replyTo(), serving);
      if (after != Behaviors.<WorkerCommand>same()) {
        context.getSelf().tell(StartWaiting.INSTANCE); // the new state starts the others
        return after;
      }
    }
    return Behaviors.same();
  }

  // ---- compute ----

  /**
   * On the actor's thread, for types whose compute costs less than a hand-off; allocates only the
   * result message.
   */
  private void computeInline(TaskEnvelope task, ActorRef<QueueCommand> replyTo, ServedType served) {
    Object input = reports.input(task, served.type().inputType(), replyTo);
    if (input == null) {
      return;
    }
    Object result = null;
    Throwable failure = null;
    try {
      result = served.type().compute(input, served.context());
    } catch (Throwable thrown) {
      failure = thrown;
    }
    computed(task, result, failure, null, replyTo);
  }

  /** Starts a compute on the compute dispatcher (a slot is free). */
  private void start(TaskEnvelope task, ActorRef<QueueCommand> replyTo, ServedType served) {
    Object input = reports.input(task, served.type().inputType(), replyTo);
    if (input == null) {
      return;
    }
    RunningCompute run = new RunningCompute(task, replyTo);
    admission.started(run);
    reports.loadChanged();
    String ownIncarnation = incarnation;
    context.pipeToSelf(
        ComputeThreadPool.submit(
            computeExecutor, () -> run.run(() -> served.type().compute(input, served.context()))),
        (result, failure) -> new ComputeDone(ownIncarnation, run, result, failure));
  }

  private Behavior<WorkerCommand> onComputeDone(ComputeDone done, Serving serving) {
    return computeReturned(done, null) ? startWaiting(serving) : Behaviors.same();
  }

  /**
   * Frees the compute's slot and reports its outcome; false (nothing done) for a compute of an
   * earlier incarnation. {@code draining} is the drain under way, or null while serving.
   */
  private boolean computeReturned(ComputeDone done, DrainProgress draining) {
    RunningCompute run = done.run();
    TaskEnvelope task = run.task;
    if (!incarnation.equals(done.incarnation())) {
      context
          .getLog()
          .debug(
              "Worker {} drops the result of {} from its earlier incarnation {}",
              workerId,
              task.describe(),
              done.incarnation());
      return false;
    }
    admission.finished(task.taskId());
    timers.cancel(new CancelGraceOver(task.taskId()));
    reports.loadChanged();
    if (run.nextAttempt != null && done.failure() != null && !TaskReports.crashes(done.failure())) {
      // Cancelled and then handed back: the queue holds this worker to the later attempt, so the
      // earlier one's failure (the interrupt it was asked for) is not reported, and the later
      // attempt takes the slot just freed (a Cancel drops it from there); a drain under way hands
      // it back instead.
      context
          .getLog()
          .debug(
              "Worker {}: cancelled {} returned ({}); {} {}",
              workerId,
              task.describe(),
              done.failure().toString(),
              run.nextAttempt.describe(),
              draining == null ? "starts" : "is declined: draining");
      if (draining == null) {
        admission.waitFirst(run.nextAttempt, run.nextAttemptFrom);
      } else {
        reports.declined(
            run.nextAttempt, ServedTypes.drainingReason(workerId), run.nextAttemptFrom);
        draining.declined++;
      }
      return true;
    }
    computed(run.answering(), done.result(), done.failure(), run.cancelReason(), run.replyTo);
    return true;
  }

  /**
   * Reports a compute's outcome; a {@link WorkerFault} or {@link Error} crashes this worker
   * instead.
   */
  private void computed(
      TaskEnvelope task,
      Object result,
      Throwable failure,
      String cancelReason,
      ActorRef<QueueCommand> replyTo) {
    if (!TaskReports.crashes(failure)) {
      reports.computed(task, result, failure, cancelReason, replyTo);
      return;
    }
    context
        .getLog()
        .error(
            "{} crashed worker {} (incarnation {}): {}; the worker restarts and the queue redelivers the task",
            task.describe(),
            workerId,
            incarnation,
            failure.toString());
    throw goingDown(
        List.of(task.taskId()),
        task.describe() + " crashed it: " + failure,
        failure instanceof WorkerFault fault
            ? fault
            : new WorkerFault(task.describe() + " crashed worker " + workerId, failure));
  }

  // ---- cancellation ----

  /**
   * The queue put these tasks back: drop those still waiting for a slot, interrupt those running. A
   * running compute gets {@code cancel-grace} to return.
   */
  private Behavior<WorkerCommand> onCancel(Cancel cancel, Serving serving) {
    return cancel(cancel.taskIds(), cancel.runId(), cancel.reason())
        ? startWaiting(serving)
        : Behaviors.same();
  }

  /**
   * Its queue entity sees a free slot on another worker: a task still waiting here for a slot goes
   * back to it at once (one DEBUG line: a race of two entities for one slot, settled, not a fault).
   * A task that has started, or is not held here waiting, goes on.
   */
  private Behavior<WorkerCommand> onWithdraw(Withdraw withdraw) {
    Admission.Waiting waiting = admission.withdraw(withdraw.taskId(), withdraw.runId());
    if (waiting == null) {
      context
          .getLog()
          .debug(
              "Worker {} keeps task {}: it is not waiting here for a slot (started, or not held)",
              workerId,
              withdraw.taskId());
      return Behaviors.same();
    }
    reports.noFreeSlot(
        waiting.task(),
        "withdrawn before it started: it waited here for one of "
            + settings.concurrency()
            + " slot(s), all taken, while its queue sees a free slot on another worker",
        waiting.replyTo());
    reports.loadChanged();
    return Behaviors.same();
  }

  /**
   * Interrupts the computes of these tasks and drops those of them that wait (one INFO line); a
   * compute that does not stop within {@code cancel-grace} is hung ({@link CancelGraceOver}). False
   * when none of them is held here.
   *
   * @param runId the run of the tasks meant (a task held here under one of these ids for another
   *     run goes on); null for whatever is held under these ids
   */
  private boolean cancel(List<String> taskIds, String runId, String reason) {
    Admission.Cancelled cancelled = admission.cancel(taskIds, runId, reason);
    if (cancelled.isEmpty()) {
      return false;
    }
    for (String dropped : cancelled.dropped()) {
      if (admission.running(dropped) == null) { // not a later attempt of a compute that reports
        reports.droppedUnreported(dropped);
      }
    }
    cancelled
        .interrupted()
        .forEach(id -> timers.startSingleTimer(new CancelGraceOver(id), settings.cancelGrace()));
    reports.loadChanged();
    context
        .getLog()
        .info(
            "Worker {} (incarnation {}) cancels task(s) {} ({}): interrupted {}, dropped before start {}",
            workerId,
            incarnation,
            taskIds,
            reason,
            cancelled.interrupted(),
            cancelled.dropped());
    return true;
  }

  /**
   * A cancelled compute that has not returned is hung: restart, so that this worker can take work
   * again.
   */
  private Behavior<WorkerCommand> onCancelGraceOver(CancelGraceOver over) {
    RunningCompute run = admission.running(over.taskId());
    if (run == null) {
      return Behaviors.same();
    }
    String reason =
        run.task.describe()
            + " did not stop within "
            + settings.cancelGrace().toMillis()
            + " ms of its cancellation ("
            + run.cancelReason()
            + "): the compute is hung";
    context
        .getLog()
        .error(
            "{}; worker {} (incarnation {}) restarts, abandoning that compute's thread, so that it can "
                + "take work again",
            reason,
            workerId,
            incarnation);
    throw goingDown(
        List.of(over.taskId()),
        reason,
        new WorkerFault(reason + "; worker " + workerId + " restarts"));
  }

  // ---- prepare ----

  /**
   * Runs the prepare of the {@code index}-th regular type on the compute dispatcher; the next
   * starts after it.
   */
  private void startPrepare(Registration registration, int index) {
    TaskType<?, ?> type = types.regular().get(index);
    TaskContext prepareContext =
        WorkerTaskContext.withoutPreparedState(
            workerId, type.name(), registration.parameters(), "its prepare is still running");
    String ownIncarnation = incarnation;
    context.pipeToSelf(
        ComputeThreadPool.submit(computeExecutor, () -> type.prepare(prepareContext)),
        (state, failure) ->
            new PrepareDone(ownIncarnation, registration.generation(), index, state, failure));
  }

  private Behavior<WorkerCommand> onPrepareDone(
      PrepareDone done, Serving serving, List<Object> prepared) {
    Registration registration = serving.registration();
    if (!incarnation.equals(done.incarnation())
        || done.registration() != registration.generation()) {
      return onStalePrepareDone(done);
    }
    String typeName = types.regular().get(done.index()).name();
    if (done.failure() != null) {
      String reason = "prepare of task type '" + typeName + "' failed: " + done.failure();
      context
          .getLog()
          .error(
              "{} on worker {} (incarnation {}); the worker restarts",
              reason,
              workerId,
              incarnation);
      throw goingDown(
          List.of(),
          reason,
          new WorkerFault(
              "prepare of task type '" + typeName + "' failed on worker " + workerId,
              done.failure()));
    }
    List<Object> nowPrepared = new ArrayList<>(prepared); // a prepare may return null: no List.of
    nowPrepared.add(done.state());
    if (nowPrepared.size() < types.regular().size()) {
      startPrepare(registration, nowPrepared.size());
      return registered(serving, nowPrepared);
    }
    return ready(registration, nowPrepared);
  }

  private Behavior<WorkerCommand> onStalePrepareDone(PrepareDone done) {
    context
        .getLog()
        .debug(
            "Worker {} drops a prepare result of its earlier incarnation or registration {}",
            workerId,
            done.incarnation());
    return Behaviors.same();
  }
}
