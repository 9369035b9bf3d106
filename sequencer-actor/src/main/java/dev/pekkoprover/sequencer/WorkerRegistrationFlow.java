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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The registration loop: keeps exactly one registration task (carrying the static parameters) on
 * offer in the queue. When a worker completes it, the flow sends itself {@link OfferNext} and
 * offers a new one, forever. Only a worker that is still Unprepared serves the registration type,
 * so every new or restarted worker, and only such a worker, picks one up. While no worker is
 * waiting the task just sits in the queue: the loop costs nothing.
 *
 * <p>What a reader must not miss: the task on offer lives in one queue entity, and when that
 * entity's node goes away the task goes with it, and no worker would ever register again. So the
 * loop offers the same task again when told a queue node is gone ({@link
 * ProvingOrchestrator.QueueNodeLost}), and, as a last resort for a loss nobody reported, asks the
 * queue every {@code prover.sequencer.registration-check-interval} whether it still holds the task
 * and offers it again when not. The queue ignores an offer of a task id it holds.
 */
public final class WorkerRegistrationFlow {

  public interface Command extends CborSerializable {}

  /** Sent to itself after each completed registration. */
  public enum OfferNext implements Command {
    INSTANCE
  }

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /**
   * @param registrations how many registration tasks workers completed
   * @param onOffer true while a registration task is enqueued and not yet completed
   * @param registeredWorkers worker ids in registration order (a restarted worker appears again)
   */
  public record Status(int registrations, boolean onOffer, List<String> registeredWorkers)
      implements CborSerializable {}

  private record WrappedOutcome(TaskOutcome outcome) implements Command {}

  private record WrappedMissing(MissingTasks missing) implements Command {}

  /** Time to ask the queue whether it still holds the task on offer. Sent only to self. */
  private enum CheckTick implements Command {
    INSTANCE
  }

  private enum TimerKey {
    RETRY,
    CHECK
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

  private final List<String> registeredWorkers = new ArrayList<>();

  /**
   * "taskId worker" of every registration counted: a re-offered task id may be completed by a
   * second worker.
   */
  private final Set<String> counted = new HashSet<>();

  private long offered;
  private String taskOnOffer;

  /**
   * The loop with the node's {@code prover.sequencer} settings ({@code
   * registration-check-interval}, {@code registration-retry}).
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
   * @param checkEvery how often to ask the queue whether it still holds the task on offer; zero
   *     never asks
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, String runId, Object parameters, Duration checkEvery) {
    return Behaviors.setup(
        context ->
            start(
                queue,
                runId,
                parameters,
                checkEvery,
                SequencerSettings.fromConfig(context.getSystem().settings().config())
                    .registrationRetry()));
  }

  /**
   * @param settings {@code registration-check-interval} and {@code registration-retry}
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, String runId, Object parameters, SequencerSettings settings) {
    return start(
        queue,
        runId,
        parameters,
        settings.registrationCheckInterval(),
        settings.registrationRetry());
  }

  private static Behavior<Command> start(
      ActorRef<QueueCommand> queue,
      String runId,
      Object parameters,
      Duration checkEvery,
      Duration retryAfter) {
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
                          context, timers, queue, runId, parameters, retryAfter)
                      .offering();
                }));
  }

  private WorkerRegistrationFlow(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      ActorRef<QueueCommand> queue,
      String runId,
      Object parameters,
      Duration retryAfter) {
    this.context = context;
    this.retryAfter = retryAfter;
    this.timers = timers;
    this.queue = queue;
    this.runId = runId;
    this.parameters = parameters;
    this.outcomes = context.messageAdapter(TaskOutcome.class, WrappedOutcome::new);
    this.answers = context.messageAdapter(MissingTasks.class, WrappedMissing::new);
    offer();
  }

  private Behavior<Command> offering() {
    return Behaviors.receive(Command.class)
        .onMessage(WrappedOutcome.class, this::onOutcome)
        .onMessageEquals(OfferNext.INSTANCE, this::onOfferNext)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessageEquals(CheckTick.INSTANCE, this::onCheckTick)
        .onMessage(WrappedMissing.class, this::onMissing)
        .onMessage(ProvingOrchestrator.QueueNodeLost.class, this::onQueueNodeLost)
        .build();
  }

  private void offer() {
    taskOnOffer = TaskIds.of(FLOW_ID, ++offered);
    sendOffer();
  }

  /** Sends the task on offer (again: same id, which the queue ignores while it holds it). */
  private void sendOffer() {
    queue.tell(
        new QueueCommand.Enqueue(
            List.of(
                new TaskEnvelope(
                    taskOnOffer, FLOW_ID, runId, WorkerRegistrationTask.NAME, 1, parameters)),
            outcomes));
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
    if (!outcome.taskId().equals(taskOnOffer)) {
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
    taskOnOffer = null;
    if (outcome instanceof TaskOutcome.Succeeded success) {
      count(success);
      context.getSelf().tell(OfferNext.INSTANCE);
    } else {
      context
          .getLog()
          .warn(
              "Registration task {} ended without a registration: {}; offering again",
              outcome.taskId(),
              outcome);
      timers.startSingleTimer(TimerKey.RETRY, OfferNext.INSTANCE, retryAfter);
    }
    return Behaviors.same();
  }

  private void count(TaskOutcome.Succeeded success) {
    String workerId = ((WorkerRegistrationTask.Registered) success.result()).workerId();
    if (!counted.add(success.taskId() + " " + workerId)) {
      context
          .getLog()
          .debug("Registration flow dropped a repeated outcome of task {}", success.taskId());
      return;
    }
    registeredWorkers.add(workerId);
    Counter.builder("prover.worker.registrations")
        .description(
            "Workers registered by the registration loop (a restarted worker registers again)")
        .register(ProverMetrics.get(context.getSystem()).registry())
        .increment();
    context
        .getLog()
        .info(
            "Worker {} registered (task {}, {} registration(s) so far)",
            workerId,
            success.taskId(),
            registeredWorkers.size());
  }

  private Behavior<Command> onCheckTick() {
    if (taskOnOffer != null) {
      queue.tell(
          new QueueCommand.CheckHeld(WorkerRegistrationTask.NAME, List.of(taskOnOffer), answers));
    }
    return Behaviors.same();
  }

  /** The queue does not hold the task on offer: no worker could ever take it, so offer it again. */
  private Behavior<Command> onMissing(WrappedMissing wrapped) {
    if (taskOnOffer != null && wrapped.missing().taskIds().contains(taskOnOffer)) {
      context
          .getLog()
          .warn("Registration task {} was no longer held by the queue: offered again", taskOnOffer);
      sendOffer();
    }
    return Behaviors.same();
  }

  private Behavior<Command> onQueueNodeLost(ProvingOrchestrator.QueueNodeLost lost) {
    if (taskOnOffer != null) {
      context
          .getLog()
          .info(
              "Registration flow: queue node {} left: re-offered task {}",
              lost.address(),
              taskOnOffer);
      sendOffer();
    }
    return Behaviors.same();
  }

  private Behavior<Command> onOfferNext() {
    if (taskOnOffer == null) {
      offer();
    }
    return Behaviors.same();
  }

  private Behavior<Command> onGetStatus(GetStatus request) {
    request
        .replyTo()
        .tell(
            new Status(
                registeredWorkers.size(), taskOnOffer != null, List.copyOf(registeredWorkers)));
    return Behaviors.same();
  }
}
