package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.FlowsView;
import dev.pekkoprover.protocol.Gather;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The sequencer's proving side: runs the start-up sequence (compile circuits on a worker, then the
 * worker registration loop) and afterwards one {@link FlowRunner} per unit of proving work. Every
 * task it enqueues carries its run id, a fresh one per incarnation and ordered by start time
 * ({@link RunIds}), so results of an earlier run are dropped and workers can tell a newer run from
 * an older one. A failed flow is reported to its requester and logged; the sequencer keeps running.
 *
 * <p>When a queue node is gone ({@link QueueNodeLost}, told by the cluster deployment) it tells
 * every running flow and the registration loop, which send their pending tasks again: the entities
 * of that node start again empty.
 *
 * <p>With {@code prover.persistence.enabled} it keeps two durable stores as children ({@link
 * SequencerStores}, so they move with it when it is a cluster singleton): the task results by
 * content key, which its flows read and write ({@link FlowRunner.Durable}), and the outcomes of
 * completed flows by the flow's name. A flow whose name completed before is answered from the store
 * at once, without running; a flow's completion is told to its requester only once its outcome is
 * stored. Flows wait (stashed with start-up, at most {@code prover.sequencer.startup-max-waiting})
 * until both stores have recovered. Its settings are {@link SequencerSettings}; its counts {@link
 * FlowTally}'s.
 */
public final class ProvingOrchestrator {

  public interface Command {}

  /**
   * Runs a flow once start-up is done (requests that arrive earlier wait). Carries code, so it
   * never crosses a node: the block producer that sends it lives beside the sequencer.
   */
  public record RunFlow<R>(String name, FlowLogic<R> logic, ActorRef<FlowResult> replyTo)
      implements Command, NoSerializationVerificationNeeded {}

  /**
   * Cancels the running flows run under {@code name} (requests that arrive during start-up wait for
   * it, as flows do): each one's requester is answered with {@link FlowResult.Failed} whose reason
   * is {@code cancelled: <reason>}, its tasks are withdrawn from the queue (waiting ones dropped,
   * running computes told to stop), and it counts as cancelled, not failed ({@code
   * prover_flows_cancelled_total}). A flow that ends on its own meanwhile keeps its outcome. Flows
   * wait for workers without a deadline; this is how a caller bounds its wait.
   *
   * @param replyTo the ids of the flows told to stop, oldest first; empty when none of that name
   *     runs
   */
  public record CancelFlows(String name, String reason, ActorRef<CancelledFlows> replyTo)
      implements Command, CborSerializable {}

  /** The answer to {@link CancelFlows}. */
  public record CancelledFlows(List<String> flowIds) implements CborSerializable {}

  public record GetStatus(ActorRef<Status> replyTo) implements Command, CborSerializable {}

  /**
   * Which of these flow names have a stored outcome (durability on; otherwise none)? Answered after
   * start-up.
   */
  public record GetStoredFlows(List<String> names, ActorRef<StoredFlows> replyTo)
      implements Command, CborSerializable {}

  /**
   * @param names the asked names with a stored outcome, in the order asked
   */
  public record StoredFlows(List<String> names) implements CborSerializable {}

  /** The result store's write counters; {@code null} stats when durability is off. */
  public record GetStoreStats(ActorRef<StoreStats> replyTo) implements Command, CborSerializable {}

  /**
   * @param writer the results store's writer: writes, batch sizes, write latency
   * @param results results held now
   * @param resultBytes their size as counted against {@code max-bytes}
   * @param evicted results evicted since the store last recovered
   */
  public record StoreStats(ResultWriter.Stats writer, int results, long resultBytes, long evicted)
      implements CborSerializable {}

  /**
   * Asks for the flows: counts, each running flow's progress (asked of the flows, so it takes up to
   * {@code prover.sequencer.progress-timeout}) and recent failed flows. The sequencer registers for
   * it with the receptionist under {@link #FLOWS_KEY}, so the status API of any node of the cluster
   * can find the singleton.
   */
  public record GetFlows(ActorRef<FlowsView> replyTo) implements Command, CborSerializable {}

