package dev.pekkoprover.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.EncodedPayload;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerCommand.Dispatch;
import dev.pekkoprover.protocol.WorkerCommand.DispatchAll;
import dev.pekkoprover.protocol.WorkerFault;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * A stateless worker: Unprepared -> Registered -> Ready. It tells the queue which task types it serves at each state
 * change ({@link QueueCommand.WorkerServes}), runs the tasks the queue dispatches to it and reports each one back as
 * succeeded, failed or declined.
 *
 * <p>What a reader must not miss: the worker keeps nothing worth saving. A crash ({@link WorkerFault}, any {@link
 * Error}, a failing {@code prepare}) makes the supervisor restart it with backoff as a new <em>incarnation</em> in
 * state Unprepared; the queue sees the new incarnation and puts back the tasks the old one held, and results of the
 * old incarnation's computations that arrive later are dropped. Nothing is stashed.
 */
public final class Worker {

  // ---- private messages: results of work done off the actor's thread ----

  /**
   * A compute that ran on the compute dispatcher has finished. Never leaves this JVM (it is sent only to self through
   * pipeToSelf) and carries an arbitrary result object or a Throwable, so it is exempt from serialisation checks.
   */
  private record ComputeDone(
      String incarnation, TaskEnvelope task, ActorRef<QueueCommand> replyTo, Object result, Throwable failure)
      implements WorkerCommand, NoSerializationVerificationNeeded {}

  /**
   * The prepare of {@code index}-th regular type has finished. Same as {@link ComputeDone}: sent only to self, carries
   * a prepared state (a loaded circuit) or a Throwable, never serialised.
   */
  private record PrepareDone(String incarnation, int index, Object state, Throwable failure)
      implements WorkerCommand, NoSerializationVerificationNeeded {}

  /**
   * Time to send the reports gathered so far: sent to itself with the first report of a batch, so it comes after
   * the messages already waiting (more results, more dispatches). One report goes out at once; a burst goes out as
   * one {@link QueueCommand.Reports}. Sent only to self.
   */
  private enum SendReports implements WorkerCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Time to repeat the announcement of what this worker serves; also its timer key. Sent only to self. */
  private enum Announce implements WorkerCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Reports bound for one queue (entity). */
  private static final class ReportBatch {
    final List<QueueCommand.TaskSucceeded> succeeded = new ArrayList<>();
    final List<QueueCommand.TaskFailed> failed = new ArrayList<>();
    final List<QueueCommand.TaskDeclined> declined = new ArrayList<>();
  }

  /** A served task type with the context its tasks run with in the current state. */
  private record Slot(TaskType<Object, Object> type, TaskContext context) {}

  /** What {@link #admit} returns for a task it has already answered (declined or failed). */
  private static final Object REFUSED = new Object();

  private final ActorContext<WorkerCommand> context;
  private final WorkerSettings settings;
  private final String workerId;
  private final ServedTypes types;
  private final ActorRef<QueueCommand> queue;
  private final ActorRef<WorkerStateChanged> listener;
  private final Executor computeExecutor;
  private final ObjectMapper json;
  /** Fresh at every (re)start; tells the queue that this worker restarted, and tells stale results apart. */
  private final String incarnation = UUID.randomUUID().toString();

  private WorkerState state;
  /** The types served in {@link #state}, by name, each with its task context. */
  private Map<String, Slot> served = Map.of();
  /** Reports not sent yet (see {@link SendReports}), by the queue (entity) that dispatched their task. */
  private final Map<ActorRef<QueueCommand>, ReportBatch> reports = new LinkedHashMap<>();
  /** How many reports {@link #reports} holds; 0 between batches. */
  private int unsentReports;
  /** Serialises a result bound for another node to check its size; null when there is no limit. */
  private final Serialization serialization;
  /** Tasks handed to the compute dispatcher whose result has not come back yet. */
  private int running;
  /** The registration parameters, once registered. */
  private Object registration;
  /** What each regular type's prepare returned, by index in {@link ServedTypes#regular()}. */
  private Object[] preparedStates;

