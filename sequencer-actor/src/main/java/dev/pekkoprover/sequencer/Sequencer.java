package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.FlowsView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.RecentFailure;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
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
   * Asks for the flows: counts, each running flow's progress (asked of the flows, so it takes up to {@link
   * #PROGRESS_TIMEOUT}) and recent failed flows. The sequencer registers for it with the receptionist under {@link
   * #FLOWS_KEY}, so the status API of any node of the cluster can find the singleton.
   */
  public record GetFlows(ActorRef<FlowsView> replyTo) implements Command, CborSerializable {}

  /** Where the status API finds the sequencer (the singleton's current incarnation) from any node. */
  public static final ServiceKey<GetFlows> FLOWS_KEY = ServiceKey.create(GetFlows.class, "prover-sequencer-flows");

  /** How long the sequencer waits for its flows' progress before answering GetFlows with those that answered. */
  static final Duration PROGRESS_TIMEOUT = Duration.ofSeconds(2);

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
  /** Running flows by id, oldest first (also the compile flow while it runs): told when a queue node is lost. */
  private final Map<String, ActorRef<Flow.Command>> flows = new LinkedHashMap<>();
  /** The flows requested by someone and running: what prover_flows_running reads. */
  private final AtomicInteger running = new AtomicInteger();
  private final Gauge runningGauge;
  private final Counter completedCounter;
  private final Counter failedCounter;
  /** The last failed flows, newest last. */
  private final ArrayDeque<RecentFailure> recentFailures = new ArrayDeque<>();
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
    var registry = ProverMetrics.get(context.getSystem()).registry();
    this.runningGauge = Gauge.builder("prover.flows.running", running, AtomicInteger::get)
        .description("Flows running on the sequencer").register(registry);
    this.completedCounter = Counter.builder("prover.flows.completed")
        .description("Flows that completed").register(registry);
    this.failedCounter = Counter.builder("prover.flows.failed")
        .description("Flows that failed (a task failed for good or was refused, or the flow's logic threw)")
        .register(registry);
    context.getSystem().receptionist().tell(Receptionist.register(FLOWS_KEY, context.getSelf().narrow()));
    AutoscaleSettings autoscale = AutoscaleSettings.fromConfig(context.getSystem().settings().config());
    if (autoscale.enabled()) {
      context.spawn(AutoscaleReporter.create(queue, autoscale), "autoscale-reporter");
    }
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
        .onMessage(GetFlows.class, this::onGetFlows)
        .onMessage(RunFlow.class, this::onEarlyRunFlow)
        .onMessage(QueueNodeLost.class, this::onQueueNodeLost)
        .onSignal(PostStop.class, signal -> onStop())
        .build();
  }

  private Behavior<Command> running() {
    return Behaviors.receive(Command.class)
        .onMessage(RunFlow.class, this::onRunFlow)
        .onMessage(FlowEnded.class, this::onFlowEnded)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetFlows.class, this::onGetFlows)
        .onMessage(QueueNodeLost.class, this::onQueueNodeLost)
        .onSignal(PostStop.class, signal -> onStop())
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
    running.set(requesters.size());
    flows.put(flowId, context.spawn(
        Flow.create(flowId, runId, queue, (FlowLogic<Object>) request.logic(), flowEnded, resendAfter), flowId));
    return Behaviors.same();
  }

  private Behavior<Command> onFlowEnded(FlowEnded ended) {
    FlowResult result = ended.result();
    flows.remove(result.flowId());
    ActorRef<FlowResult> requester = requesters.remove(result.flowId());
    running.set(requesters.size());
    if (result instanceof FlowResult.Completed) {
      completed++;
      completedCounter.increment();
    } else {
      failed++;
      failedCounter.increment();
      if (recentFailures.size() == RecentFailure.KEEP) {
        recentFailures.removeFirst();
      }
      recentFailures.addLast(new RecentFailure(System.currentTimeMillis(), "flow failed", null, null,
          result.flowId(), null, ((FlowResult.Failed) result).reason()));
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

  /** Asks every running flow for its progress (a child gathers the answers) and answers with the counts. */
  private Behavior<Command> onGetFlows(GetFlows request) {
    List<ActorRef<Flow.Command>> listed = new ArrayList<>();
    for (Map.Entry<String, ActorRef<Flow.Command>> flow : flows.entrySet()) {
      if (requesters.containsKey(flow.getKey()) && listed.size() < FlowsView.LISTED) {
        listed.add(flow.getValue());
      }
    }
    List<RecentFailure> failures = new ArrayList<>(recentFailures);
    java.util.Collections.reverse(failures);
    FlowsView counts = new FlowsView(runId, registration != null, requesters.size(), completed, failed, List.of(),
        List.copyOf(failures));
    context.spawnAnonymous(ProgressGather.create(listed, counts, request.replyTo()));
    return Behaviors.same();
  }

  private Behavior<Command> onStop() {
    ProverMetrics.get(context.getSystem()).remove(List.of(runningGauge));
    return Behaviors.same();
  }

  /** Asks flows for their progress and answers with the counts and what came back within the timeout. */
  private static final class ProgressGather {
    private enum Timeout implements NoSerializationVerificationNeeded {
      INSTANCE
    }

    static Behavior<FlowsView.FlowProgress> create(
        List<ActorRef<Flow.Command>> flows, FlowsView counts, ActorRef<FlowsView> replyTo) {
      return Behaviors.<Object>setup(context -> Behaviors.withTimers(timers -> {
        List<FlowsView.FlowProgress> answers = new ArrayList<>();
        if (flows.isEmpty()) {
          replyTo.tell(counts);
          return Behaviors.stopped();
        }
        ActorRef<FlowsView.FlowProgress> self = context.getSelf().narrow();
        flows.forEach(flow -> flow.tell(new Flow.GetProgress(self)));
        timers.startSingleTimer(Timeout.INSTANCE, PROGRESS_TIMEOUT);
        return Behaviors.receive(Object.class)
            .onMessage(FlowsView.FlowProgress.class, progress -> {
              answers.add(progress);
              if (answers.size() < flows.size()) {
                return Behaviors.same();
              }
              replyTo.tell(with(counts, answers));
              return Behaviors.stopped();
            })
            .onMessageEquals(Timeout.INSTANCE, () -> {
              replyTo.tell(with(counts, answers));
              return Behaviors.stopped();
            })
            .build();
      })).narrow();
    }

    private static FlowsView with(FlowsView counts, List<FlowsView.FlowProgress> progress) {
      List<FlowsView.FlowProgress> sorted = new ArrayList<>(progress);
      sorted.sort(java.util.Comparator.comparingLong(FlowsView.FlowProgress::runningMillis).reversed());
      return new FlowsView(counts.runId(), counts.started(), counts.running(), counts.completed(), counts.failed(),
          List.copyOf(sorted), counts.recentFailures());
    }
  }

  private Behavior<Command> onGetStatus(GetStatus request) {
    request.replyTo().tell(
        new Status(runId, registration != null, requesters.size(), completed, failed, registration));
    return Behaviors.same();
  }
}
