package dev.pekkoprover.sequencer;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.FlowsView;
import dev.pekkoprover.protocol.MissingTasks;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.flow.FlowScope;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Counter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One flow: a unit of proving work run by a {@link FlowLogic}. It hands the logic a {@link FlowScope}, sends the
 * tasks the logic pushes to the queue (all tasks pushed while handling one message travel in one {@code Enqueue}),
 * runs each task's callback once with its first result, and ends with {@link FlowResult.Completed} or {@link
 * FlowResult.Failed}.
 *
 * <p>It accepts the first result per task id and drops duplicates (the queue delivers at least once) and results
 * stamped with another run id (a task of an earlier sequencer run), counting both. A task that fails for good, or
 * that the queue refuses, fails the flow with an error naming task, type, attempts and reason.
 *
 * <p>What a reader must not miss: a task is sent again only when it was lost, never because it waits long. When its
 * outcome is overdue ({@code resend-after}, then backing off) the flow asks the queue whether it still holds it
 * ({@link QueueCommand.CheckHeld}) and re-sends only what comes back in {@link MissingTasks}; when a queue node is
 * gone ({@link ProvingOrchestrator.QueueNodeLost}) it re-sends every pending task at once. Both re-sends are plain Enqueues of
 * the same task ids, which the queue ignores for tasks it holds.
 *
 * <p>With durability on ({@link Durable}) every push gets a content key (task type + SHA-256 of the serialised
 * input, {@link ContentKeys}). A key the result store holds completes from the store without running; a key another
 * flow is computing waits for that flow's result ({@link ResultIndex} claims); anything else runs. A result is
 * handed to its callback only after the store confirmed it written; failed and cancelled tasks are never stored.
 * Callbacks of results found at push time run after the callback that pushed them returns, never inside it.
 */
public final class FlowRunner<R> extends AbstractBehavior<FlowRunner.Command> implements FlowScope<R> {

  /** The flow's messages: the queue's outcomes and answers, wrapped, and {@link ProvingOrchestrator.QueueNodeLost}. */
  public interface Command {}

  private record WrappedOutcome(TaskOutcome outcome) implements Command {}

  /** Asks for the flow's progress (tasks pushed and answered so far), for the status API. */
  public record GetProgress(ActorRef<FlowsView.FlowProgress> replyTo) implements Command, CborSerializable {}

  private record WrappedMissing(MissingTasks missing) implements Command {}

  private record WrappedStored(ResultWriter.Stored stored) implements Command {}

  /**
   * From the flow that computed a content key other flows waited for: the stored result, or null when that flow gave
   * it up (its task failed, or the flow ended without it), in which case the waiting task runs itself.
   *
   * @param sequence the waiting task's number in the receiving flow
   */
  public record ClaimSettled(
      long sequence,
      @JsonSerialize(using = AnyValue.Serializer.class) @JsonDeserialize(using = AnyValue.Deserializer.class)
          Object result)
      implements Command, CborSerializable {}

  /**
   * What a flow needs when durability is on: the read view of the result store (and its claims), the store's
   * group-commit front, and the digest of the registration parameters the workers prepare with, which is part of
   * every content key (a task's result depends on its input and on those).
   */
  public record Durable(ResultIndex index, ActorRef<ResultWriter.Command> writer, String parametersDigest) {}

  /** Time to ask the queue about tasks whose outcome is overdue; also its timer key. Sent only to self. */
  private enum CheckTick implements Command {
    INSTANCE
  }

  /**
   * A check after a queue node was lost, scheduled once each (the timer's key stays CheckTick's). Sent only to self,
   * never across nodes: no serialization.
   */
  private enum LossCheck implements Command, org.apache.pekko.actor.NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Where a pending task is. Without durability a task is only ever QUEUED. */
  private static final byte QUEUED = 0;
  /** Another flow computes the same content key; its ClaimSettled ends the wait. */
  private static final byte WAITING = 1;
  /** Its result is in and sent to the store; the callback waits for the store's confirmation. */
  private static final byte STORING = 2;
  /** Its result is known and stored; its callback runs once the current message is handled. */
  private static final byte SETTLED = 3;

