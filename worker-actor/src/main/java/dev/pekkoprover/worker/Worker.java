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
import org.apache.pekko.actor.typed.javadsl.Behaviors;
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
  private record ComputeDone(String incarnation, TaskEnvelope task, Object result, Throwable failure)
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
  /** Reports not sent yet (see {@link SendReports}); empty between batches. */
  private List<QueueCommand.TaskSucceeded> succeededReports = new ArrayList<>();
  private List<QueueCommand.TaskFailed> failedReports = new ArrayList<>();
  private List<QueueCommand.TaskDeclined> declinedReports = new ArrayList<>();
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

  /** Asks for a {@link SendReports} when the first report of a batch is added. */
  private void reportSoon() {
    if (succeededReports.size() + failedReports.size() + declinedReports.size() == 1) {
      context.getSelf().tell(SendReports.INSTANCE);
    }
  }

  private Behavior<WorkerCommand> onSendReports() {
    sendReports();
    return Behaviors.same();
  }

  /** The gathered reports: a lone one as itself, several as one Reports message. */
  private void sendReports() {
    int count = succeededReports.size() + failedReports.size() + declinedReports.size();
    if (count == 0) {
      return;
    }
    if (count > 1) {
      queue.tell(new QueueCommand.Reports(succeededReports, failedReports, declinedReports));
      succeededReports = new ArrayList<>();
      failedReports = new ArrayList<>();
      declinedReports = new ArrayList<>();
      return;
    }
    if (!succeededReports.isEmpty()) {
      queue.tell(succeededReports.remove(0));
    } else if (!failedReports.isEmpty()) {
      queue.tell(failedReports.remove(0));
    } else {
      queue.tell(declinedReports.remove(0));
    }
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
      return register(task);
    }
    run(task);
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
          context.getSelf().tell(new DispatchAll(List.copyOf(tasks.subList(i + 1, tasks.size()))));
        }
        return register(task);
      }
      run(task);
    }
    return Behaviors.same();
  }

  /** Takes the registration parameters from a registration task and becomes Registered. */
  private Behavior<WorkerCommand> register(TaskEnvelope task) {
    Slot slot = served.get(task.taskType());
    Object parameters = admit(task, slot);
    if (parameters == REFUSED) {
      return Behaviors.same();
    }
    Object registered;
    try {
      registered = slot.type().compute(parameters, slot.context());
    } catch (Throwable failure) {
      report(task, failure);
      return Behaviors.same();
    }
    queue.tell(
        new QueueCommand.TaskSucceeded(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), registered));
    return registered(parameters, task);
  }

  private Behavior<WorkerCommand> onDispatch(Dispatch dispatch) {
    run(dispatch.task());
    return Behaviors.same();
  }

  private Behavior<WorkerCommand> onDispatchAll(DispatchAll batch) {
    for (TaskEnvelope task : batch.tasks()) {
      run(task);
    }
    return Behaviors.same();
  }

  /** Runs a task this worker was handed, or answers it at once (declined, or failed for a bad payload). */
  private void run(TaskEnvelope task) {
    Slot slot = served.get(task.taskType());
    Object input = admit(task, slot);
    if (input == REFUSED) {
      return;
    }
    if (slot.type().runsInline()) {
      computeInline(task, slot, input);
    } else {
      computeOffThread(task, slot, input);
    }
  }

  /**
   * The task's input when this worker can run it now; otherwise answers the task (declined: type not served or no
   * capacity; failed for good: a payload that is not its type's input) and returns {@link #REFUSED}.
   */
  private Object admit(TaskEnvelope task, Slot slot) {
    if (slot == null) {
      decline(task, types.notServedReason(workerId, state, task.taskType()));
      return REFUSED;
    }
    if (running >= settings.concurrency()) {
      decline(task, "worker " + workerId + " is over capacity (" + running + " of " + settings.concurrency()
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
        failForGood(task, badInput(task, inputType, "its JSON payload does not decode: " + e.getMessage()));
        return REFUSED;
      }
      if (decoded == null) {
        failForGood(task, badInput(task, inputType, "its JSON payload is null"));
        return REFUSED;
      }
      return decoded;
    }
    if (!inputType.isInstance(payload)) {
      String what = payload == null ? "null" : "a " + payload.getClass().getName();
      failForGood(task, badInput(task, inputType, "its payload is " + what));
      return REFUSED;
    }
    return payload;
  }

  private static String badInput(TaskEnvelope task, Class<?> inputType, String why) {
    return "task " + task.taskId() + " (type " + task.taskType() + ") needs a " + inputType.getName() + " input, but "
        + why;
  }

  private void decline(TaskEnvelope task, String reason) {
    context.getLog().debug("Worker {} declines {}: {}", workerId, task.describe(), reason);
    declinedReports.add(
        new QueueCommand.TaskDeclined(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), reason));
    reportSoon();
  }

  private void failForGood(TaskEnvelope task, String reason) {
    context.getLog().warn("{} failed for good on worker {}: {}", task.describe(), workerId, reason);
    failedReports.add(
        new QueueCommand.TaskFailed(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), reason, false));
    reportSoon();
  }

  // ---- compute ----

  /** On the actor's thread, for types whose compute costs less than a hand-off; allocates only the result message. */
  private void computeInline(TaskEnvelope task, Slot slot, Object input) {
    Object result;
    try {
      result = slot.type().compute(input, slot.context());
    } catch (Throwable failure) {
      report(task, failure);
      return;
    }
    succeed(task, result);
  }

  private void computeOffThread(TaskEnvelope task, Slot slot, Object input) {
    running++;
    String ownIncarnation = incarnation;
    CompletableFuture<ComputeDone> done =
        CompletableFuture.supplyAsync(() -> compute(ownIncarnation, task, slot, input), computeExecutor);
    context.pipeToSelf(
        done, (finished, failure) -> finished != null ? finished : new ComputeDone(ownIncarnation, task, null, failure));
  }

  /** Runs on the compute dispatcher; never throws, so every outcome comes back as one message. */
  private static ComputeDone compute(String incarnation, TaskEnvelope task, Slot slot, Object input) {
    try {
      return new ComputeDone(incarnation, task, slot.type().compute(input, slot.context()), null);
    } catch (Throwable failure) {
      return new ComputeDone(incarnation, task, null, failure);
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
      succeed(task, done.result());
    } else {
      report(task, done.failure());
    }
    return Behaviors.same();
  }

  /** Reports a result; one that could not cross a node fails its task for good instead of being lost in transit. */
  private void succeed(TaskEnvelope task, Object result) {
    if (result == null || !AnyValue.isAllowed(result.getClass())) {
      failForGood(task, "task " + task.taskId() + " (type " + task.taskType() + ") returned "
          + (result == null ? "null" : "a " + result.getClass().getName())
          + ", which cannot travel as a task result: return a record implementing "
          + CborSerializable.class.getName());
      return;
    }
    succeededReports.add(
        new QueueCommand.TaskSucceeded(workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), result));
    reportSoon();
  }

  /** Reports a compute that threw; a {@link WorkerFault} or {@link Error} crashes this worker instead. */
  private void report(TaskEnvelope task, Throwable failure) {
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
      failForGood(task, String.valueOf(failure.getMessage()));
      return;
    }
    String reason = failure.getClass().getName() + ": " + failure.getMessage();
    context.getLog().warn("{} failed on worker {} (may be retried): {}", task.describe(), workerId, reason);
    failedReports.add(
        new QueueCommand.TaskFailed(
            workerId, incarnation, task.taskId(), task.taskType(), task.attempt(), reason, true));
    reportSoon();
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
