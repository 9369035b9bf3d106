package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.flow.FlowLogic;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
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
 *
 * <p>When a queue node is gone ({@link QueueNodeLost}, told by the cluster deployment) it tells every running flow
 * and the registration loop, which send their pending tasks again: the entities of that node start again empty.
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

  /**
   * A cluster member with role {@code queue} was removed (it left, or was downed and removed): the queue entities it
   * hosted start again, empty, on another queue node. Every running flow re-sends all its pending tasks and the
   * registration loop re-offers its task; the queue ignores ids it still holds. Every sequencer node's watcher
   * tells it (through the singleton proxy, possibly from another node), so one loss may arrive more than once: it is
   * acted on once per member incarnation.
   *
   * @param address the removed member's address, for the log
   * @param uid the removed member's incarnation (a node restarted at the same address is another member)
   */
  public record QueueNodeLost(String address, long uid)
      implements Command, Flow.Command, WorkerRegistrationFlow.Command, CborSerializable {}

  private record FlowEnded(FlowResult result) implements Command, CborSerializable {}

  private enum RetryStartup implements Command, CborSerializable {
    INSTANCE
  }

  /** Compilation failing is most often a worker that is not up yet or broke; try again rather than give up. */
  private static final Duration STARTUP_RETRY = Duration.ofSeconds(5);

  private static final String COMPILE_FLOW = "compile-circuits";

  /** Lost queue nodes remembered to drop repeated notices of the same loss; a cluster loses few. */
  private static final int LOST_NODES_REMEMBERED = 100;

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
  /** Running flows by id (also the compile flow while it runs): told when a queue node is lost. */
  private final Map<String, ActorRef<Flow.Command>> flows = new HashMap<>();
  /** Queue nodes already handled, "address#uid", oldest first. */
  private final Set<String> lostQueueNodes = new LinkedHashSet<>();
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
    String flowId = COMPILE_FLOW + "-" + startupAttempts;
    flows.put(flowId,
        context.spawn(Flow.create(flowId, runId, queue, plan.compileFlow(), flowEnded, resendAfter), flowId));
  }

  private Behavior<Command> startingUp() {
    return Behaviors.receive(Command.class)
        .onMessage(FlowEnded.class, this::onStartupEnded)
        .onMessageEquals(RetryStartup.INSTANCE, this::onRetryStartup)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(RunFlow.class, this::onEarlyRunFlow)
        .onMessage(QueueNodeLost.class, this::onQueueNodeLost)
        .build();
  }

  private Behavior<Command> running() {
    return Behaviors.receive(Command.class)
        .onMessage(RunFlow.class, this::onRunFlow)
        .onMessage(FlowEnded.class, this::onFlowEnded)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(QueueNodeLost.class, this::onQueueNodeLost)
        .build();
  }

  private Behavior<Command> onStartupEnded(FlowEnded ended) {
    flows.remove(ended.result().flowId());
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
    flows.put(flowId, context.spawn(
        Flow.create(flowId, runId, queue, (FlowLogic<Object>) request.logic(), flowEnded, resendAfter), flowId));
    return Behaviors.same();
  }

  private Behavior<Command> onFlowEnded(FlowEnded ended) {
    FlowResult result = ended.result();
    flows.remove(result.flowId());
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

  private Behavior<Command> onQueueNodeLost(QueueNodeLost lost) {
    if (!lostQueueNodes.add(lost.address() + "#" + lost.uid())) {
      return Behaviors.same(); // told again by another sequencer node's watcher
    }
    if (lostQueueNodes.size() > LOST_NODES_REMEMBERED) {
      lostQueueNodes.remove(lostQueueNodes.iterator().next());
    }
    context.getLog().info("Queue node {} left: {} flow(s){} re-send their pending tasks", lost.address(),
        flows.size(), registration == null ? "" : " and the registration loop");
    flows.values().forEach(flow -> flow.tell(lost));
    if (registration != null) {
      registration.tell(lost);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onGetStatus(GetStatus request) {
    request.replyTo().tell(
        new Status(runId, registration != null, requesters.size(), completed, failed, registration));
    return Behaviors.same();
  }
}