  /** A task whose outcome the flow still waits for. */
  private static final class Pending {
    final TaskType<?, ?> type;
    final Consumer<Object> onResult;
    long sequence;
    /** Durable mode: the content key; null otherwise. */
    String key;
    /** Durable mode: the claim this task holds on its key (it computes it for every flow that pushes the same). */
    ResultIndex.Claim claim;
    byte stage = QUEUED;
    /** The result, once in (STORING, SETTLED). */
    Object result;
    /** Set right after the window numbered it: the id carries that number. */
    TaskEnvelope envelope;
    /** When to ask the queue about this task next (System.nanoTime). */
    long checkAt;
    /** Checks since it was last sent: sets the backoff. */
    int checks;
    /** Asked about and not re-sent since: a MissingTasks naming it re-sends it (once, however many answers). */
    boolean asked;

    Pending(TaskType<?, ?> type, Consumer<Object> onResult, long checkAt) {
      this.type = type;
      this.onResult = onResult;
      this.checkAt = checkAt;
    }
  }

  /**
   * Checks back off: after resend-after, then 2x, 4x and at most 8x that since the last one, so that a task that
   * only waits in a long queue is asked about rarely.
   */
  private static final int MAX_CHECK_SHIFT = 3;

  /** Ids per CheckHeld: about 20 KB, far below a frame, and one entity's answer stays small too. */
  static final int MAX_IDS_PER_CHECK = 1000;

  /**
   * Ids asked about per tick: bounds the burst a flow with a million overdue tasks sends (100 messages); the rest
   * stay due and are asked about at the next ticks.
   */
  static final int MAX_IDS_PER_TICK = 100_000;
  /** How often and how long queued tasks are asked about after a queue node was lost (see lossChecksUntil). */
  static final Duration LOSS_CHECK_EVERY = Duration.ofSeconds(1);
  static final Duration LOSS_CHECK_WINDOW = Duration.ofSeconds(15);

  /** Re-sent ids the WARN line names; the count says the rest. */
  private static final int IDS_IN_LOG = 10;

  private final String flowId;
  private final String runId;
  private final ActorRef<QueueCommand> queue;
  private final ActorRef<FlowResult> replyTo;
  private final ActorRef<TaskOutcome> outcomes;
  /** The same ref as {@code outcomes} (one adapter per actor): an outcome and an answer from one entity keep order. */
  private final ActorRef<MissingTasks> answers;
  /** Tasks pushed and not answered yet, by the sequence number in their id ({@code flowId:n}). */
  private final SequenceWindow<Pending> pending = new SequenceWindow<>();
  private List<TaskEnvelope> outbox = new ArrayList<>();
  private final long resendAfterNanos;
  private long sequence;
  /**
   * Until this nanoTime (after a queue node was lost) every queued task is asked about each {@link #LOSS_CHECK_EVERY}
   * instead of with the backoff of {@code resend-after}: the re-send made at the loss can race with sharding's own
   * clean-up of the dead node's region and be lost, and so can a question asked too soon.
   */
  private long lossChecksUntil = System.nanoTime(); // passed: no loss yet
  private int duplicates;
  private int staleResults;
  private int resent;
  /** Re-sent because the queue no longer held them, not logged yet: one WARN line per tick. */
  private int missingUnlogged;
  private final List<String> missingIdsToLog = new ArrayList<>();
  private boolean done;
  private final long startedAt = System.nanoTime();
  /** Null when durability is off: then nothing below is used. */
  private final Durable durable;
  private final ContentKeys keys;
  private final ActorRef<ResultWriter.Stored> storedAdapter;
  /** Results known and stored whose callbacks are due, in the order they became due. */
  private final ArrayDeque<Pending> settled = new ArrayDeque<>();
  /** Tasks completed without running: found in the store, or computed by another flow's identical task. */
  private int reused;

