package dev.pekkoprover.sequencer;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.FlowsView;
import dev.pekkoprover.protocol.MissingTasks;
import dev.pekkoprover.protocol.PayloadCodec;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskIds;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.flow.FlowScope;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One flow: a unit of proving work run by a {@link FlowLogic}. It hands the logic a {@link
 * FlowScope}, sends the tasks the logic pushes to the queue (all tasks pushed while handling one
 * message travel in one {@code Enqueue}), runs each task's callback once with its first result, and
 * ends with {@link FlowResult.Completed} or {@link FlowResult.Failed}.
 *
 * <p>It accepts the first result per task id and drops duplicates (the queue delivers at least
 * once) and results stamped with another run id (a task of an earlier sequencer run), counting
 * both. A task that fails for good, or that the queue refuses, fails the flow with an error naming
 * task, type, attempts and reason.
 *
 * <p>What a reader must not miss: a task is sent again only when it was lost, never because it
 * waits long. When its outcome is overdue ({@code resend-after}, then backing off) the flow asks
 * the queue whether it still holds it ({@link QueueCommand.CheckHeld}) and re-sends only what comes
 * back in {@link MissingTasks}; when a queue node is gone ({@link
 * ProvingOrchestrator.QueueNodeLost}) it re-sends every pending task at once. Both re-sends are
 * plain Enqueues of the same task ids, which the queue ignores for tasks it holds. The rules are
 * {@link PendingTasks}'s.
 *
 * <p>With durability on ({@link Durable}) every push gets a content key (task type + SHA-256 of the
 * serialised input, {@link ContentKeys}). A key the result store holds completes from the store
 * without running; a key another flow is computing waits for that flow's result ({@link
 * ResultIndex} claims); anything else runs. A result is handed to its callback only after the store
 * confirmed it written; failed and cancelled tasks are never stored. Callbacks of results found at
 * push time run after the callback that pushed them returns, never inside it. The keys and claims
 * are {@link FlowDurability}'s; this class translates messages into calls on it and on {@link
 * PendingTasks}.
 */
