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
 * registration loop) and afterwards one {@link FlowRunner} per unit of proving work. Every task it enqueues carries its
 * run id, a fresh one per incarnation and ordered by start time ({@link RunIds}), so results of an earlier run are
 * dropped and workers can tell a newer run from an older one. A failed flow is reported to its requester and logged;
 * the sequencer keeps running.
 *
 * <p>When a queue node is gone ({@link QueueNodeLost}, told by the cluster deployment) it tells every running flow
 * and the registration loop, which send their pending tasks again: the entities of that node start again empty.
 *
 * <p>With {@code prover.persistence.enabled} it keeps two durable stores as children (so they move with it when it is
 * a cluster singleton): the task results by content key, which its flows read and write ({@link FlowRunner.Durable}), and
 * the outcomes of completed flows by the flow's name. A flow whose name completed before is answered from the store
 * at once, without running; a flow's completion is told to its requester only once its outcome is stored. Flows wait
 * (stashed with start-up) until both stores have recovered.
 */
public final class ProvingOrchestrator {

  public interface Command {}

  /**
   * Runs a flow once start-up is done (requests that arrive earlier wait). Carries code, so it never crosses a node:
   * the block producer that sends it lives beside the sequencer.
   */
  public record RunFlow<R>(String name, FlowLogic<R> logic, ActorRef<FlowResult> replyTo)
      implements Command, NoSerializationVerificationNeeded {}

  public record GetStatus(ActorRef<Status> replyTo) implements Command, CborSerializable {}

  /** Which of these flow names have a stored outcome (durability on; otherwise none)? Answered after start-up. */
  public record GetStoredFlows(List<String> names, ActorRef<StoredFlows> replyTo)
      implements Command, CborSerializable {}

  /** @param names the asked names with a stored outcome, in the order asked */
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
   * @param flowsRestored flows answered from the flow-outcome store without running (durability on)
   * @param tasksReused tasks of completed flows that completed without running: found in the result store, or
   *     computed by another flow (durability on)
   */
  public record Status(
      String runId,
      boolean started,
      int flowsRunning,
      int flowsCompleted,
      int flowsFailed,
      ActorRef<WorkerRegistrationFlow.Command> registration,
      int flowsRestored,
      long tasksReused)
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
      implements Command, FlowRunner.Command, WorkerRegistrationFlow.Command, CborSerializable {}

  private record FlowEnded(FlowResult result) implements Command, CborSerializable {}

  private record StoreRecovered(ResultStore.Recovered recovered) implements Command, CborSerializable {}

  private record OutcomeStored(ResultWriter.Stored stored) implements Command, CborSerializable {}

  private record ReplyStoreStats(ActorRef<StoreStats> replyTo, StoreStats stats)
      implements Command, CborSerializable {}

  /** A completed flow whose outcome is being stored; told to its requester when the store confirms it. */
  private record Storing(ActorRef<FlowResult> requester, FlowResult.Completed completed) {}

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
  private final Map<String, ActorRef<FlowRunner.Command>> flows = new LinkedHashMap<>();
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
  private final StoreSettings storeSettings;
  /** Null when durability is off, and until start-up is done (it needs the registration parameters' digest). */
  private FlowRunner.Durable durable;
  private final ResultIndex results;
  /** Flow outcomes are stored under "name @digest": a name proven under other registration parameters runs again. */
  private String outcomeSuffix = "";
  private final ResultIndex flowOutcomes;
  private final ActorRef<ResultWriter.Command> outcomeWriter;
  private final ActorRef<ResultWriter.Command> resultWriter;
  private final ContentKeys keys;
  private final ActorRef<ResultWriter.Stored> outcomeStored;
  /** Stores that have recovered at least once; flows run when all have. */
  private final Set<String> storesRecovered = new LinkedHashSet<>();
  private int storesExpected;
  /** The names of running flows by flow id (durability on): their outcomes are stored under it. */
  private final Map<String, String> names = new HashMap<>();
  private final Map<Long, Storing> storing = new HashMap<>();
  private long storeToken;
  /** Registration parameters once circuits are compiled; start-up ends when the stores are ready too. */
  private Object parameters;
  private boolean compiled;
  private int restored;
  private long tasksReused;