  /**
   * Where the status API finds the sequencer (the singleton's current incarnation) from any node.
   */
  public static final ServiceKey<GetFlows> FLOWS_KEY =
      ServiceKey.create(GetFlows.class, "prover-sequencer-flows");

  /**
   * @param started start-up is done: circuits compiled, registration loop running
   * @param registration the registration loop's actor, once started
   * @param flowsRestored flows answered from the flow-outcome store without running (durability on)
   * @param tasksReused tasks of completed flows that completed without running: found in the result
   *     store, or computed by another flow (durability on)
   * @param problems what holds the sequencer's node up now, one line each, as the status API's
   *     {@code problems} says it (a store whose database does not confirm writes, a part beside the
   *     sequencer that failed); empty when nothing does
   */
  public record Status(
      String runId,
      boolean started,
      int flowsRunning,
      int flowsCompleted,
      int flowsFailed,
      ActorRef<WorkerRegistrationFlow.Command> registration,
      int flowsRestored,
      long tasksReused,
      List<String> problems)
      implements CborSerializable {
    public Status {
      // null in a status from a sequencer of an earlier build, which had no problems field
      problems = problems == null ? List.of() : List.copyOf(problems);
    }
  }

  /**
   * A cluster member with role {@code queue} was removed (it left, or was downed and removed): the
   * queue entities it hosted start again, empty, on another queue node. Every running flow re-sends
   * all its pending tasks and the registration loop re-offers its task; the queue ignores ids it
   * still holds. Every sequencer node's watcher tells it (through the singleton proxy, possibly
   * from another node), so one loss may arrive more than once: it is acted on once per member
   * incarnation.
   *
   * @param address the removed member's address, for the log
   * @param uid the removed member's incarnation (a node restarted at the same address is another
   *     member)
   */
  public record QueueNodeLost(String address, long uid)
      implements Command, FlowRunner.Command, WorkerRegistrationFlow.Command, CborSerializable {}

  /**
   * A cluster member with role {@code queue} leaves (Leaving or Exiting): its shards were handed
   * off as it began to shut down, so until its removal ({@link QueueNodeLost}) the queue may answer
   * that it no longer holds tasks its entities held. A flow or the registration loop that finds
   * tasks missing meanwhile sends them again as ever, but says so at INFO: it is what a rolling
   * restart does, not a loss nobody reported. Told more than once (Leaving, then Exiting; every
   * sequencer node's watcher, and first by the leaving queue node itself as its shutdown begins,
   * before the hand-off); idempotent, one INFO line. A flow or registration loop started before
   * that member's removal is told of it at its start. One that comes after that member's {@link
   * QueueNodeLost} (another sequencer node's watcher, later than this one's) is dropped: it would
   * never be cleared.
   *
   * <p>A notice that names the sequencer's own node is dropped: the sequencer leaves with it.
   *
   * @param address the leaving member's address, as in {@link QueueNodeLost}
   * @param uid the leaving member's incarnation, as in {@link QueueNodeLost}
   */
  public record QueueNodeLeaving(String address, long uid)
      implements Command, FlowRunner.Command, WorkerRegistrationFlow.Command, CborSerializable {}

  private record FlowEnded(FlowResult result) implements Command, CborSerializable {}

  /**
   * A flow's actor stopped. Normally after its {@link FlowEnded}, which it sends before it stops,
   * so the flow is no longer listed; otherwise the flow's actor failed without an outcome.
   */
  private record FlowStopped(String flowId) implements Command, CborSerializable {}

  private record StoreRecovered(ResultStore.Recovered recovered)
      implements Command, CborSerializable {}

  private record OutcomeStored(ResultWriter.Stored stored) implements Command, CborSerializable {}

  private record ReplyStoreStats(ActorRef<StoreStats> replyTo, StoreStats stats)
      implements Command, CborSerializable {}

  private enum RetryStartup implements Command, CborSerializable {
    INSTANCE
  }

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
  private final SequencerSettings settings;

  /**
   * The queue node removed last ({@link QueueNodeLost}; null before any) and when: a flow started
   * within {@code loss-check-window} after is told ({@link FlowRunner.LossBeforeStart}).
   */
  private String lastLoss;