  private Worker(
      ActorContext<WorkerCommand> context,
      WorkerSettings settings,
      ServedTypes types,
      ActorRef<QueueCommand> queue,
      ActorRef<WorkerStateChanged> listener) {
    this.context = context;
    this.settings = settings;
    this.workerId = settings.workerId();
    this.types = types;
    this.queue = queue;
    this.listener = listener;
    this.computeExecutor =
        context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(settings.computeDispatcher()));
    this.json = JacksonObjectMapperProvider.get(context.getSystem()).getOrCreate("jackson-json", Optional.empty());
    this.serialization =
        settings.maxResultBytes() > 0 ? SerializationExtension.get(Adapter.toClassic(context.getSystem())) : null;
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
    Behavior<WorkerCommand> worker =
        Behaviors.setup(
            context ->
                Behaviors.withTimers(
                    timers -> {
                      if (!settings.announceInterval().isZero()) {
                        timers.startTimerWithFixedDelay(Announce.INSTANCE, settings.announceInterval());
                      }
                      return new Worker(context, settings, served, queue, listener).unprepared();
                    }));
    return Behaviors.supervise(worker)
        .onFailure(
            Exception.class,
            SupervisorStrategy.restartWithBackoff(
                    settings.restartMinBackoff(), settings.restartMaxBackoff(), settings.restartRandomFactor())
                .withResetBackoffAfter(settings.restartResetAfter()));
  }

  // ---- states ----

  private Behavior<WorkerCommand> unprepared() {
    enter(WorkerState.UNPREPARED, "started");
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(Dispatch.class, this::onDispatchWhileUnprepared)
        .onMessage(DispatchAll.class, this::onDispatchAllWhileUnprepared)
        .onMessage(ComputeDone.class, this::onComputeDone)
        .onMessage(PrepareDone.class, this::onStalePrepareDone)
        .onMessageEquals(Announce.INSTANCE, this::onAnnounce)
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .build();
  }

  private Behavior<WorkerCommand> registered(Object parameters, TaskEnvelope registrationTask) {
    this.registration = parameters;
    this.preparedStates = new Object[types.regular().size()];
    enter(WorkerState.REGISTERED, "registered by task " + registrationTask.taskId() + "; preparing "
        + types.regular().stream().map(TaskType::name).toList());
    if (types.regular().isEmpty()) {
      return ready();
    }
    startPrepare(0);
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(Dispatch.class, this::onDispatch)
        .onMessage(DispatchAll.class, this::onDispatchAll)
        .onMessage(ComputeDone.class, this::onComputeDone)
        .onMessage(PrepareDone.class, this::onPrepareDone)
        .onMessageEquals(Announce.INSTANCE, this::onAnnounce)
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .build();
  }

  private Behavior<WorkerCommand> ready() {
    enter(WorkerState.READY, "prepared");
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(Dispatch.class, this::onDispatch)
        .onMessage(DispatchAll.class, this::onDispatchAll)
        .onMessage(ComputeDone.class, this::onComputeDone)
        .onMessage(PrepareDone.class, this::onStalePrepareDone)
        .onMessageEquals(Announce.INSTANCE, this::onAnnounce)
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .build();
  }

  /** Switches the served types, then tells the queue, the event stream and the listener. */
  private void enter(WorkerState newState, String detail) {
    state = newState;
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
        new QueueCommand.WorkerServes(
            context.getSelf(), workerId, incarnation, types.served(state), settings.concurrency()));
  }

  /**
   * Just before crashing: tells the queue this incarnation serves nothing any more, so the tasks it held go to other
   * workers at once instead of waiting out the restart backoff (up to seconds) until the next incarnation announces.
   */
  private void announceDown() {
    sendReports(); // what this incarnation finished is not lost with it
    queue.tell(new QueueCommand.WorkerServes(context.getSelf(), workerId, incarnation + "/down", Set.of(), 0));
  }

  /** The batch of reports for {@code to}; asks for a {@link SendReports} when the first report of a burst comes. */
  private ReportBatch batchFor(ActorRef<QueueCommand> to) {
    if (unsentReports++ == 0) {
      context.getSelf().tell(SendReports.INSTANCE);
    }
    ReportBatch batch = reports.get(to);
    if (batch == null) {
      batch = new ReportBatch();
      reports.put(to, batch);
    }
    return batch;
  }

  private Behavior<WorkerCommand> onSendReports() {
    sendReports();
    return Behaviors.same();
  }

  /** The gathered reports, one message per queue (entity): a lone report as itself, several as one Reports. */
  private void sendReports() {
    if (unsentReports == 0) {
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
    unsentReports = 0;
  }

  private Behavior<WorkerCommand> onAnnounce() {
    announce();
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

  private Behavior<WorkerCommand> onDispatchWhileUnprepared(Dispatch dispatch) {
    TaskEnvelope task = dispatch.task();
    if (WorkerRegistrationTask.NAME.equals(task.taskType())) {
      return register(task, dispatch.replyTo());
    }
    run(task, dispatch.replyTo());
    return Behaviors.same();
  }

  /**
   * The tasks in order. A registration among them changes the state: the tasks after it go back to this worker's
   * mailbox, to be handled by the new state.
   */
  private Behavior<WorkerCommand> onDispatchAllWhileUnprepared(DispatchAll batch) {
    List<TaskEnvelope> tasks = batch.tasks();
    for (int i = 0; i < tasks.size(); i++) {
      TaskEnvelope task = tasks.get(i);
      if (WorkerRegistrationTask.NAME.equals(task.taskType())) {
        if (i + 1 < tasks.size()) {
          context.getSelf().tell(new DispatchAll(List.copyOf(tasks.subList(i + 1, tasks.size())), batch.replyTo()));
        }
        return register(task, batch.replyTo());
      }
      run(task, batch.replyTo());
    }
    return Behaviors.same();
  }

  /** Takes the registration parameters from a registration task and becomes Registered. */
  private Behavior<WorkerCommand> register(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
    Slot slot = served.get(task.taskType());
    Object parameters = admit(task, slot, replyTo);
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
    replyTo.tell(
        new QueueCommand.TaskSucceeded(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), registered));
    return registered(parameters, task);
  }

  private Behavior<WorkerCommand> onDispatch(Dispatch dispatch) {
    run(dispatch.task(), dispatch.replyTo());
    return Behaviors.same();
  }

  private Behavior<WorkerCommand> onDispatchAll(DispatchAll batch) {
    for (TaskEnvelope task : batch.tasks()) {
      run(task, batch.replyTo());
    }
    return Behaviors.same();
  }

  /** Runs a task this worker was handed, or answers it at once (declined, or failed for a bad payload). */
  private void run(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
    Slot slot = served.get(task.taskType());
    Object input = admit(task, slot, replyTo);
    if (input == REFUSED) {
      return;
    }
    if (slot.type().runsInline()) {
      computeInline(task, replyTo, slot, input);
    } else {
      computeOffThread(task, replyTo, slot, input);
    }
  }

  /**
   * The task's input when this worker can run it now; otherwise answers the task (declined: type not served or no
   * capacity; failed for good: a payload that is not its type's input) and returns {@link #REFUSED}.
   */
  private Object admit(TaskEnvelope task, Slot slot, ActorRef<QueueCommand> replyTo) {
    if (slot == null) {
      decline(task, replyTo, types.notServedReason(workerId, state, task.taskType()));
      return REFUSED;
    }
    if (running >= settings.concurrency()) {
      decline(task, replyTo, "worker " + workerId + " is over capacity (" + running + " of " + settings.concurrency()
          + " tasks running)");
      return REFUSED;
    }
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

  private void computeOffThread(TaskEnvelope task, ActorRef<QueueCommand> replyTo, Slot slot, Object input) {
    running++;
    String ownIncarnation = incarnation;
    CompletableFuture<ComputeDone> done =
        CompletableFuture.supplyAsync(() -> compute(ownIncarnation, task, replyTo, slot, input), computeExecutor);
    context.pipeToSelf(
        done, (finished, failure) -> finished != null ? finished : new ComputeDone(ownIncarnation, task, replyTo, null, failure));
  }

  /** Runs on the compute dispatcher; never throws, so every outcome comes back as one message. */
  private static ComputeDone compute(
      String incarnation, TaskEnvelope task, ActorRef<QueueCommand> replyTo, Slot slot, Object input) {
    try {
      return new ComputeDone(incarnation, task, replyTo, slot.type().compute(input, slot.context()), null);
    } catch (Throwable failure) {
      return new ComputeDone(incarnation, task, replyTo, null, failure);
    }
  }

  private Behavior<WorkerCommand> onComputeDone(ComputeDone done) {
    TaskEnvelope task = done.task();
    if (!incarnation.equals(done.incarnation())) {
      context.getLog().debug(
          "Worker {} drops the result of {} from its earlier incarnation {}",
          workerId, task.describe(), done.incarnation());
      return Behaviors.same();
    }
    running--;
    if (done.failure() == null) {
      succeed(task, done.result(), done.replyTo());
    } else {
      report(task, done.failure(), done.replyTo());
    }
    return Behaviors.same();
  }

  /** Reports a result; one that could not cross a node fails its task for good instead of being lost in transit. */
  private void succeed(TaskEnvelope task, Object result, ActorRef<QueueCommand> replyTo) {
    if (result == null || !AnyValue.isAllowed(result.getClass())) {
      failForGood(task, replyTo, "task " + task.taskId() + " (type " + task.taskType() + ") returned "
          + (result == null ? "null" : "a " + result.getClass().getName())
          + ", which cannot travel as a task result: return a record implementing "
          + CborSerializable.class.getName());
      return;
    }
    String oversize = oversizeResult(task, result, replyTo);
    if (oversize != null) {
      failForGood(task, replyTo, oversize);
      return;
    }
    batchFor(replyTo).succeeded.add(
        new QueueCommand.TaskSucceeded(workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), result));
  }

  /**
   * Why a result cannot go to {@code replyTo}, or null when it can: a result bound for another node must fit the
   * transport's frame ({@code max-result-size}); Artery would otherwise drop it with a log line on its own side and
   * the task would come back only when its lease ran out. Costs one serialisation per remote result when the limit
   * is on; a result for a queue in this JVM is never serialised, so never measured.
   */
  private String oversizeResult(TaskEnvelope task, Object result, ActorRef<QueueCommand> replyTo) {
    if (serialization == null || !replyTo.path().address().hasGlobalScope()) {
      return null;
    }
    long size;
    try {
      size = serialization.serialize(result).get().length;
    } catch (RuntimeException e) {
      return "task " + task.taskId() + " (type " + task.taskType() + ") returned a " + result.getClass().getName()
          + " that does not serialise (" + e.getMessage() + "): make it a record implementing "
          + CborSerializable.class.getName();
    }
    if (size <= settings.maxResultBytes()) {
      return null;
    }
    return "the result of task " + task.taskId() + " (type " + task.taskType() + ") is " + size + " bytes serialised,"
        + " over the " + settings.maxResultBytes() + "-byte limit (prover.queue.cluster.max-payload-size): split the"
        + " work into smaller tasks, or raise that limit together with pekko.remote.artery.advanced.maximum-frame-size";
  }

  /** Reports a compute that threw; a {@link WorkerFault} or {@link Error} crashes this worker instead. */
  private void report(TaskEnvelope task, Throwable failure, ActorRef<QueueCommand> replyTo) {
    if (failure instanceof WorkerFault || failure instanceof Error) {
      context.getLog().error(
          "{} crashed worker {} (incarnation {}): {}; the worker restarts and the queue redelivers the task",
          task.describe(), workerId, incarnation, failure.toString());
      announceDown();
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

  // ---- prepare ----

  /** Runs the prepare of the {@code index}-th regular type on the compute dispatcher; the next starts when it is done. */
  private void startPrepare(int index) {
    TaskType<?, ?> type = types.regular().get(index);
    TaskContext prepareContext =
        WorkerTaskContext.withoutPreparedState(workerId, type.name(), registration, "its prepare is still running");
    String ownIncarnation = incarnation;
    CompletableFuture<PrepareDone> done =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new PrepareDone(ownIncarnation, index, type.prepare(prepareContext), null);
              } catch (Throwable failure) {
                return new PrepareDone(ownIncarnation, index, null, failure);
              }
            },
            computeExecutor);
    context.pipeToSelf(
        done, (finished, failure) -> finished != null ? finished : new PrepareDone(ownIncarnation, index, null, failure));
  }

  private Behavior<WorkerCommand> onPrepareDone(PrepareDone done) {
    if (!incarnation.equals(done.incarnation())) {
      return onStalePrepareDone(done);
    }
    String typeName = types.regular().get(done.index()).name();
    if (done.failure() != null) {
      context.getLog().error(
          "Prepare of task type {} failed on worker {} (incarnation {}): {}; the worker restarts",
          typeName, workerId, incarnation, done.failure().toString());
      announceDown();
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
        "Worker {} drops a prepare result of its earlier incarnation {}", workerId, done.incarnation());
    return Behaviors.same();
  }
}