  /**
   * @param whenStarted completed with the registration parameters once start-up is done (a local hook for the node
   *     assembly; may be a fresh future nobody reads)
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, StartupPlan<?, ?> plan, CompletableFuture<Object> whenStarted) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(ProvingOrchestrator.class); // not a Pekko logger, which a node's logback keeps at WARN
          return Behaviors.withTimers(
              timers ->
                  Behaviors.withStash(
                      10_000,
                      stash -> new ProvingOrchestrator(context, timers, stash, queue, plan, whenStarted).startingUp()));
        });
  }

  private ProvingOrchestrator(
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
    this.storeSettings = StoreSettings.fromConfig(context.getSystem().settings().config());
    if (storeSettings.enabled()) {
      ActorRef<ResultStore.Recovered> recovered =
          context.messageAdapter(ResultStore.Recovered.class, StoreRecovered::new);
      this.results = new ResultIndex();
      ActorRef<ResultStore.Command> resultStore = context.spawn(ResultStore.create(
          storeSettings.resultsId(), storeSettings, storeSettings.results(), results, recovered), "result-store");
      this.resultWriter = context.spawn(
          ResultWriter.create(resultStore, storeSettings.resultsId(), storeSettings), "result-writer");
      this.flowOutcomes = new ResultIndex();
      ActorRef<ResultStore.Command> outcomeStore = context.spawn(ResultStore.create(
              storeSettings.flowsId(), storeSettings, storeSettings.flows(), flowOutcomes, recovered),
          "flow-outcome-store");
      this.outcomeWriter = context.spawn(
          ResultWriter.create(outcomeStore, storeSettings.flowsId(), storeSettings), "flow-outcome-writer");
      this.keys = new ContentKeys(context.getSystem());
      this.outcomeStored = context.messageAdapter(ResultWriter.Stored.class, OutcomeStored::new);
      this.storesExpected = 2;
      context.getLog().info("Sequencer run {} starting: compiling circuits and recovering the result stores from {}",
          runId, storeSettings.database());
    } else {
      this.resultWriter = null;
      this.results = null;
      this.flowOutcomes = null;
      this.outcomeWriter = null;
      this.keys = null;
      this.outcomeStored = null;
      context.getLog().info("Sequencer run {} starting: compiling circuits", runId);
    }
    startCompile();
  }

  private void startCompile() {
    startupAttempts++;
    String flowId = COMPILE_FLOW + "-" + startupAttempts;
    flows.put(flowId,
        context.spawn(FlowRunner.create(flowId, runId, queue, plan.compileFlow(), flowEnded, resendAfter), flowId));
  }

  private Behavior<Command> startingUp() {
    return Behaviors.receive(Command.class)
        .onMessage(FlowEnded.class, this::onStartupEnded)
        .onMessageEquals(RetryStartup.INSTANCE, this::onRetryStartup)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetFlows.class, this::onGetFlows)
        .onMessage(RunFlow.class, this::onEarlyRunFlow)
        .onMessage(GetStoredFlows.class, this::onEarlyRequest)
        .onMessage(QueueNodeLost.class, this::onQueueNodeLost)
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
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetFlows.class, this::onGetFlows)
        .onMessage(QueueNodeLost.class, this::onQueueNodeLost)
        .onMessage(GetStoredFlows.class, this::onGetStoredFlows)
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
      registration = context.spawn(WorkerRegistrationFlow.create(queue, runId, parameters), "worker-registration");
      return startedWhenReady();
    }
    FlowResult.Failed failure = (FlowResult.Failed) ended.result();
    context.getLog().error(
        "Circuit compilation failed (attempt {}): {}; retrying in {}", startupAttempts, failure.reason(),
        STARTUP_RETRY);
    timers.startSingleTimer(RetryStartup.INSTANCE, STARTUP_RETRY);
    return Behaviors.same();
  }

  /** Start-up ends once circuits are compiled and (durability on) both stores have recovered. */
  private Behavior<Command> startedWhenReady() {
    if (!compiled || storesRecovered.size() < storesExpected) {
      return Behaviors.same();
    }
    if (results != null) {
      String digest;
      try {
        digest = keys.digest(parameters);
      } catch (RuntimeException e) {
        throw new IllegalStateException("the registration parameters cannot be serialised, so results cannot be "
            + "stored under them: " + e, e);
      }
      durable = new FlowRunner.Durable(results, resultWriter, digest);
      outcomeSuffix = " @" + digest.substring(0, 16);
    }
    context.getLog().info("Sequencer run {} started: circuits compiled, registration loop running{}", runId,
        results == null ? "" : ", " + results.size() + " stored result(s) and " + flowOutcomes.size()
            + " stored flow outcome(s) in " + storeSettings.database());
    whenStarted.complete(parameters);
    return stash.unstashAll(running());
  }

  private Behavior<Command> onStoreRecovered(StoreRecovered message) {
    boolean first = storesRecovered.add(message.recovered().persistenceId());
    if (first && !compiled) {
      return Behaviors.same();
    }
    return first ? startedWhenReady() : Behaviors.same(); // a store restarted after a journal failure: nothing to do
  }