  private long lastLossAt;
  private final ActorRef<FlowResult> flowEnded;
  private final Map<String, ActorRef<FlowResult>> requesters = new HashMap<>();

  /**
   * Running flows by id, oldest first (also the compile flow while it runs): told when a queue node
   * is lost.
   */
  private final Map<String, ActorRef<FlowRunner.Command>> flows = new LinkedHashMap<>();

  /** Flows told to stop by {@link CancelFlows}, by id, with the reason given, until they end. */
  private final Map<String, String> cancelling = new HashMap<>();

  /**
   * Of {@link #cancelling}, those whose stop ended them (not an outcome of their own that was
   * already on its way, which keeps its count: a failure stays a failure).
   */
  private final java.util.Set<String> stoppedByCancel = new java.util.HashSet<>();

  private final FlowTally tally;

  /** Queue nodes already handled, "address#uid", oldest first. */
  private final Set<String> lostQueueNodes = new LinkedHashSet<>();

  /**
   * Queue nodes leaving and not removed yet, by address and uid: a flow or registration loop
   * started meanwhile is told of them at its start, as the running ones were.
   */
  private final Map<String, QueueNodeLeaving> leavingQueueNodes = new LinkedHashMap<>();

  private ActorRef<WorkerRegistrationFlow.Command> registration;

  /**
   * Flows requested in this run: the n-th is {@code name-n}, and its tasks carry n as their {@link
   * dev.pekkoprover.protocol.TaskEnvelope#flowSeq}, so the queue serves flows in the order they
   * were requested (the start-up's compile flow, 0, before all).
   */
  private long flowCounter;

  private int startupAttempts;

  /** Null when durability is off. */
  private final SequencerStores stores;

  /**
   * Null when durability is off, and until start-up is done (it needs the registration parameters'
   * digest).
   */
  private FlowRunner.Durable durable;

  /** The names of running flows by flow id (durability on): their outcomes are stored under it. */
  private final Map<String, String> names = new HashMap<>();

  /**
   * Registration parameters once circuits are compiled; start-up ends when the stores are ready
   * too.
   */
  private Object parameters;

  private boolean compiled;

  /**
   * Reads every setting the sequencer reads as it starts ({@code prover.sequencer}, {@code
   * prover.autoscale}, {@code prover.persistence}), so that a bad one is an error before a node
   * starts, not a sequencer that fails to start while the node waits for it.
   *
   * @throws com.typesafe.config.ConfigException a setting missing or of the wrong type
   * @throws IllegalArgumentException a setting out of its range, naming it
   */
  public static void checkSettings(com.typesafe.config.Config config) {
    SequencerSettings.fromConfig(config);
    AutoscaleSettings.fromConfig(config);
    StoreSettings.fromConfig(config);
  }

  /**
   * @param whenStarted completed with the registration parameters once start-up is done (a local
   *     hook for the node assembly; may be a fresh future nobody reads)
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, StartupPlan<?, ?> plan, CompletableFuture<Object> whenStarted) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(
              ProvingOrchestrator
                  .class); // not a Pekko logger, which a node's logback keeps at WARN
          SequencerSettings settings =
              startingOrFailing(
                  whenStarted,
                  () -> SequencerSettings.fromConfig(context.getSystem().settings().config()));
          return Behaviors.withTimers(
              timers ->
                  Behaviors.withStash(
                      settings.startupMaxWaiting(),
                      stash ->
                          startingOrFailing(
                              whenStarted,
                              () ->
                                  new ProvingOrchestrator(
                                          context,
                                          timers,
                                          stash,
                                          queue,
                                          plan,
                                          whenStarted,
                                          settings)
                                      .startingUp())));
        });
  }

  /**
   * What {@code start} makes; if it throws, {@code whenStarted} fails with it first, so that what
   * waits for the sequencer ends (a node's {@code ready()}) instead of waiting for ever for a
   * sequencer that never started.
   */
  private static <T> T startingOrFailing(
      CompletableFuture<Object> whenStarted, java.util.function.Supplier<T> start) {
    try {
      return start.get();
    } catch (RuntimeException e) {
      whenStarted.completeExceptionally(
          new IllegalStateException("the sequencer failed to start: " + e.getMessage(), e));
      throw e;
    }
  }

