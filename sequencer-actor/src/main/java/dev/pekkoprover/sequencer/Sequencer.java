package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.flow.FlowLogic;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The sequencer's proving side: runs the start-up sequence (compile circuits on a worker, then the worker
 * registration loop) and afterwards one {@link Flow} per unit of proving work. Every task it enqueues carries its
 * run id, a fresh one per incarnation and ordered by start time ({@link RunIds}), so results of an earlier run are
 * dropped and workers can tell a newer run from an older one. A failed flow is reported to its requester and logged;
 * the sequencer keeps running.
 */
public final class Sequencer {

  public interface Command {}

  /**
   * Runs a flow once start-up is done (requests that arrive earlier wait). Carries code, so it never crosses a node:
   * the block producer that sends it lives beside the sequencer.
   */
  public record RunFlow<R>(String name, FlowLogic<R> logic, ActorRef<FlowResult> replyTo)
      implements Command, NoSerializationVerificationNeeded {}

  public record GetStatus(ActorRef<Status> replyTo) implements Command, CborSerializable {}

  /**
   * @param started start-up is done: circuits compiled, registration loop running
   * @param registration the registration loop's actor, once started
   */
  public record Status(
      String runId,
      boolean started,
      int flowsRunning,
      int flowsCompleted,
      int flowsFailed,
      ActorRef<WorkerRegistrationFlow.Command> registration)
      implements CborSerializable {}

  private record FlowEnded(FlowResult result) implements Command, CborSerializable {}

  private enum RetryStartup implements Command, CborSerializable {
    INSTANCE
  }

  /** Compilation failing is most often a worker that is not up yet or broke; try again rather than give up. */
  private static final Duration STARTUP_RETRY = Duration.ofSeconds(5);

  private static final String COMPILE_FLOW = "compile-circuits";

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final StashBuffer<Command> stash;
  private final ActorRef<QueueCommand> queue;
  private final StartupPlan<?, ?> plan;
  private final CompletableFuture<Object> whenStarted;
  private final String runId = RunIds.next();
  /** See {@code prover.sequencer.resend-after}. */
  private final Duration resendAfter;
  private final ActorRef<FlowResult> flowEnded;
  private final Map<String, ActorRef<FlowResult>> requesters = new HashMap<>();
  private ActorRef<WorkerRegistrationFlow.Command> registration;
  private long flowCounter;
  private int completed;
  private int failed;
  private int startupAttempts;

  /**
   * @param whenStarted completed with the registration parameters once start-up is done (a local hook for the node
   *     assembly; may be a fresh future nobody reads)
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, StartupPlan<?, ?> plan, CompletableFuture<Object> whenStarted) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers ->
                    Behaviors.withStash(
                        10_000,
                        stash -> new Sequencer(context, timers, stash, queue, plan, whenStarted).startingUp())));
  }

  private Sequencer(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      StashBuffer<Command> stash,
      ActorRef<QueueCommand> queue,
      StartupPlan<?, ?> plan,
      CompletableFuture<Object> whenStarted) {
    this.context = context;
    this.timers = timers;
    this.stash = stash;
    this.queue = queue;
    this.plan = plan;
    this.whenStarted = whenStarted;
    this.flowEnded = context.messageAdapter(FlowResult.class, FlowEnded::new);
    this.resendAfter = context.getSystem().settings().config().getDuration("prover.sequencer.resend-after");
    context.getLog().info("Sequencer run {} starting: compiling circuits", runId);
    startCompile();
  }

  private void startCompile() {
    startupAttempts++;
    context.spawn(
        Flow.create(COMPILE_FLOW + "-" + startupAttempts, runId, queue, plan.compileFlow(), flowEnded, resendAfter),
        COMPILE_FLOW + "-" + startupAttempts);
  }

  private Behavior<Command> startingUp() {
    return Behaviors.receive(Command.class)
        .onMessage(FlowEnded.class, this::onStartupEnded)
        .onMessageEquals(RetryStartup.INSTANCE, this::onRetryStartup)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(RunFlow.class, this::onEarlyRunFlow)
        .build();
  }

  private Behavior<Command> running() {
    return Behaviors.receive(Command.class)
        .onMessage(RunFlow.class, this::onRunFlow)
        .onMessage(FlowEnded.class, this::onFlowEnded)
        .onMessage(GetStatus.class, this::onGetStatus)
        .build();
  }

  private Behavior<Command> onStartupEnded(FlowEnded ended) {
    if (ended.result() instanceof FlowResult.Completed done) {
      Object parameters = done.result();
      registration = context.spawn(WorkerRegistrationFlow.create(queue, runId, parameters), "worker-registration");
      context.getLog().info("Sequencer run {} started: circuits compiled, registration loop running", runId);
      whenStarted.complete(parameters);
      return stash.unstashAll(running());
    }
    FlowResult.Failed failure = (FlowResult.Failed) ended.result();
    context.getLog().error(
        "Circuit compilation failed (attempt {}): {}; retrying in {}", startupAttempts, failure.reason(),
        STARTUP_RETRY);
    timers.startSingleTimer(RetryStartup.INSTANCE, STARTUP_RETRY);
    return Behaviors.same();
  }

  private Behavior<Command> onRetryStartup() {
    startCompile();
    return Behaviors.same();
  }

  @SuppressWarnings("rawtypes")
  private Behavior<Command> onEarlyRunFlow(RunFlow request) {
    if (stash.isFull()) {
      context.getLog().warn("Sequencer still starting and {} flows waiting: refusing flow {}", stash.size(),
          request.name());
      request.replyTo().tell(new FlowResult.Failed(request.name(), "sequencer is still starting and its waiting "
          + "list is full; submit again later", new FlowResult.FlowStats(0, 0, 0, 0)));
    } else {
      stash.stash(request);
    }
    return Behaviors.same();
  }

  @SuppressWarnings({"rawtypes", "unchecked"})
  private Behavior<Command> onRunFlow(RunFlow request) {
    String flowId = request.name() + "-" + (++flowCounter);
    requesters.put(flowId, request.replyTo());
    context.spawn(
        Flow.create(flowId, runId, queue, (FlowLogic<Object>) request.logic(), flowEnded, resendAfter), flowId);
    return Behaviors.same();
  }

  private Behavior<Command> onFlowEnded(FlowEnded ended) {
    FlowResult result = ended.result();
    ActorRef<FlowResult> requester = requesters.remove(result.flowId());
    if (result instanceof FlowResult.Completed) {
      completed++;
    } else {
      failed++;
    }
    if (requester != null) {
      requester.tell(result);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onGetStatus(GetStatus request) {
    request.replyTo().tell(
        new Status(runId, registration != null, requesters.size(), completed, failed, registration));
    return Behaviors.same();
  }
}