  /** A flow that never re-sends: for a queue in this JVM, which cannot lose a message. */
  public static <R> Behavior<Command> create(
      String flowId, String runId, ActorRef<QueueCommand> queue, FlowLogic<R> logic, ActorRef<FlowResult> replyTo) {
    return create(flowId, runId, queue, logic, replyTo, Duration.ZERO);
  }

  /**
   * @param resendAfter when a task's outcome has not come back this long after it was sent, ask the queue whether
   *     it still holds the task and send it again if not (a message or a queue entity's state was lost between
   *     nodes); zero never asks
   */
  public static <R> Behavior<Command> create(
      String flowId,
      String runId,
      ActorRef<QueueCommand> queue,
      FlowLogic<R> logic,
      ActorRef<FlowResult> replyTo,
      Duration resendAfter) {
    return create(flowId, runId, queue, logic, replyTo, resendAfter, null);
  }

  /**
   * @param durable the result store's read view and writer, or null to run without durability (nothing is stored,
   *     nothing reused)
   */
  public static <R> Behavior<Command> create(
      String flowId,
      String runId,
      ActorRef<QueueCommand> queue,
      FlowLogic<R> logic,
      ActorRef<FlowResult> replyTo,
      Duration resendAfter,
      Durable durable) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  context.setLoggerName(FlowRunner.class); // else a Pekko logger, which a node's logback keeps at WARN
                  if (!resendAfter.isZero()) {
                    Duration every = resendAfter.dividedBy(4);
                    timers.startTimerWithFixedDelay(
                        CheckTick.INSTANCE, every.compareTo(MIN_TICK) < 0 ? MIN_TICK : every);
                  }
                  FlowRunner<R> flow = new FlowRunner<>(context, flowId, runId, queue, replyTo, resendAfter, durable);
                  flow.begin(logic);
                  return flow.done ? Behaviors.stopped() : flow;
                }));
  }

  private static final Duration MIN_TICK = Duration.ofMillis(50);

  private FlowRunner(
      ActorContext<Command> context,
      String flowId,
      String runId,
      ActorRef<QueueCommand> queue,
      ActorRef<FlowResult> replyTo,
      Duration resendAfter,
      Durable durable) {
    super(context);
    this.flowId = flowId;
    this.runId = runId;
    this.queue = queue;
    this.replyTo = replyTo;
    this.resendAfterNanos = resendAfter.toNanos();
    this.outcomes = context.messageAdapter(TaskOutcome.class, WrappedOutcome::new);
    this.answers = context.messageAdapter(MissingTasks.class, WrappedMissing::new);
    this.durable = durable;
    this.keys = durable == null ? null : new ContentKeys(context.getSystem());
    this.storedAdapter =
        durable == null ? null : context.messageAdapter(ResultWriter.Stored.class, WrappedStored::new);
  }

  private void begin(FlowLogic<R> logic) {
    try {
      logic.start(this);
    } catch (RuntimeException e) {
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
        .onMessageEquals(CheckTick.INSTANCE, this::onCheckTick)
        .onMessageEquals(LossCheck.INSTANCE, this::onCheckTick)
        .onMessage(ProvingOrchestrator.QueueNodeLost.class, this::onQueueNodeLost)
        .onMessage(GetProgress.class, this::onGetProgress)
        .onMessage(WrappedStored.class, this::onStored)
        .onMessage(ClaimSettled.class, this::onClaimSettled)
        .onSignal(PostStop.class, signal -> {
          releaseClaims(); // stopped from outside: the flows waiting on this one run their tasks themselves
          return this;
        })
        .build();
  }

  private Behavior<Command> onGetProgress(GetProgress request) {
    request.replyTo().tell(new FlowsView.FlowProgress(flowId, sequence, sequence - pending.size(),
        (System.nanoTime() - startedAt) / 1_000_000));
    return this;
  }

  /** A result dropped (a duplicate, or of another run): rare, so the counter is looked up each time. */
  private void countDropped(String reason) {
    Counter.builder("prover.flow.results.dropped")
        .description("Task outcomes a flow dropped: a duplicate of an accepted result, or from another run")
        .tag("reason", reason)
        .register(ProverMetrics.get(getContext().getSystem()).registry())
        .increment();
  }

  /** Logs what the last round's answers re-sent, then asks the queue about every task now overdue. */
  private Behavior<Command> onCheckTick() {
    logMissing();
    long now = System.nanoTime();
    boolean afterLoss = now - lossChecksUntil < 0;
    if (afterLoss) {
      getContext().scheduleOnce(LOSS_CHECK_EVERY, getContext().getSelf(), LossCheck.INSTANCE);
    }
    Map<String, List<String>> overdueByType = new LinkedHashMap<>();
    int[] asked = {0};
    pending.forEach(task -> {
      if (task.stage == QUEUED && task.checkAt - now <= 0 && asked[0] < MAX_IDS_PER_TICK) {
        asked[0]++;
        if (afterLoss) {
          task.checkAt = now + LOSS_CHECK_EVERY.toNanos() - 1;
        } else {
          task.checks++;
          task.checkAt = now + (resendAfterNanos << Math.min(task.checks, MAX_CHECK_SHIFT));
        }
        task.asked = true;
        overdueByType.computeIfAbsent(task.type.name(), type -> new ArrayList<>()).add(task.envelope.taskId());
      }
    });
    overdueByType.forEach((type, ids) -> {
      for (int from = 0; from < ids.size(); from += MAX_IDS_PER_CHECK) {
        queue.tell(new QueueCommand.CheckHeld(
            type, List.copyOf(ids.subList(from, Math.min(ids.size(), from + MAX_IDS_PER_CHECK))), answers));
      }
    });
    if (asked[0] > 0) {
      getContext().getLog().debug("Flow {} asks the queue whether it still holds {} task(s) whose outcome is "
          + "overdue; {} task(s) pending", flowId, asked[0], pending.size());
    }
    return this;
  }

  /** Re-sends the tasks the queue says it does not hold, that are still pending and were asked about. */
  private Behavior<Command> onMissing(WrappedMissing wrapped) {
    long now = System.nanoTime();
    int count = 0;
    for (String taskId : wrapped.missing().taskIds()) {
      long n = sequenceOf(taskId);
      Pending task = n < 0 ? null : pending.get(n);
      if (task != null && task.asked && task.stage == QUEUED) {
        resend(task, now);
        if (now - lossChecksUntil < 0) {
          task.checkAt = now + LOSS_CHECK_EVERY.toNanos() - 1; // asked again soon: this re-send may be lost too
        }
        count++;
        if (missingIdsToLog.size() < IDS_IN_LOG) {
          missingIdsToLog.add(taskId);
        }
      }
    }
    if (count > 0) {
      resent += count;
      missingUnlogged += count;
      flush();
    }
    return this;
  }

  /**
   * A queue node is gone, and the entities it hosted start again empty elsewhere: sends every pending task again at
   * once, since the flow cannot tell which entity held which. The tasks are then asked about every second for a
   * while ({@link #LOSS_CHECK_WINDOW}): a re-send that raced with the shard's move (a node that crashed rather than
   * handed its shards off) may be lost, and is sent again when the queue says it does not hold it.
   */
  private Behavior<Command> onQueueNodeLost(ProvingOrchestrator.QueueNodeLost lost) {
    if (pending.isEmpty()) {
      getContext().getLog().debug("Flow {}: queue node {} left; no task pending", flowId, lost.address());
      return this;
    }
    long now = System.nanoTime();
    int[] count = {0};
    pending.forEach(task -> {
      if (task.stage == QUEUED) { // the others are not in the queue: waiting on another flow, or already done
        resend(task, now);
        task.checkAt = resendAfterNanos == 0 ? Long.MAX_VALUE : now;
        count[0]++;
      }
    });
    resent += count[0];
    getContext().getLog().info("Flow {}: queue node {} left: re-sent {} pending task(s)", flowId, lost.address(),
        count[0]);
    flush();
    if (resendAfterNanos != 0) {
      boolean ticking = now - lossChecksUntil < 0;
      lossChecksUntil = now + LOSS_CHECK_WINDOW.toNanos();
      if (!ticking) {
        getContext().scheduleOnce(LOSS_CHECK_EVERY, getContext().getSelf(), LossCheck.INSTANCE);
      }
    }
    return this;
  }

  /** Puts the task in the outbox; it is checked again after resend-after, like a task sent for the first time. */
  private void resend(Pending task, long now) {
    outbox.add(task.envelope);
    task.asked = false;
    task.checks = 0;
    task.checkAt = resendAfterNanos == 0 ? Long.MAX_VALUE : now + resendAfterNanos;
  }

  /** One WARN line for what the answers since the last one re-sent; nothing when nothing was missing. */
  private void logMissing() {
    if (missingUnlogged > 0) {
      getContext().getLog().warn("Flow {} re-sent {} task(s) the queue no longer held: {}{}; {} task(s) pending",
          flowId, missingUnlogged, String.join(", ", missingIdsToLog),
          missingUnlogged > missingIdsToLog.size() ? ", ..." : "", pending.size());
      missingUnlogged = 0;
      missingIdsToLog.clear();
    }
  }

  private Behavior<Command> onOutcome(WrappedOutcome wrapped) {
    TaskOutcome outcome = wrapped.outcome();
    if (!runId.equals(outcome.runId())) {
      staleResults++;
      countDropped("stale_run");
      getContext().getLog().warn(
          "Flow {} dropped an outcome of task {} (type {}) from run {}; this run is {}",
          flowId, outcome.taskId(), outcome.taskType(), outcome.runId(), runId);
      return this;
    }
    long n = sequenceOf(outcome.taskId());
    // durable: a task stays in the window while its result is stored; a second outcome then is a duplicate too
    Pending task = n < 0 ? null : durable == null ? pending.remove(n) : pending.get(n);
    if (task == null || task.stage != QUEUED) {
      duplicates++;
      countDropped("duplicate");
      getContext().getLog().debug("Flow {} dropped a duplicate outcome of task {}", flowId, outcome.taskId());
      return this;
    }
    if (durable != null && !(outcome instanceof TaskOutcome.Succeeded)) {
      pending.remove(n);
      if (task.claim != null) {
        settleClaim(task, null); // a failure is never handed on: the flows waiting on it run the task themselves
      }
    }
    if (outcome instanceof TaskOutcome.Succeeded success) {
      if (durable == null) {
        accept(task, success);
      } else {
        store(task, success);
      }
    } else if (outcome instanceof TaskOutcome.Failed failure) {
      fail("task " + failure.taskId() + " (type " + failure.taskType() + ") failed after " + failure.attempts()
          + " attempt(s): " + failure.reason());
    } else if (outcome instanceof TaskOutcome.Rejected rejection) {
      fail("task " + rejection.taskId() + " (type " + rejection.taskType() + ") was refused by the queue: "
          + rejection.reason());
    }
    runSettled();
    flush();
    return done ? Behaviors.stopped() : this;
  }

  /** The n of a task id {@code flowId:n} of this flow; -1 for any other id. */
  private long sequenceOf(String taskId) {
    int prefix = flowId.length();
    if (taskId.length() <= prefix + 1 || taskId.charAt(prefix) != ':' || !taskId.startsWith(flowId)) {
      return -1;
    }
    long n = 0;
    for (int i = prefix + 1; i < taskId.length(); i++) {
      char c = taskId.charAt(i);
      if (c < '0' || c > '9' || n > (Long.MAX_VALUE - 9) / 10) {
        return -1;
      }
      n = n * 10 + (c - '0');
    }
    return n;
  }

  private void accept(Pending task, TaskOutcome.Succeeded success) {
    Object result = success.result();
    if (checkResult(task, success.taskId(), result)) {
      runCallback(task, success.taskId(), result);
    }
  }

  /** True when {@code result} is of the task type's result type; otherwise fails the flow saying so. */
  private boolean checkResult(Pending task, String taskId, Object result) {
    Class<?> expected = task.type.resultType();
    if (result == null || !expected.isInstance(result)) {
      fail("task " + taskId + " (type " + task.type.name() + ") returned "
          + (result == null ? "null" : result.getClass().getName()) + " where " + expected.getName()
          + " was expected");
      return false;
    }
    return true;
  }

  private void runCallback(Pending task, String taskId, Object result) {
    try {
      task.onResult.accept(result);
    } catch (RuntimeException e) {
      fail("flow logic threw on the result of task " + taskId + " (type " + task.type.name() + "): " + e);
    }
  }

  // ---- durable mode ----

  /** A task's result is in: it goes to the store; its callback runs when the store confirms it ({@link #onStored}). */
  private void store(Pending task, TaskOutcome.Succeeded success) {
    Object result = success.result();
    if (!checkResult(task, success.taskId(), result)) {
      return;
    }
    StoredResult stored;
    try {
      stored = keys.toStored(task.key, task.type.name(), result);
    } catch (RuntimeException e) {
      fail("the result of task " + success.taskId() + " (type " + task.type.name() + ") cannot be serialised for "
          + "the result store: " + e);
      return;
    }
    task.stage = STORING;
    task.result = result;
    durable.writer().tell(new ResultWriter.Put(stored, storedAdapter, task.sequence));
  }

  /** The store confirmed these results: their callbacks run, and flows waiting on the same keys get them. */
  private Behavior<Command> onStored(WrappedStored wrapped) {
    for (Long n : wrapped.stored().tokens()) {
      Pending task = pending.get(n);
      if (task == null || task.stage != STORING) {
        continue;
      }
      task.stage = SETTLED;
      settled.add(task);
      if (task.claim != null) {
        settleClaim(task, task.result);
      }
    }
    runSettled();
    flush();
    return done ? Behaviors.stopped() : this;
  }

  /** Another flow computed (or gave up) a key one of this flow's tasks waited on. */
  private Behavior<Command> onClaimSettled(ClaimSettled message) {
    Pending task = pending.get(message.sequence());
    if (task == null || task.stage != WAITING || done) {
      return this;
    }
    Object result = message.result();
    if (result != null && task.type.resultType().isInstance(result)) {
      reused++;
      task.result = result;
      task.stage = SETTLED;
      settled.add(task);
    } else {
      claimOrFind(task); // the other flow gave it up: this one runs it (or waits on a third)
    }
    runSettled();
    flush();
    return done ? Behaviors.stopped() : this;
  }

  /** A push in durable mode: found in the store, waiting on another flow, or claimed and sent to the queue. */
  private void pushDurable(Pending task, Object input) {
    try {
      task.key = keys.keyOf(task.type, input, durable.parametersDigest());
    } catch (RuntimeException e) {
      fail("the input of task " + task.envelope.taskId() + " (type " + task.type.name() + ") cannot be serialised "
          + "for its content key: " + e);
      return;
    }
    claimOrFind(task);
  }

  private void claimOrFind(Pending task) {
    ResultIndex index = durable.index();
    StoredResult stored = index.lookup(task.key);
    ResultIndex.ClaimOutcome outcome =
        stored != null ? new ResultIndex.Found(stored) : index.claim(task.key, getContext().getSelf(), task.sequence);
    if (outcome instanceof ResultIndex.Found found) {
      Object value = load(task, found.result());
      if (value != null) {
        reused++;
        task.result = value;
        task.stage = SETTLED;
        settled.add(task);
        return;
      }
      task.stage = QUEUED; // stored but unreadable now: compute it again
      outbox.add(task.envelope);
    } else if (outcome instanceof ResultIndex.Owned owned) {
      task.claim = owned.claim();
      task.stage = QUEUED;
      outbox.add(task.envelope);
    } else {
      task.stage = WAITING;
    }
  }

  /** A stored value, or null (with a WARN) when it no longer reads as the task's result type. */
  private Object load(Pending task, StoredResult stored) {
    try {
      Object value = keys.fromStored(stored);
      if (task.type.resultType().isInstance(value)) {
        return value;
      }
      getContext().getLog().warn("Flow {}: the stored result under {} is a {}, not a {}: computing it again",
          flowId, stored.key(), value == null ? "null" : value.getClass().getName(), task.type.resultType().getName());
    } catch (RuntimeException e) {
      getContext().getLog().warn("Flow {}: the stored result under {} does not deserialise ({}): computing it again",
          flowId, stored.key(), e.toString());
    }
    return null;
  }

  /** Runs the callbacks of results that became due, in order; a callback may push tasks whose results are due too. */
  private void runSettled() {
    while (!settled.isEmpty() && !done) {
      Pending task = settled.poll();
      if (pending.remove(task.sequence) == task) {
        runCallback(task, task.envelope.taskId(), task.result);
      }
    }
  }

  /** Ends this task's claim: the flows waiting on its key get {@code result}, or run their own task when null. */
  private void settleClaim(Pending task, Object result) {
    for (ResultIndex.Waiter waiter : durable.index().settle(task.key, task.claim)) {
      waiter.flow().tell(new ClaimSettled(waiter.sequence(), result));
    }
    task.claim = null;
  }

  /** Gives up every claim this flow still holds: their results will not come from here. */
  private void releaseClaims() {
    if (durable != null) {
      pending.forEach(task -> {
        if (task.claim != null) {
          settleClaim(task, null);
        }
      });
    }
  }

  private void flush() {
    if (!outbox.isEmpty() && !done) {
      queue.tell(new QueueCommand.Enqueue(outbox, outcomes));
      outbox = new ArrayList<>();
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
    long checkAt = resendAfterNanos == 0 ? Long.MAX_VALUE : System.nanoTime() + resendAfterNanos;
    Pending task = new Pending(type, (Consumer<Object>) onResult, checkAt);
    long n = pending.add(task);
    sequence = n;
    task.sequence = n;
    task.envelope = new TaskEnvelope(flowId + ":" + n, flowId, runId, type.name(), 1, input);
    if (durable == null) {
      outbox.add(task.envelope);
    } else {
      pushDurable(task, input);
    }
  }

  @Override
  public void complete(R result) {
    if (done) {
      return;
    }
    done = true;
    logMissing();
    withdrawPending();
    replyTo.tell(new FlowResult.Completed(flowId, result, stats()));
  }

  @Override
  public void fail(String reason) {
    if (done) {
      return;
    }
    done = true;
    logMissing();
    getContext().getLog().error("Flow {} failed: {}", flowId, reason);
    withdrawPending();
    replyTo.tell(new FlowResult.Failed(flowId, reason, stats()));
  }

  private void withdrawPending() {
    if (!pending.isEmpty()) {
      queue.tell(new QueueCommand.CancelFlow(flowId));
    }
    outbox.clear();
    releaseClaims();
  }

  @Override
  public boolean isDone() {
    return done;
  }

  private FlowResult.FlowStats stats() {
    return new FlowResult.FlowStats((int) sequence, duplicates, staleResults, resent, reused);
  }
}
