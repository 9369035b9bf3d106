package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.MissingTasks;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskIds;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The registration loop: keeps {@code prover.sequencer.registration-offers} registration tasks
 * (each carrying the static parameters) on offer in the queue. When a worker completes one, the
 * flow sends itself {@link OfferNext} and offers a new one, forever. Only a worker that is still
 * Unprepared serves the registration type, so every new or restarted worker, and only such a
 * worker, picks one up; with several on offer, as many Unprepared workers register at the same time
 * instead of each waiting for the round trip of the one before. While no worker is waiting the
 * tasks just sit in the queue: the loop costs nothing.
 *
 * <p>What a reader must not miss: the tasks on offer live in one queue entity, and when that
 * entity's node goes away they go with it, and no worker would ever register again. So the loop
 * offers the same tasks again when told a queue node is gone ({@link
 * ProvingOrchestrator.QueueNodeLost}), and, as a last resort for a loss nobody reported, asks the
 * queue every {@code prover.sequencer.registration-check-interval} whether it still holds them and
 * offers again those it does not. The queue ignores an offer of a task id it holds.
 */
public final class WorkerRegistrationFlow {

  public interface Command extends CborSerializable {}

  /**
   * Sent to itself after each completed registration: offers new tasks until {@code
   * registration-offers} are on offer again.
   */
  public enum OfferNext implements Command {
    INSTANCE
  }

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /**
   * @param registrations how many registration tasks workers completed
   * @param onOffer true while at least one registration task is enqueued and not yet completed
   * @param tasksOnOffer how many are (0 to {@code registration-offers}; fewer only for {@code
   *     registration-retry} after a task failed for good)
   * @param registeredWorkers worker ids in registration order (a restarted worker appears again):
   *     the last {@value #LISTED} registrations, so that a loop running for months under worker
   *     churn keeps a bounded list, and a status message stays far below Artery's frame size
   */
  public record Status(
      int registrations, boolean onOffer, int tasksOnOffer, List<String> registeredWorkers)
      implements CborSerializable {}

  private record WrappedOutcome(TaskOutcome outcome) implements Command {}

  private record WrappedMissing(MissingTasks missing) implements Command {}

  /** The retry wait after a failed registration task is over. Sent only to self. */
  private enum RetryDue implements Command {
    INSTANCE
  }

  /** Time to ask the queue whether it still holds the tasks on offer. Sent only to self. */
  private enum CheckTick implements Command {
    INSTANCE
  }

  private enum TimerKey {
    RETRY,
    CHECK,
    LOSS_CHECK
  }

  public static final String FLOW_ID = "register-worker-flow";

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final ActorRef<QueueCommand> queue;
  private final ActorRef<TaskOutcome> outcomes;

  /**
   * The same ref as {@code outcomes} (one adapter per actor), so an entity's outcome and answer
   * keep their order.
   */
  private final ActorRef<MissingTasks> answers;

  private final String runId;
  private final Object parameters;

  /**
   * How long to wait before offering again after a registration task failed for good (a broken
   * worker).
   */
  private final Duration retryAfter;

  /** The registrations {@link Status#registeredWorkers} lists at most: the latest. */
  public static final int LISTED = 1000;

  private final ArrayDeque<String> registeredWorkers = new ArrayDeque<>();

  private int registrations;

  /**
   * "taskId worker" of the latest {@link #LISTED} registrations counted: a re-offered task id may
   * be completed by a second worker, minutes later at most.
   */
  private final Set<String> counted = new LinkedHashSet<>();

  /** How many tasks to keep on offer ({@code registration-offers}). */
  private final int offers;

  private long offered;

  /** The task ids on offer, in offer order. */
  private final Set<String> onOffer = new LinkedHashSet<>();

  /**
   * Queue nodes that leave and are not removed yet ({@link ProvingOrchestrator.QueueNodeLeaving}):
   * while there is one, a task found missing is what its hand-off did, said at INFO.
   */
  private final Set<String> leavingQueueNodes = new HashSet<>();

  /**
   * Queue nodes removed within {@code loss-check-window} ({@link
   * ProvingOrchestrator.QueueNodeLost}), and when the last one was: the offer made at a removal can
   * reach the lost node's region before sharding has moved its shards (a node that crashed), so the
   * loop asks about it {@code loss-check-interval} later, and a task then found missing is that
   * race, said at INFO.
   */
  private final Set<String> lostQueueNodes = new HashSet<>();