  private Behavior<Command> onEarlyRequest(Command request) {
    stash.stash(request);
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
          + "list is full; submit again later", FlowResult.FlowStats.NONE));
    } else {
      stash.stash(request);
    }
    return Behaviors.same();
  }

  @SuppressWarnings({"rawtypes", "unchecked"})
  private Behavior<Command> onRunFlow(RunFlow request) {
    String flowId = request.name() + "-" + (++flowCounter);
    if (durable != null && replyFromStore(flowId, request)) {
      return Behaviors.same();
    }
    requesters.put(flowId, request.replyTo());
    running.set(requesters.size());
    if (durable != null) {
      names.put(flowId, request.name());
    }
    flows.put(flowId, context.spawn(
        FlowRunner.create(flowId, runId, queue, (FlowLogic<Object>) request.logic(), flowEnded, resendAfter, durable),
        actorName(flowId)));
    return Behaviors.same();
  }

  /** A flow's actor name: its id, with what an actor name may not hold (a '/', a space) escaped. */
  private static String actorName(String flowId) {
    return java.net.URLEncoder.encode(flowId, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** A flow whose name completed before: its stored outcome, at once. False when there is none (or it is unreadable). */
  @SuppressWarnings("rawtypes")
  private boolean replyFromStore(String flowId, RunFlow request) {
    StoredResult stored = flowOutcomes.lookup(request.name() + outcomeSuffix);
    if (stored == null) {
      return false;
    }
    Object result;
    try {
      result = keys.fromStored(stored);
    } catch (RuntimeException e) {
      context.getLog().warn("The stored outcome of flow {} does not deserialise ({}): running it again",
          request.name(), e.toString());
      return false;
    }
    restored++;
    completed++;
    context.getLog().debug("Flow {} completed before: answered from the store", request.name());
    request.replyTo().tell(new FlowResult.Completed(flowId, result, FlowResult.FlowStats.NONE, true));
    return true;
  }

  /** Stores a completed flow's outcome under its name; its requester hears of it once it is stored. */
  private boolean storeOutcome(String name, FlowResult.Completed done, ActorRef<FlowResult> requester) {
    StoredResult stored;
    try {
      stored = keys.toStored(name + outcomeSuffix, "flow", done.result());
    } catch (RuntimeException e) {
      context.getLog().warn("Flow {}'s result cannot be serialised ({}): not stored, so a later run of that name "
          + "runs again", name, e.toString());
      return false;
    }
    long token = ++storeToken;
    storing.put(token, new Storing(requester, done));
    outcomeWriter.tell(new ResultWriter.Put(stored, outcomeStored, token));
    return true;
  }

  private Behavior<Command> onOutcomeStored(OutcomeStored message) {
    for (Long token : message.stored().tokens()) {
      Storing done = storing.remove(token);
      if (done != null && done.requester() != null) {
        done.requester().tell(done.completed());
      }
    }
    return Behaviors.same();
  }

  private Behavior<Command> onGetStoredFlows(GetStoredFlows request) {
    List<String> found = new ArrayList<>();
    if (flowOutcomes != null) {
      for (String name : request.names()) {
        if (flowOutcomes.lookup(name + outcomeSuffix) != null) {
          found.add(name);
        }
      }
    }
    request.replyTo().tell(new StoredFlows(found));
    return Behaviors.same();
  }

  private Behavior<Command> onGetStoreStats(GetStoreStats request) {
    if (results == null) {
      request.replyTo().tell(new StoreStats(null, 0, 0, 0));
      return Behaviors.same();
    }
    ResultIndex index = results;
    context.pipeToSelf(
        org.apache.pekko.actor.typed.javadsl.AskPattern.<ResultWriter.Command, ResultWriter.Stats>ask(
            resultWriter, ResultWriter.GetStats::new, Duration.ofSeconds(5), context.getSystem().scheduler()),
        (stats, failure) -> new ReplyStoreStats(request.replyTo(),
            new StoreStats(stats, index.size(), index.bytes(), index.evicted())));
    return Behaviors.same();
  }

  private Behavior<Command> onFlowEnded(FlowEnded ended) {
    FlowResult result = ended.result();
    flows.remove(result.flowId());
    ActorRef<FlowResult> requester = requesters.remove(result.flowId());
    running.set(requesters.size());
    String name = names.remove(result.flowId());
    if (result instanceof FlowResult.Completed done) {
      completed++;
      completedCounter.increment();
      tasksReused += done.stats().reused();
      if (name != null && storeOutcome(name, done, requester)) {
        return Behaviors.same(); // told once stored
      }
    } else {
      failed++; // never stored: a later run of that name runs again
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
    List<ActorRef<FlowRunner.Command>> listed = new ArrayList<>();
    for (Map.Entry<String, ActorRef<FlowRunner.Command>> flow : flows.entrySet()) {
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
        List<ActorRef<FlowRunner.Command>> flows, FlowsView counts, ActorRef<FlowsView> replyTo) {
      return Behaviors.<Object>setup(context -> Behaviors.withTimers(timers -> {
        List<FlowsView.FlowProgress> answers = new ArrayList<>();
        if (flows.isEmpty()) {
          replyTo.tell(counts);
          return Behaviors.stopped();
        }
        ActorRef<FlowsView.FlowProgress> self = context.getSelf().narrow();
        flows.forEach(flow -> flow.tell(new FlowRunner.GetProgress(self)));
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
    request.replyTo().tell(new Status(runId, registration != null && whenStarted.isDone(), requesters.size(),
        completed, failed, registration, restored, tasksReused));
    return Behaviors.same();
  }

  private Behavior<Command> onReplyStoreStats(ReplyStoreStats reply) {
    reply.replyTo().tell(reply.stats());
    return Behaviors.same();
  }
}