  private ProvingOrchestrator(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      StashBuffer<Command> stash,
      ActorRef<QueueCommand> queue,
      StartupPlan<?, ?> plan,
      CompletableFuture<Object> whenStarted,
      SequencerSettings settings) {
    this.context = context;
    this.timers = timers;
    this.stash = stash;
    this.queue = queue;
    this.plan = plan;
    this.whenStarted = whenStarted;
    this.flowEnded = context.messageAdapter(FlowResult.class, FlowEnded::new);
    this.settings = settings;
    this.tally = new FlowTally(ProverMetrics.get(context.getSystem()));
    context
        .getSystem()
        .receptionist()
        .tell(Receptionist.register(FLOWS_KEY, context.getSelf().narrow()));
    AutoscaleSettings autoscale =
        AutoscaleSettings.fromConfig(context.getSystem().settings().config());
    if (autoscale.enabled()) {
      context.spawn(AutoscaleReporter.create(queue, autoscale), "autoscale-reporter");
    }
    StoreSettings storeSettings = StoreSettings.fromConfig(context.getSystem().settings().config());
    if (storeSettings.enabled()) {
      this.stores =
          new SequencerStores(
              context,
              storeSettings,
              context.messageAdapter(ResultStore.Recovered.class, StoreRecovered::new),
              context.messageAdapter(ResultWriter.Stored.class, OutcomeStored::new));
      context
          .getLog()
          .info(
              "Sequencer run {} starting: {} and recovering the result stores from {}",
              runId,
              plan.describe(),
              storeSettings.database());
    } else {
      this.stores = null;
      context.getLog().info("Sequencer run {} starting: {}", runId, plan.describe());
    }
    startCompile();
  }

  private void startCompile() {
    startupAttempts++;
    String flowId = COMPILE_FLOW + "-" + startupAttempts;
    started(
        flowId,
        context.spawn(
            FlowRunner.create(
                flowId, 0, runId, queue, plan.compileFlow(), flowEnded, settings, null),
            flowId));
  }

  /**
   * A flow just spawned: listed as running, and told of the queue nodes leaving now, as the flows
   * running already were ({@link #onQueueNodeLeaving}).
   */
  private void started(String flowId, ActorRef<FlowRunner.Command> flow) {
    flows.put(flowId, flow);
    context.watchWith(flow, new FlowStopped(flowId));
    leavingQueueNodes.values().forEach(flow::tell);
    if (lastLoss != null && System.nanoTime() - lastLossAt < settings.lossCheckWindow().toNanos()) {
      flow.tell(new FlowRunner.LossBeforeStart(lastLoss));
    }
  }