  private long lostAtNanos;
  private final Duration lossCheckInterval;
  private final Duration lossCheckWindow;
  private final boolean checks;

  /**
   * Offers held back until {@link RetryDue}: one per task that failed for good, so that a worker
   * that fails every registration does not loop hot.
   */
  private int heldBack;

  /**
   * Why the queue refused a registration task at its enqueue (its parameters cannot travel as a
   * task input), with what to do; null while none was refused. The same parameters would be refused
   * again, so the loop offers no more, and {@code /status} lists it as a problem ({@link
   * NodeProblems}) until the sequencer stops.
   */
  private volatile String refusal;

  /** What this loop registered with {@link NodeProblems}: {@link #refusal}. */
  private final java.util.function.Supplier<String> problem = () -> refusal;

  /** Its name among the parts whose problems {@code /status} shows. */
  static final String PROBLEM_PART = "worker-registration";

  /**
   * The loop with the node's {@code prover.sequencer} settings ({@code
   * registration-check-interval}, {@code registration-retry}, {@code registration-offers}).
   *
   * @param parameters what every worker receives (the verification keys); a record implementing
   *     CborSerializable
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, String runId, Object parameters) {
    return Behaviors.setup(
        context ->
            create(
                queue,
                runId,
                parameters,
                SequencerSettings.fromConfig(context.getSystem().settings().config())));
  }

  /**
   * @param checkEvery how often to ask the queue whether it still holds the tasks on offer; zero
   *     never asks
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, String runId, Object parameters, Duration checkEvery) {
    return Behaviors.setup(
        context -> {
          SequencerSettings settings =
              SequencerSettings.fromConfig(context.getSystem().settings().config());
          return start(queue, runId, parameters, checkEvery, settings);
        });
  }

  /**
   * @param settings {@code registration-check-interval}, {@code registration-retry}, {@code
   *     registration-offers}, and {@code loss-check-interval} and {@code loss-check-window} (after
   *     a queue node's removal)
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, String runId, Object parameters, SequencerSettings settings) {
    return start(queue, runId, parameters, settings.registrationCheckInterval(), settings);
  }

  private static Behavior<Command> start(
      ActorRef<QueueCommand> queue,
      String runId,
      Object parameters,
      Duration checkEvery,
      SequencerSettings settings) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  context.setLoggerName(
                      WorkerRegistrationFlow.class); // else a Pekko logger, kept at WARN
                  if (!checkEvery.isZero()) {
                    timers.startTimerWithFixedDelay(TimerKey.CHECK, CheckTick.INSTANCE, checkEvery);
                  }
                  return new WorkerRegistrationFlow(
                          context, timers, queue, runId, parameters, settings, !checkEvery.isZero())
                      .offering();
                }));
  }

  private WorkerRegistrationFlow(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      ActorRef<QueueCommand> queue,
      String runId,
      Object parameters,
      SequencerSettings settings,
      boolean checks) {
    this.context = context;
    this.retryAfter = settings.registrationRetry();
    this.offers = settings.registrationOffers();
    this.lossCheckInterval = settings.lossCheckInterval();
    this.lossCheckWindow = settings.lossCheckWindow();
    this.checks = checks;
    this.timers = timers;
    this.queue = queue;
    this.runId = runId;
    this.parameters = parameters;
    this.outcomes = context.messageAdapter(TaskOutcome.class, WrappedOutcome::new);
    this.answers = context.messageAdapter(MissingTasks.class, WrappedMissing::new);
    NodeProblems.get(context.getSystem()).register(PROBLEM_PART, problem);
    topUp();
  }

  private Behavior<Command> offering() {
    return Behaviors.receive(Command.class)
        .onMessage(WrappedOutcome.class, this::onOutcome)
        .onMessageEquals(OfferNext.INSTANCE, this::onOfferNext)
        .onMessageEquals(RetryDue.INSTANCE, this::onRetryDue)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessageEquals(CheckTick.INSTANCE, this::onCheckTick)
        .onMessage(WrappedMissing.class, this::onMissing)
        .onMessage(ProvingOrchestrator.QueueNodeLost.class, this::onQueueNodeLost)
        .onMessage(
            ProvingOrchestrator.QueueNodeLeaving.class,
            leaving -> {
              leavingQueueNodes.add(leaving.address());
              return Behaviors.same();
            })
        .onSignal(
            PostStop.class,
            stopped -> {
              NodeProblems.get(context.getSystem()).unregister(PROBLEM_PART, problem);
              return Behaviors.same();
            })
        .build();
  }

  /**
   * Offers new tasks until {@code offers} are on offer, less those held back for a retry; all in
   * one Enqueue.
   */
  private void topUp() {
    if (refusal != null) {
      return; // the same parameters would be refused again
    }
    List<String> fresh = new ArrayList<>();
    while (onOffer.size() + heldBack < offers) {
      String taskId = TaskIds.of(FLOW_ID, ++offered);
      onOffer.add(taskId);
      fresh.add(taskId);
    }
    sendOffer(fresh);
  }

