package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The registration loop: keeps exactly one registration task (carrying the static parameters) on offer in the
 * queue. When a worker completes it, the flow sends itself {@link OfferNext} and offers a new one, forever. Only a
 * worker that is still Unprepared serves the registration type, so every new or restarted worker, and only such a
 * worker, picks one up. While no worker is waiting the task just sits in the queue: the loop costs nothing.
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

  private enum TimerKey {
    RETRY
  }

  public static final String FLOW_ID = "register-worker-flow";

  /** How long to wait before offering again after a registration task failed for good (a broken worker). */
  private static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(1);

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final ActorRef<QueueCommand> queue;
  private final ActorRef<TaskOutcome> outcomes;
  private final String runId;
  private final Object parameters;
  private final List<String> registeredWorkers = new ArrayList<>();
  private long offered;
  private String taskOnOffer;

  /**
   * @param parameters what every worker receives (the verification keys); a record implementing CborSerializable
   */
  public static Behavior<Command> create(ActorRef<QueueCommand> queue, String runId, Object parameters) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> new WorkerRegistrationFlow(context, timers, queue, runId, parameters).offering()));
  }

  private WorkerRegistrationFlow(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      ActorRef<QueueCommand> queue,
      String runId,
      Object parameters) {
    this.context = context;
    this.timers = timers;
    this.queue = queue;
    this.runId = runId;
    this.parameters = parameters;
    this.outcomes = context.messageAdapter(TaskOutcome.class, WrappedOutcome::new);
    offer();
  }

  private Behavior<Command> offering() {
    return Behaviors.receive(Command.class)
        .onMessage(WrappedOutcome.class, this::onOutcome)
        .onMessageEquals(OfferNext.INSTANCE, this::onOfferNext)
        .onMessage(GetStatus.class, this::onGetStatus)
        .build();
  }

  private void offer() {
    taskOnOffer = FLOW_ID + ":" + (++offered);
    queue.tell(
        new QueueCommand.Enqueue(
            List.of(new TaskEnvelope(taskOnOffer, FLOW_ID, runId, WorkerRegistrationTask.NAME, 1, parameters)),
            outcomes));
  }

  private Behavior<Command> onOutcome(WrappedOutcome wrapped) {
    TaskOutcome outcome = wrapped.outcome();
    if (!runId.equals(outcome.runId()) || !outcome.taskId().equals(taskOnOffer)) {
      context.getLog().debug("Registration flow dropped outcome of task {} (run {})", outcome.taskId(), outcome.runId());
      return Behaviors.same();
    }
    taskOnOffer = null;
    if (outcome instanceof TaskOutcome.Succeeded success) {
      String workerId = ((WorkerRegistrationTask.Registered) success.result()).workerId();
      registeredWorkers.add(workerId);
      context.getLog().info(
          "Worker {} registered (task {}, {} registration(s) so far)",
          workerId, outcome.taskId(), registeredWorkers.size());
      context.getSelf().tell(OfferNext.INSTANCE);
    } else {
      context.getLog().warn("Registration task {} ended without a registration: {}; offering again", outcome.taskId(),
          outcome);
      timers.startSingleTimer(TimerKey.RETRY, OfferNext.INSTANCE, RETRY_AFTER_FAILURE);
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
    request.replyTo().tell(new Status(registeredWorkers.size(), taskOnOffer != null, List.copyOf(registeredWorkers)));
    return Behaviors.same();
  }
}