  private Behavior<Command> startingUp() {
    return Behaviors.receive(Command.class)
        .onMessage(FlowEnded.class, this::onStartupEnded)
        .onMessage(FlowStopped.class, stopped -> onFlowStopped(stopped, this::onStartupEnded))
        .onMessageEquals(RetryStartup.INSTANCE, this::onRetryStartup)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetFlows.class, this::onGetFlows)
        .onMessage(RunFlow.class, this::onEarlyRunFlow)
        .onMessage(GetStoredFlows.class, this::onEarlyRequest)
        .onMessage(CancelFlows.class, this::onEarlyRequest)
        .onMessage(QueueNodeLost.class, this::onQueueNodeLost)
        .onMessage(QueueNodeLeaving.class, this::onQueueNodeLeaving)
        .onMessage(StoreRecovered.class, this::onStoreRecovered)
        .onMessage(GetStoreStats.class, this::onGetStoreStats)
        .onMessage(ReplyStoreStats.class, this::onReplyStoreStats)
        .onSignal(PostStop.class, signal -> onStop())
        .build();
  }

  private Behavior<Command> running() {
    return Behaviors.receive(Command.class)
        .onMessage(RunFlow.class, this::onRunFlow)
        .onMessage(FlowEnded.class, this::onFlowEnded)
        .onMessage(FlowStopped.class, stopped -> onFlowStopped(stopped, this::onFlowEnded))
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetFlows.class, this::onGetFlows)
        .onMessage(QueueNodeLost.class, this::onQueueNodeLost)
        .onMessage(QueueNodeLeaving.class, this::onQueueNodeLeaving)
        .onMessage(GetStoredFlows.class, this::onGetStoredFlows)
        .onMessage(CancelFlows.class, this::onCancelFlows)
        .onMessage(OutcomeStored.class, this::onOutcomeStored)
        .onMessage(StoreRecovered.class, this::onStoreRecovered)
        .onMessage(GetStoreStats.class, this::onGetStoreStats)
        .onMessage(ReplyStoreStats.class, this::onReplyStoreStats)
        .onSignal(PostStop.class, signal -> onStop())
        .build();
  }

  private Behavior<Command> onStartupEnded(FlowEnded ended) {
    flows.remove(ended.result().flowId());
    if (ended.result() instanceof FlowResult.Completed done) {
      parameters = done.result();
      compiled = true;
      registration =
          context.spawn(
              WorkerRegistrationFlow.create(queue, runId, parameters, settings),
              "worker-registration");
      leavingQueueNodes.values().forEach(registration::tell);
      return startedWhenReady();
    }
    FlowResult.Failed failure = (FlowResult.Failed) ended.result();
    context
        .getLog()
        .error(
            "Circuit compilation failed (attempt {}): {}; retrying in {}",
            startupAttempts,
            failure.reason(),
            settings.startupRetry());
    timers.startSingleTimer(RetryStartup.INSTANCE, settings.startupRetry());
    return Behaviors.same();
  }

  /** Start-up ends once circuits are compiled and (durability on) both stores have recovered. */
  private Behavior<Command> startedWhenReady() {
    if (!compiled || (stores != null && !stores.allRecovered())) {
      return Behaviors.same();
    }
    if (stores != null) {
      durable = stores.durableUnder(parameters);
    }
    context
        .getLog()
        .info(
            "Sequencer run {} started: {}, registration loop running{}",
            runId,
            plan.describeDone(),
            stores == null ? "" : ", " + stores.describe());
    whenStarted.complete(parameters);
    return stash.unstashAll(running());
  }

  private Behavior<Command> onStoreRecovered(StoreRecovered message) {
    boolean first = stores.recovered(message.recovered().persistenceId());
    if (first && !compiled) {
      return Behaviors.same();
    }
    return first
        ? startedWhenReady()
        : Behaviors.same(); // a store restarted after a journal failure: nothing to do
  }

  private Behavior<Command> onCancelFlows(CancelFlows request) {
    java.util.regex.Pattern ofName =
        java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(request.name()) + "-\\d+");
    List<String> told = new java.util.ArrayList<>();
    for (Map.Entry<String, ActorRef<FlowRunner.Command>> flow : flows.entrySet()) {
      // a requested flow (not the start-up's compile flow) of that name, not stopping already
      if (requesters.containsKey(flow.getKey())
          && ofName.matcher(flow.getKey()).matches()
          && !cancelling.containsKey(flow.getKey())) {
        cancelling.put(flow.getKey(), request.reason());
        context.stop(flow.getValue());
        told.add(flow.getKey());
      }
    }
    request.replyTo().tell(new CancelledFlows(List.copyOf(told)));
    return Behaviors.same();
  }

  private Behavior<Command> onEarlyRequest(Command request) {
    stash.stash(request);
    return Behaviors.same();
  }

  private Behavior<Command> onRetryStartup() {
    startCompile();
    return Behaviors.same();
  }

  private Behavior<Command> onEarlyRunFlow(RunFlow<?> request) {
    if (stash.isFull()) {
      context
          .getLog()
          .warn(
              "Sequencer still starting and {} flows waiting: refusing flow {}",
              stash.size(),
              request.name());
      request
          .replyTo()
          .tell(
              new FlowResult.Failed(
                  request.name(),
                  "sequencer is still starting and its waiting "
                      + "list is full; submit again later",
                  FlowResult.FlowStats.NONE));
    } else {
      stash.stash(request);
    }
    return Behaviors.same();
  }

  @SuppressWarnings(
      "unchecked") // the flow's result type is the requester's; the orchestrator only passes it on
  private Behavior<Command> onRunFlow(RunFlow<?> request) {
    String flowId = request.name() + "-" + (++flowCounter);
    FlowResult.Completed stored = durable == null ? null : stores.restore(flowId, request.name());
    if (stored != null) {
      tally.restored();
      context.getLog().debug("Flow {} completed before: answered from the store", request.name());
      request.replyTo().tell(stored);
      return Behaviors.same();
    }
    requesters.put(flowId, request.replyTo());
    tally.running(requesters.size());
    if (durable != null) {
      names.put(flowId, request.name());
    }
    started(
        flowId,
        context.spawn(
            FlowRunner.create(
                flowId,
                flowCounter,
                runId,
                queue,
                (FlowLogic<Object>) request.logic(),
                flowEnded,
                settings,
                durable),
            actorName(flowId)));
    return Behaviors.same();
  }

  /** A flow's actor name: its id, with what an actor name may not hold (a '/', a space) escaped. */
  private static String actorName(String flowId) {
    return java.net.URLEncoder.encode(flowId, java.nio.charset.StandardCharsets.UTF_8);
  }

  private Behavior<Command> onOutcomeStored(OutcomeStored message) {
    stores.outcomesStored(message.stored());
    return Behaviors.same();
  }

  private Behavior<Command> onGetStoredFlows(GetStoredFlows request) {
    request
        .replyTo()
        .tell(new StoredFlows(stores == null ? List.of() : stores.storedNames(request.names())));
    return Behaviors.same();
  }

  private Behavior<Command> onGetStoreStats(GetStoreStats request) {
    if (stores == null) {
      request.replyTo().tell(new StoreStats(null, 0, 0, 0));
      return Behaviors.same();
    }
    ResultIndex index = stores.results();
    context.pipeToSelf(
        AskPattern.<ResultWriter.Command, ResultWriter.Stats>ask(
            stores.resultWriter(),
            ResultWriter.GetStats::new,
            settings.storeStatsTimeout(),
            context.getSystem().scheduler()),
        (stats, failure) ->
            new ReplyStoreStats(
                request.replyTo(),
                new StoreStats(stats, index.size(), index.bytes(), index.evicted())));
    return Behaviors.same();
  }

  /**
   * A flow's actor stopped while still listed: it failed without sending its outcome (a fault in
   * the flow runner itself; what a flow's logic throws fails the flow normally). Its requester is
   * answered with {@link FlowResult.Failed}, its tasks are withdrawn from the queue, and {@code
   * ended} takes it as it takes any failed flow.
   */
  private Behavior<Command> onFlowStopped(
      FlowStopped stopped, Function<FlowEnded, Behavior<Command>> ended) {
    if (!flows.containsKey(stopped.flowId())) {
      return Behaviors.same(); // it ended first, as it should
    }
    String cancelled = cancelling.get(stopped.flowId());
    String reason;
    if (cancelled != null) {
      stoppedByCancel.add(stopped.flowId());
      reason = "cancelled: " + cancelled;
      context
          .getLog()
          .info(
              "Flow {} cancelled ({}): its tasks are withdrawn from the queue",
              stopped.flowId(),
              cancelled);
    } else {
      reason =
          "the flow's actor stopped without an outcome (its failure is logged just before this"
              + " line)";
      context.getLog().error("Flow {} failed: {}", stopped.flowId(), reason);
    }
    queue.tell(new QueueCommand.CancelFlow(stopped.flowId()));
    return ended.apply(
        new FlowEnded(new FlowResult.Failed(stopped.flowId(), reason, FlowResult.FlowStats.NONE)));
  }

  private Behavior<Command> onFlowEnded(FlowEnded ended) {
    FlowResult result = ended.result();
    flows.remove(result.flowId());
    cancelling.remove(result.flowId());
    boolean cancelled = stoppedByCancel.remove(result.flowId());
    ActorRef<FlowResult> requester = requesters.remove(result.flowId());
    tally.running(requesters.size());
    String name = names.remove(result.flowId());
    if (result instanceof FlowResult.Completed done) {
      tally.completed(done);
      if (name != null && stores.storeOutcome(name, done, requester)) {
        return Behaviors.same(); // told once stored
      }
    } else if (cancelled) {
      tally.cancelled((FlowResult.Failed) result); // nor stored
    } else {
      tally.failed((FlowResult.Failed) result); // never stored: a later run of that name runs again
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
    leavingQueueNodes.remove(lost.address() + "#" + lost.uid());
    lastLoss = lost.address();
    lastLossAt = System.nanoTime();
    context
        .getLog()
        .info(
            "Queue node {} left: {} flow(s){} re-send their pending tasks",
            lost.address(),
            flows.size(),
            registration == null ? "" : " and the registration loop");
    flows.values().forEach(flow -> flow.tell(lost));
    if (registration != null) {
      registration.tell(lost);
    }
    return Behaviors.same();
  }

  /** Passed on to every flow and the registration loop ({@link QueueNodeLeaving}). */
  private Behavior<Command> onQueueNodeLeaving(QueueNodeLeaving leaving) {
    String member = leaving.address() + "#" + leaving.uid();
    if (lostQueueNodes.contains(member)) {
      return Behaviors.same(); // removed already: told late by another sequencer node's watcher
    }
    if (leaving.address().equals(context.getSystem().address().toString())) {
      // this sequencer's own node (roles sequencer and queue): the sequencer and its flows leave
      // with it, and the successor's watcher tells it of this node
      return Behaviors.same();
    }
    if (leavingQueueNodes.put(member, leaving) == null) {
      if (leavingQueueNodes.size() > LOST_NODES_REMEMBERED) {
        leavingQueueNodes.remove(leavingQueueNodes.keySet().iterator().next());
      }
      context
          .getLog()
          .info(
              "Queue node {} leaves: its queue entities move to another queue node; what {} flow(s)"
                  + "{} find missing meanwhile is sent again, all their pending tasks once it is"
                  + " removed",
              leaving.address(),
              flows.size(),
              registration == null ? "" : " and the registration loop");
    }
    flows.values().forEach(flow -> flow.tell(leaving));
    if (registration != null) {
      registration.tell(leaving);
    }
    return Behaviors.same();
  }

  /**
   * Asks every running flow for its progress (a child gathers the answers) and answers with the
   * counts.
   */
  private Behavior<Command> onGetFlows(GetFlows request) {
    List<ActorRef<FlowRunner.Command>> listed = new ArrayList<>();
    for (Map.Entry<String, ActorRef<FlowRunner.Command>> flow : flows.entrySet()) {
      if (requesters.containsKey(flow.getKey()) && listed.size() < FlowsView.LISTED) {
        listed.add(flow.getValue());
      }
    }
    FlowsView counts = tally.counts(runId, registration != null);
    List<String> problems = problems();
    FlowsView answer = problems.isEmpty() ? counts : counts.withProblems(problems);
    ActorRef<FlowsView.FlowProgress> gather =
        context.spawnAnonymous(
            Gather.create(
                FlowsView.FlowProgress.class,
                listed.size(),
                settings.progressTimeout(),
                answer::withFlows,
                request.replyTo())); // an overloaded flow is left out of the list, which is normal
    listed.forEach(flow -> flow.tell(new FlowRunner.GetProgress(gather)));
    return Behaviors.same();
  }

  private Behavior<Command> onStop() {
    tally.close();
    return Behaviors.same();
  }

  private Behavior<Command> onGetStatus(GetStatus request) {
    request
        .replyTo()
        .tell(
            tally.status(
                runId, registration != null && whenStarted.isDone(), registration, problems()));
    return Behaviors.same();
  }

  /** The stores' problems first, then those the parts beside the sequencer registered. */
  private List<String> problems() {
    List<String> problems = new ArrayList<>(NodeProblems.get(context.getSystem()).current());
    if (stores != null) {
      problems.addAll(0, stores.problems());
    }
    return problems;
  }

  private Behavior<Command> onReplyStoreStats(ReplyStoreStats reply) {
    reply.replyTo().tell(reply.stats());
    return Behaviors.same();
  }
}