public final class FlowRunner<R> extends AbstractBehavior<FlowRunner.Command>
    implements FlowScope<R> {

  /**
   * The flow's messages: the queue's outcomes and answers, wrapped, and {@link
   * ProvingOrchestrator.QueueNodeLost}.
   */
  public interface Command {}

  private record WrappedOutcome(TaskOutcome outcome) implements Command {}

  /** Asks for the flow's progress (tasks pushed and answered so far), for the status API. */
  public record GetProgress(ActorRef<FlowsView.FlowProgress> replyTo)
      implements Command, CborSerializable {}

  private record WrappedMissing(MissingTasks missing) implements Command {}

  private record WrappedStored(ResultWriter.Stored stored) implements Command {}

  /**
   * From the flow that computed a content key other flows waited for: the stored result, or null
   * when that flow gave it up (its task failed, or the flow ended without it), in which case the
   * waiting task runs itself.
   *
   * @param sequence the waiting task's number in the receiving flow
   */
  public record ClaimSettled(
      long sequence,
      @JsonSerialize(using = AnyValue.Serializer.class)
          @JsonDeserialize(using = AnyValue.Deserializer.class)
          Object result)
      implements Command, CborSerializable {}

  /**
   * What a flow needs when durability is on: the read view of the result store (and its claims),
   * the store's group-commit front, and the digest of the registration parameters the workers
   * prepare with, which is part of every content key (a task's result depends on its input and on
   * those).
   */
  public record Durable(
      ResultIndex index, ActorRef<ResultWriter.Command> writer, String parametersDigest) {}

  /**
   * Time to ask the queue about tasks whose outcome is overdue; also its timer key. Sent only to
   * self.
   */
  private enum CheckTick implements Command {
    INSTANCE
  }

  /**
   * A check after a queue node was lost, scheduled once each (the timer's key stays CheckTick's).
   * Sent only to self, never across nodes: no serialization.
   */
  private enum LossCheck
      implements Command, org.apache.pekko.actor.NoSerializationVerificationNeeded {
    INSTANCE
  }

  /**
   * A queue node was removed within {@code loss-check-window} before this flow started, told by the
   * sequencer as the flow starts: what the flow pushes now can reach the removed node's region
   * before this node's region has dropped it, as a re-send at the removal can, so its tasks are
   * asked about at the loss checks (nothing is re-sent: nothing was sent before the loss). Sent
   * between local actors only.
   *
   * @param address the removed member's address
   */
  record LossBeforeStart(String address)
      implements Command, org.apache.pekko.actor.NoSerializationVerificationNeeded {}

  private final String flowId;

  /** Its start order in the run ({@link TaskEnvelope#flowSeq}), on every task it pushes. */
  private final long flowSeq;

  private final String runId;
  private final ActorRef<QueueCommand> queue;
  private final ActorRef<FlowResult> replyTo;
  private final ActorRef<TaskOutcome> outcomes;

  /**
   * The same ref as {@code outcomes} (one adapter per actor): an outcome and an answer from one
   * entity keep order.
   */
  private final ActorRef<MissingTasks> answers;

  /**
   * Tasks pushed and not answered yet, by the sequence number in their id, and when to ask about or
   * re-send them.
   */
  private final PendingTasks pending;

  private final Duration lossCheckInterval;
  private List<TaskEnvelope> outbox = new ArrayList<>();
  private long sequence;
  private int duplicates;
  private int staleResults;
  private boolean done;
  private final long startedAt = System.nanoTime();

  /** Null when durability is off: then nothing below is used. */
  private final FlowDurability durable;

  /** Results known and stored whose callbacks are due, in the order they became due. */
  private final ArrayDeque<PendingTask> settled = new ArrayDeque<>();

  /**
   * Queue nodes that leave and are not removed yet ({@link ProvingOrchestrator.QueueNodeLeaving}):
   * while there is one, tasks found missing are what its hand-off did, said at INFO.
   */
  private final Set<String> leavingQueueNodes = new HashSet<>();

  /**
   * Queue nodes removed within {@code loss-check-window} ({@link
   * ProvingOrchestrator.QueueNodeLost}): the re-send at a removal can reach the lost node's region
   * before sharding has moved its shards (a node that crashed), and what the loss checks then find
   * missing is that race, said at INFO.
   */
  private final Set<String> lostQueueNodes = new HashSet<>();

  /** The answers since the last report re-sent tasks within the loss window. */
  private boolean missingAfterLoss;

  /**
   * Tasks completed without running: found in the store, or computed by another flow's identical
   * task.
   */
  private int reused;

  /** {@link #reused} by task type name. */
  private final Map<String, Integer> reusedPerType = new TreeMap<>();

  /**
   * This actor system's counts of computed and reused results, which a job's progress and summary
   * read.
   */
  private final TaskResultCounts resultCounts;

  /**
   * @param flowSeq the flow's start order in its run, which its tasks carry ({@link
   *     TaskEnvelope#flowSeq}): the queue hands out an older flow's tasks first
   * @param settings resend-after, the checks' backoff and bounds, the loss window ({@link
   *     SequencerSettings})
   * @param durable the result store's read view and writer, or null to run without durability
   */
  public static <R> Behavior<Command> create(
      String flowId,
      long flowSeq,
      String runId,
      ActorRef<QueueCommand> queue,
      FlowLogic<R> logic,
      ActorRef<FlowResult> replyTo,
      SequencerSettings settings,
      Durable durable) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  context.setLoggerName(
                      FlowRunner
                          .class); // else a Pekko logger, which a node's logback keeps at WARN
                  if (!settings.resendAfter().isZero()) {
                    timers.startTimerWithFixedDelay(CheckTick.INSTANCE, settings.checkTick());
                  }
                  FlowRunner<R> flow =
                      new FlowRunner<>(
                          context, flowId, flowSeq, runId, queue, replyTo, settings, durable);
                  flow.begin(logic);
                  return flow.done ? Behaviors.stopped() : flow;
                }));
  }

  private FlowRunner(
      ActorContext<Command> context,
      String flowId,
      long flowSeq,
      String runId,
      ActorRef<QueueCommand> queue,
      ActorRef<FlowResult> replyTo,
      SequencerSettings settings,
      Durable durable) {
    super(context);
    this.flowId = flowId;
    this.flowSeq = flowSeq;
    this.runId = runId;
    this.queue = queue;
    this.replyTo = replyTo;
    this.pending = new PendingTasks(flowId, settings, System::nanoTime);
    this.lossCheckInterval = settings.lossCheckInterval();
    this.resendAfter = settings.resendAfter();
    this.outcomes = context.messageAdapter(TaskOutcome.class, WrappedOutcome::new);
    this.answers = context.messageAdapter(MissingTasks.class, WrappedMissing::new);
    this.resultCounts = TaskResultCounts.get(context.getSystem());
    this.durable =
        durable == null
            ? null
            : new FlowDurability(
                durable,
                new ContentKeys(context.getSystem()),
                context.getSelf(),
                context.messageAdapter(ResultWriter.Stored.class, WrappedStored::new),
                context.getLog(),
                flowId);
  }

  private void begin(FlowLogic<R> logic) {
    try {
      logic.start(this);
    } catch (Throwable e) { // user code: see rethrowFatal
      rethrowFatal(e);
      fail("flow logic threw while starting: " + e);
    }
    runSettled();
    flush();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(WrappedOutcome.class, this::onOutcome)
        .onMessage(WrappedMissing.class, this::onMissing)
        .onMessageEquals(CheckTick.INSTANCE, () -> onCheckTick(false))
        .onMessageEquals(LossCheck.INSTANCE, () -> onCheckTick(true))
        .onMessage(LossBeforeStart.class, this::onLossBeforeStart)
        .onMessage(ProvingOrchestrator.QueueNodeLost.class, this::onQueueNodeLost)
        .onMessage(
            ProvingOrchestrator.QueueNodeLeaving.class,
            leaving -> {
              leavingQueueNodes.add(leaving.address());
              return this;
            })
        .onMessage(GetProgress.class, this::onGetProgress)
        .onMessage(WrappedStored.class, this::onStored)
        .onMessage(ClaimSettled.class, this::onClaimSettled)
        .onSignal(
            PostStop.class,
            signal -> {
              releaseClaims(); // stopped from outside: the flows waiting on this one run their
              // tasks themselves
              return this;
            })
        .build();
  }

  private Behavior<Command> onGetProgress(GetProgress request) {
    request
        .replyTo()
        .tell(
            new FlowsView.FlowProgress(
                flowId,
                sequence,
                sequence - pending.size(),
                (System.nanoTime() - startedAt) / 1_000_000));
    return this;
  }

  /** A reason of {@code prover_flow_results_dropped_total}: a duplicate of an accepted result. */
  static final String DUPLICATE = "duplicate";

  /** A reason of {@code prover_flow_results_dropped_total}: an outcome of another run. */
  static final String STALE_RUN = "stale_run";

  /** Every reason of {@code prover_flow_results_dropped_total}, each exported from the start. */
  static final List<String> DROPPED_REASONS = List.of(DUPLICATE, STALE_RUN);

  /**
   * The counter of results dropped for {@code reason} (one of {@link #DROPPED_REASONS}); registered
   * at zero for each reason when the sequencer starts ({@link FlowTally}), so that Prometheus's
   * {@code increase()} sees the first drop.
   */
  static Counter droppedCounter(MeterRegistry registry, String reason) {
    return Counter.builder("prover.flow.results.dropped")
        .description(
            "Task outcomes a flow dropped: a duplicate of an accepted result, or from another run")
        .tag("reason", reason)
        .register(registry);
  }

  /** A result dropped (a duplicate, or of another run): rare, so the counter is looked up. */
  private void countDropped(String reason) {
    droppedCounter(ProverMetrics.get(getContext().getSystem()).registry(), reason).increment();
  }

  /**
   * Logs what the last round's answers re-sent, then asks the queue about every task now overdue. A
   * loss check ({@code lossCheck}) schedules the next one while the loss window lasts; the periodic
   * tick does not, or each of its ticks in the window would start one more chain.
   */
  private Behavior<Command> onCheckTick(boolean lossCheck) {
    logMissing();
    PendingTasks.Overdue overdue = pending.overdue();
    if (lossCheck && overdue.afterLoss()) {
      getContext().scheduleOnce(lossCheckInterval, getContext().getSelf(), LossCheck.INSTANCE);
    }
    for (PendingTasks.Check check : overdue.checks()) {
      queue.tell(new QueueCommand.CheckHeld(check.taskType(), check.taskIds(), answers));
    }
    if (overdue.asked() > 0) {
      getContext()
          .getLog()
          .debug(
              "Flow {} asks the queue whether it still holds {} task(s) whose outcome is "
                  + "overdue; {} task(s) pending",
              flowId,
              overdue.asked(),
              pending.size());
    }
    return this;
  }

  /**
   * Re-sends the tasks the queue says it does not hold, that are still pending and were asked
   * about.
   */
  private Behavior<Command> onMissing(WrappedMissing wrapped) {
    if (pending.resendMissing(wrapped.missing().taskIds(), outbox) > 0) {
      missingAfterLoss |= !lostQueueNodes.isEmpty() && pending.inLossWindow();
      flush();
    }
    return this;
  }

  /**
   * A queue node is gone, and the entities it hosted start again empty elsewhere: sends every
   * pending task again at once, since the flow cannot tell which entity held which. The tasks are
   * then asked about every second for a while ({@code loss-check-window}): a re-send that raced
   * with the shard's move (a node that crashed rather than handed its shards off) may be lost, and
   * is sent again when the queue says it does not hold it. A second queue node removed within a
   * {@code loss-check-interval} of that re-send (two stopped together) sends nothing more: the next
   * loss check asks about every queued task instead ({@link
   * PendingTasks#sinceResentAllWithinCheckInterval}).
   */
  private Behavior<Command> onQueueNodeLost(ProvingOrchestrator.QueueNodeLost lost) {
    leavingQueueNodes.remove(lost.address());
    if (!pending.inLossWindow()) {
      lostQueueNodes.clear(); // those of an earlier window
    }
    lostQueueNodes.add(lost.address());
    if (pending.isEmpty()) {
      getContext()
          .getLog()
          .debug("Flow {}: queue node {} left; no task pending", flowId, lost.address());
      return this;
    }
    long since = pending.sinceResentAllWithinCheckInterval();
    if (since >= 0) {
      int queued = pending.checkAllQueuedNow();
      getContext()
          .getLog()
          .info(
              "Flow {}: queue node {} left too, {} ms after the last re-send of every pending task:"
                  + " not sent again; the next loss check asks the queue about the {} queued"
                  + " task(s) and re-sends what it no longer holds",
              flowId,
              lost.address(),
              since / 1_000_000,
              queued);
    } else {
      int count = pending.resendAllQueued(outbox);
      getContext()
          .getLog()
          .info(
              "Flow {}: queue node {} left: re-sent {} pending task(s)",
              flowId,
              lost.address(),
              count);
      flush();
    }
    if (pending.startLossChecks()) {
      getContext().scheduleOnce(lossCheckInterval, getContext().getSelf(), LossCheck.INSTANCE);
    }
    return this;
  }

  private Behavior<Command> onLossBeforeStart(LossBeforeStart loss) {
    if (!pending.inLossWindow()) {
      lostQueueNodes.clear();
    }
    lostQueueNodes.add(loss.address());
    int queued = pending.checkAllQueuedNow();
    getContext()
        .getLog()
        .debug(
            "Flow {} started within the loss window of queue node {}: its {} queued task(s) are"
                + " asked about at the loss checks",
            flowId,
            loss.address(),
            queued);
    if (pending.startLossChecks()) {
      getContext().scheduleOnce(lossCheckInterval, getContext().getSelf(), LossCheck.INSTANCE);
    }
    return this;
  }

  /**
   * One WARN line for what the answers since the last one re-sent; nothing when nothing was
   * missing.
   */
  private void logMissing() {
    String report = pending.takeMissingReport();
    if (report == null) {
      return;
    }
    boolean afterLoss = missingAfterLoss;
    missingAfterLoss = false;
    if (afterLoss && leavingQueueNodes.isEmpty()) {
      getContext()
          .getLog()
          .info(
              "Flow {} re-sent {}, after queue node(s) {} were removed (the re-send at the removal"
                  + " can reach the queue before the lost node's shards have moved); {} task(s)"
                  + " pending now",
              flowId,
              report,
              String.join(", ", lostQueueNodes),
              pending.size());
    } else if (leavingQueueNodes.isEmpty()) {
      getContext()
          .getLog()
          .warn("Flow {} re-sent {}; {} task(s) pending now", flowId, report, pending.size());
    } else {
      getContext()
          .getLog()
          .info(
              "Flow {} re-sent {}, while queue node(s) {} leave (their entities move to another"
                  + " queue node); {} task(s) pending now",
              flowId,
              report,
              String.join(", ", leavingQueueNodes),
              pending.size());
    }
  }

  private Behavior<Command> onOutcome(WrappedOutcome wrapped) {
    TaskOutcome outcome = wrapped.outcome();
    if (!runId.equals(outcome.runId())) {
      staleResults++;
      countDropped(STALE_RUN);
      getContext()
          .getLog()
          .warn(
              "Flow {} dropped an outcome of task {} (type {}) from run {}; this run is {}",
              flowId,
              outcome.taskId(),
              outcome.taskType(),
              outcome.runId(),
              runId);
      return this;
    }
    long n = TaskIds.sequenceIn(outcome.taskId(), flowId);
    // kept only where overdue tasks are sent again (resend-after above zero, as in a cluster)
    if (outcome instanceof TaskOutcome.Rejected refused
        && refused.queueNodeLacksType()
        && !resendAfter.isZero()) {
      return keepRefusedByAnotherBuild(refused, n);
    }
    // durable: a task stays in the window while its result is stored; a second outcome then is a
    // duplicate too
    PendingTask task = n < 0 ? null : durable == null ? pending.remove(n) : pending.get(n);
    if (task == null || task.stage != PendingTask.QUEUED) {
      duplicates++;
      countDropped(DUPLICATE);
      getContext()
          .getLog()
          .debug("Flow {} dropped a duplicate outcome of task {}", flowId, outcome.taskId());
      return this;
    }
    if (durable != null && !(outcome instanceof TaskOutcome.Succeeded)) {
      pending.remove(n);
      durable.giveUp(
          task); // a failure is never handed on: the flows waiting on it run the task themselves
    }
    if (outcome instanceof TaskOutcome.Succeeded success) {
      if (durable == null) {
        accept(task, success);
      } else {
        store(task, success);
      }
    } else if (outcome instanceof TaskOutcome.Failed failure) {
      fail(
          "task "
              + failure.taskId()
              + " (type "
              + failure.taskType()
              + ") failed after "
              + failure.attempts()
              + " dispatch(es): " // a put-back is one more; the reason says the budgets spent
              + failure.reason());
    } else if (outcome instanceof TaskOutcome.Rejected rejection) {
      fail(
          "task "
              + rejection.taskId()
              + " (type "
              + rejection.taskType()
              + ") was refused by the queue: "
              + rejection.reason());
    }
    return afterHandling();
  }

  /** {@code prover.sequencer.resend-after}: zero when overdue tasks are never asked about. */
  private final java.time.Duration resendAfter;

  /**
   * Types a queue node refused for lacking them, said once each ({@link
   * #keepRefusedByAnotherBuild}).
   */
  private final java.util.Set<String> lackingTypesSaid = new java.util.HashSet<>();

  /**
   * A queue node whose catalog lacks the task's type refused it: a node of another plugin or build
   * (a trial's queue node restarted without {@code --plugin} failed the whole job at once). The
   * task stays queued as far as this flow is concerned, so its overdue check ({@code resend-after})
   * finds it missing and sends it again, until a queue node that knows the type takes it; one WARN
   * per type.
   */
  private Behavior<Command> keepRefusedByAnotherBuild(TaskOutcome.Rejected refused, long n) {
    PendingTask task = n < 0 ? null : pending.get(n);
    if (task == null || task.stage != PendingTask.QUEUED) {
      countDropped(DUPLICATE);
      return this;
    }
    if (lackingTypesSaid.add(refused.taskType())) {
      getContext()
          .getLog()
          .warn(
              "Flow {}: task {} (type {}) was refused by a queue node whose task catalog lacks the"
                  + " type: {}. This flow keeps its tasks of that type and sends them again every"
                  + " {} s (prover.sequencer.resend-after) until a queue node takes them",
              flowId,
              refused.taskId(),
              refused.taskType(),
              refused.reason(),
              resendAfter.toSeconds());
    }
    return this;
  }

  /**
   * Runs the callbacks that became due and sends what they pushed; the flow stops once it is done.
   */
  private Behavior<Command> afterHandling() {
    runSettled();
    flush();
    return done ? Behaviors.stopped() : this;
  }

  private void accept(PendingTask task, TaskOutcome.Succeeded success) {
    Object result = resultOf(task, success);
    if (result != NOT_DECODED && checkResult(task, success.taskId(), result)) {
      resultCounts.computed(task.type.name());
      runCallback(task, success.taskId(), result);
    }
  }

  /** What {@link #resultOf} returns after failing the flow on a result that does not decode. */
  private static final Object NOT_DECODED = new Object();

  /**
   * The task's result as a value: as it came in one JVM, decoded when it came from another node as
   * the bytes of a {@link SerializedPayload} (a flow's callbacks and its store see the typed value,
   * never bytes). On bytes that do not decode here, fails the flow saying why and returns {@link
   * #NOT_DECODED}.
   */
  private Object resultOf(PendingTask task, TaskOutcome.Succeeded success) {
    Object result = success.result();
    if (!(result instanceof SerializedPayload serialized)) {
      return result;
    }
    try {
      return PayloadCodec.get(getContext().getSystem()).decode(serialized);
    } catch (Exception e) { // Pekko's Scala API rethrows Jackson's checked exceptions undeclared
      fail(
          "the result of task "
              + success.taskId()
              + " (type "
              + task.type.name()
              + "), "
              + serialized
              + ", does not decode on the flow's node, likely because the nodes run different"
              + " builds of its result class: deploy the same build everywhere, and bump the task"
              + " type's version() when its result changes. The decoder said: "
              + e.getMessage());
      return NOT_DECODED;
    }
  }

  /**
   * True when {@code result} is of the task type's result type; otherwise fails the flow saying so.
   */
  private boolean checkResult(PendingTask task, String taskId, Object result) {
    Class<?> expected = task.type.resultType();
    if (result == null || !expected.isInstance(result)) {
      fail(
          "task "
              + taskId
              + " (type "
              + task.type.name()
              + ") returned "
              + (result == null ? "null" : result.getClass().getName())
              + " where "
              + expected.getName()
              + " was expected");
      return false;
    }
    return true;
  }

  private void runCallback(PendingTask task, String taskId, Object result) {
    try {
      task.onResult.accept(result);
    } catch (Throwable e) { // user code: see rethrowFatal
      rethrowFatal(e);
      fail(
          "flow logic threw on the result of task "
              + taskId
              + " (type "
              + task.type.name()
              + "): "
              + e);
    }
  }

  /**
   * Rethrows what no flow can recover from (the JVM is out of memory, a thread is being killed);
   * returns for the rest. A flow's logic is user code: besides runtime exceptions it may throw a
   * checked exception undeclared (Pekko's and Jackson's Scala-facing APIs do), an {@link
   * AssertionError}, a {@link LinkageError} of a plugin built against other classes, or a {@link
   * StackOverflowError}. Each of those fails this flow with the error as its reason. Escaping, it
   * would stop the flow's actor without an answer to its requester, its tasks left in the queue and
   * its claims on stored results never released.
   */
  private static void rethrowFatal(Throwable e) {
    if ((e instanceof VirtualMachineError && !(e instanceof StackOverflowError))
        || e instanceof ThreadDeath) {
      throw (Error) e;
    }
  }

  /**
   * Runs the callbacks of results that became due, in order; a callback may push tasks whose
   * results are due too.
   */
  private void runSettled() {
    while (!settled.isEmpty() && !done) {
      PendingTask task = settled.poll();
      if (pending.remove(task.sequence()) == task) {
        runCallback(task, task.envelope.taskId(), FlowDurability.result(task));
      }
    }
  }

  private void flush() {
    if (!outbox.isEmpty() && !done) {
      queue.tell(new QueueCommand.Enqueue(outbox, outcomes));
      outbox = new ArrayList<>();
    }
  }

  // ---- durable mode: FlowDurability decides, the flow sends and runs callbacks ----

  /**
   * A task's result is in: it goes to the store; its callback runs when the store confirms it
   * ({@link #onStored}).
   */
  private void store(PendingTask task, TaskOutcome.Succeeded success) {
    Object result = resultOf(task, success);
    if (result == NOT_DECODED || !checkResult(task, success.taskId(), result)) {
      return;
    }
    try {
      durable.store(task, result);
    } catch (RuntimeException e) {
      fail(
          "the result of task "
              + success.taskId()
              + " (type "
              + task.type.name()
              + ") cannot be serialised for "
              + "the result store: "
              + e);
    }
  }

  /**
   * The store confirmed these results: they count as computed (a job's progress and summary count
   * what a crash would keep, not what waits for a database that is down), their callbacks run, and
   * flows waiting on the same keys get them.
   */
  private Behavior<Command> onStored(WrappedStored wrapped) {
    durable.stored(
        wrapped.stored(),
        pending,
        task -> {
          resultCounts.computed(task.type.name());
          settled.add(task);
        });
    return afterHandling();
  }

  /** Another flow computed (or gave up) a key one of this flow's tasks waited on. */
  private Behavior<Command> onClaimSettled(ClaimSettled message) {
    PendingTask task = pending.get(message.sequence());
    if (task == null || task.stage != PendingTask.WAITING || done) {
      return this;
    }
    place(task, durable.claimSettled(task, message.result()));
    return afterHandling();
  }

  /**
   * A push in durable mode: found in the store, waiting on another flow, or claimed and sent to the
   * queue.
   */
  private void pushDurable(PendingTask task, Object input) {
    try {
      durable.key(task, input);
    } catch (RuntimeException e) {
      fail(
          "the input of task "
              + task.envelope.taskId()
              + " (type "
              + task.type.name()
              + ") cannot be serialised "
              + "for its content key: "
              + e);
      return;
    }
    place(task, durable.place(task));
  }

  private void place(PendingTask task, FlowDurability.Placement placement) {
    switch (placement) {
      case REUSED -> {
        reused++;
        reusedPerType.merge(task.type.name(), 1, Integer::sum);
        resultCounts.reused(task.type.name());
        settled.add(task);
      }
      case RUN -> {
        pending.sending(task); // also after a wait on another flow: due as a push now would be
        outbox.add(task.envelope);
      }
      case WAIT -> {} // ClaimSettled ends the wait
    }
  }

  // ---- FlowScope ----

  @Override
  public String flowId() {
    return flowId;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <I, O> void push(TaskType<I, O> type, I input, Consumer<? super O> onResult) {
    if (done) {
      return;
    }
    PendingTask task =
        durable == null
            ? new PendingTask(type, (Consumer<Object>) onResult)
            : new PendingTask.Keyed(type, (Consumer<Object>) onResult);
    long n = pending.add(task);
    sequence = n;
    task.envelope =
        new TaskEnvelope(TaskIds.of(flowId, n), flowId, runId, type.name(), 1, input, flowSeq);
    if (durable == null) {
      outbox.add(task.envelope);
    } else {
      pushDurable(task, input);
    }
  }

  @Override
  public void complete(R result) {
    end(null, () -> new FlowResult.Completed(flowId, result, stats()));
  }

  @Override
  public void fail(String reason) {
    end(reason, () -> new FlowResult.Failed(flowId, reason, stats()));
  }

  /**
   * Ends the flow once: the first of complete and fail counts; {@code failure} is null for a
   * completion.
   */
  private void end(String failure, Supplier<FlowResult> outcome) {
    if (done) {
      return;
    }
    done = true;
    logMissing();
    if (failure != null) {
      getContext().getLog().error("Flow {} failed: {}", flowId, failure);
    }
    withdrawPending();
    replyTo.tell(outcome.get());
  }

  private void withdrawPending() {
    if (!pending.isEmpty()) {
      queue.tell(new QueueCommand.CancelFlow(flowId));
    }
    outbox.clear();
    releaseClaims();
  }

  /** Gives up every claim this flow still holds: their results will not come from here. */
  private void releaseClaims() {
    if (durable != null) {
      durable.releaseClaims(pending);
    }
  }

  @Override
  public boolean isDone() {
    return done;
  }

  private FlowResult.FlowStats stats() {
    return new FlowResult.FlowStats(
        (int) sequence,
        duplicates,
        staleResults,
        pending.resent(),
        reused,
        Map.copyOf(reusedPerType));
  }
}