  /** Sends these tasks (again: same ids, which the queue ignores while it holds them). */
  private void sendOffer(Collection<String> taskIds) {
    if (taskIds.isEmpty()) {
      return;
    }
    List<TaskEnvelope> tasks = new ArrayList<>(taskIds.size());
    for (String taskId : taskIds) {
      tasks.add(
          new TaskEnvelope(taskId, FLOW_ID, runId, WorkerRegistrationTask.NAME, 1, parameters));
    }
    queue.tell(new QueueCommand.Enqueue(tasks, outcomes));
  }

  private Behavior<Command> onOutcome(WrappedOutcome wrapped) {
    TaskOutcome outcome = wrapped.outcome();
    if (!runId.equals(outcome.runId())) {
      context
          .getLog()
          .debug(
              "Registration flow dropped outcome of task {} (run {})",
              outcome.taskId(),
              outcome.runId());
      return Behaviors.same();
    }
    if (!onOffer.remove(outcome.taskId())) {
      // an earlier task offered again (its entity's node left) and completed by a second worker: it
      // registered too
      if (outcome instanceof TaskOutcome.Succeeded success) {
        count(success);
      } else {
        context
            .getLog()
            .debug(
                "Registration flow dropped outcome of earlier task {}: {}",
                outcome.taskId(),
                outcome);
      }
      return Behaviors.same();
    }
    if (outcome instanceof TaskOutcome.Succeeded success) {
      count(success);
      context.getSelf().tell(OfferNext.INSTANCE);
    } else if (outcome instanceof TaskOutcome.Rejected rejected) {
      if (refusal == null) {
        refusal = refusalLine(rejected, parameters);
        context.getLog().error("{}", refusal);
      }
    } else {
      context
          .getLog()
          .warn(
              "Registration task {} ended without a registration: {}; offering again in {}",
              outcome.taskId(),
              outcome,
              retryAfter);
      heldBack++;
      timers.startSingleTimer(TimerKey.RETRY, RetryDue.INSTANCE, retryAfter);
    }
    return Behaviors.same();
  }

  /**
   * The line for a registration task the queue refused at its enqueue: its reason (the parameters
   * cannot travel as a task input, or are over the payload limit), that no worker can register and
   * so no regular task can run, and what to do. A trial's plugin gave a record that was not {@code
   * CborSerializable}: the loop offered it again every second, with two WARN lines each time, while
   * the job said to start a worker and {@code /status} said nothing was wrong.
   */
  static String refusalLine(TaskOutcome.Rejected rejected, Object parameters) {
    return "workers cannot register: the queue refused registration task "
        + rejected.taskId()
        + " of run "
        + rejected.runId()
        + ": "
        + rejected.reason()
        + ". Its parameters ("
        + (parameters == null ? "null" : parameters.getClass().getName())
        + ") are what the start-up plan made of the compiled circuits; no worker can register, so"
        + " no regular task can run. Make them a value that can cross nodes (a record implementing"
        + " dev.pekkoprover.protocol.CborSerializable, within prover.queue.cluster.max-payload-size)"
        + " and start the sequencer again";
  }

  /**
   * {@code prover_worker_registrations_total}; registered at zero when the sequencer starts ({@link
   * FlowTally}), so that Prometheus's {@code increase()} sees the first registration.
   */
  static Counter registrationsCounter(MeterRegistry registry) {
    return Counter.builder("prover.worker.registrations")
        .description(
            "Workers registered by the registration loop (a restarted worker registers again)")
        .register(registry);
  }

  private void count(TaskOutcome.Succeeded success) {
    String workerId = ((WorkerRegistrationTask.Registered) success.result()).workerId();
    if (!counted.add(success.taskId() + " " + workerId)) {
      context
          .getLog()
          .debug("Registration flow dropped a repeated outcome of task {}", success.taskId());
      return;
    }
    registrations++;
    registeredWorkers.addLast(workerId);
    if (registeredWorkers.size() > LISTED) {
      registeredWorkers.removeFirst();
      Iterator<String> oldest = counted.iterator();
      oldest.next();
      oldest.remove();
    }
    registrationsCounter(ProverMetrics.get(context.getSystem()).registry()).increment();
    context
        .getLog()
        .info(
            "Worker {} registered (task {}, {} registration(s) so far)",
            workerId,
            success.taskId(),
            registrations);
  }

  private Behavior<Command> onCheckTick() {
    if (!onOffer.isEmpty()) {
      queue.tell(
          new QueueCommand.CheckHeld(WorkerRegistrationTask.NAME, List.copyOf(onOffer), answers));
    }
    return Behaviors.same();
  }

  /**
   * The queue does not hold some tasks on offer: no worker could ever take them, so offer them
   * again (those completed meanwhile are no longer on offer).
   */
  private Behavior<Command> onMissing(WrappedMissing wrapped) {
    List<String> missing = new ArrayList<>();
    for (String taskId : wrapped.missing().taskIds()) {
      if (onOffer.contains(taskId)) {
        missing.add(taskId);
      }
    }
    if (!missing.isEmpty()) {
      String what =
          (missing.size() == 1 ? "task " : "tasks ")
              + String.join(", ", missing)
              + (missing.size() == 1 ? " was" : " were");
      if (leavingQueueNodes.isEmpty() && withinLossWindow()) {
        context
            .getLog()
            .info(
                "Registration {} no longer held by the queue after queue node(s) {} were removed"
                    + " (the offer made at the removal can reach the queue before the lost node's"
                    + " shards have moved): offered again",
                what,
                String.join(", ", lostQueueNodes));
      } else if (leavingQueueNodes.isEmpty()) {
        context.getLog().warn("Registration {} no longer held by the queue: offered again", what);
      } else {
        context
            .getLog()
            .info(
                "Registration {} no longer held by the queue while queue node(s) {} leave (their"
                    + " entities move to another queue node): offered again",
                what,
                String.join(", ", leavingQueueNodes));
      }
      sendOffer(missing);
    }
    return Behaviors.same();
  }

  private boolean withinLossWindow() {
    return !lostQueueNodes.isEmpty() && System.nanoTime() - lostAtNanos < lossCheckWindow.toNanos();
  }

  private Behavior<Command> onQueueNodeLost(ProvingOrchestrator.QueueNodeLost lost) {
    leavingQueueNodes.remove(lost.address());
    if (!withinLossWindow()) {
      lostQueueNodes.clear(); // those of an earlier window
    }
    lostQueueNodes.add(lost.address());
    lostAtNanos = System.nanoTime();
    if (checks && !onOffer.isEmpty()) {
      timers.startSingleTimer(TimerKey.LOSS_CHECK, CheckTick.INSTANCE, lossCheckInterval);
    }
    if (!onOffer.isEmpty()) {
      context
          .getLog()
          .info(
              "Registration flow: queue node {} left: re-offered {} {}",
              lost.address(),
              onOffer.size() == 1 ? "task" : "tasks",
              String.join(", ", onOffer));
      sendOffer(onOffer);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onOfferNext() {
    topUp();
    return Behaviors.same();
  }

  private Behavior<Command> onRetryDue() {
    heldBack = 0;
    topUp();
    return Behaviors.same();
  }

  private Behavior<Command> onGetStatus(GetStatus request) {
    request
        .replyTo()
        .tell(
            new Status(
                registrations, !onOffer.isEmpty(), onOffer.size(), List.copyOf(registeredWorkers)));
    return Behaviors.same();
  }
}
