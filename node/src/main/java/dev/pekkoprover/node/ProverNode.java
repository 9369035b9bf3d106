package dev.pekkoprover.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.sequencer.ProvingOrchestrator;
import dev.pekkoprover.sequencer.StartupPlan;
import dev.pekkoprover.sequencer.WorkerRegistrationFlow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The public API to assemble a node in code: which parts it runs (queue, sequencer, workers), which
 * task types its workers serve, and a way to wait until it is ready and to run flows. The reference
 * appchain and the launcher use this and nothing private.
 *
 * <pre>{@code
 * ProverNode node = ProverNode.builder("appchain")
 *     .catalog(TaskCatalog.of(myTypes))
 *     .localQueue()
 *     .sequencer(StartupPlan.of(compileType, requests, results -> keys))
 *     .workers(WorkerGroup.allTypes(2, 4))
 *     .start();
 * node.ready().toCompletableFuture().join();
 * R root = node.run("block-1", logic).toCompletableFuture().join();
 * }</pre>
 */
public final class ProverNode implements AutoCloseable {

  /** How long edge calls (stats, status, spawning a worker) wait for an answer. */
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);

  /**
   * A flow takes as long as its proving (hours for a large batch); its failures come back as
   * FlowResult.Failed, so this bound only guards against a sequencer that vanished.
   */
  private static final Duration FLOW_TIMEOUT = Duration.ofDays(7);

  private final ActorSystem<NodeGuardian.Command> system;
  private final NodeGuardian.Started started;
  private final CompletableFuture<Void> ready;
  private final TaskCatalog catalog;
  private final String nodeId;
  private final Deployment deployment;

  /** The parts this node runs, as roles (in a cluster: its cluster roles). */
  private final List<String> localRoles;

  private NodeEndpoints.Urls endpoints;
  private final java.util.concurrent.atomic.AtomicReference<Route> mounted =
      new java.util.concurrent.atomic.AtomicReference<>(Directives.reject());
  private int workerCounter;

  /**
   * True once the actor system has terminated; false if that stalled past its bound ({@link
   * Termination}).
   */
  private final CompletableFuture<Boolean> ended;

  /**
   * What an application still does before this node takes traffic ({@link Builder#holdReadiness}),
   * in the order given; {@code /health/ready} names the first.
   */
  private final List<String> readinessHolds = new java.util.concurrent.CopyOnWriteArrayList<>();

  private ProverNode(
      ActorSystem<NodeGuardian.Command> system,
      NodeGuardian.Started started,
      TaskCatalog catalog,
      int workers,
      Deployment deployment,
      List<String> localRoles) {
    this.nodeId = started.nodeId();
    this.system = system;
    this.started = started;
    this.catalog = catalog;
    this.workerCounter = workers;
    this.deployment = deployment;
    this.localRoles = localRoles;
    CompletableFuture<?> sequencerStarted =
        started.sequencerStarted() == null
            ? CompletableFuture.completedFuture(null)
            : started.sequencerStarted();
    this.ready = CompletableFuture.allOf(sequencerStarted, started.workersReady());
    this.ended = Termination.of(system);
  }

  public static Builder builder(String name) {
    return new Builder(name);
  }

  public ActorSystem<?> system() {
    return system;
  }

  /** Names this node's workers ({@code <nodeId>-w1}, ...); see {@link Builder#nodeId}. */
  public String nodeId() {
    return nodeId;
  }

  public ActorRef<QueueCommand> queue() {
    return started.queue();
  }

  /**
   * Completes when start-up is done (if this node runs the sequencer) and every local worker is
   * Ready.
   */
  public CompletionStage<Void> ready() {
    return ready;
  }

  /** The registration parameters the sequencer distributed, once start-up is done. */
  public CompletionStage<Object> registrationParameters() {
    if (started.sequencerStarted() == null) {
      throw new IllegalStateException("this node runs no sequencer");
    }
    return started.sequencerStarted();
  }

  /**
   * Runs a flow on this node's sequencer; completes with its root or fails with {@link
   * FlowFailedException}.
   */
  @SuppressWarnings("unchecked")
  public <R> CompletionStage<R> run(String name, FlowLogic<R> logic) {
    return runWithStats(name, logic).thenApply(done -> (R) done.result());
  }

  /**
   * True on a standby: a cluster node with role sequencer on which the sequencer singleton does not
   * run now (it runs on the oldest node with that role; this node's flows wait until it takes
   * over). Also true on the node the singleton is about to start on, until it has started (at the
   * node's start, and between a sequencer's stop and its restart or hand-over). False in one JVM,
   * on nodes without the role, and while the sequencer runs here.
   */
  public boolean standingBy() {
    LocalSequencer local = started.localSequencer();
    return local != null && !local.whenHere().isDone();
  }

  /**
   * A {@link #runWithStats} that waits for the sequencer to run on this node (a standby's) and has
   * not reached it yet: {@link #cancel} ends it here, before its flow ever starts.
   */
  private record WaitingRun(String name, CompletableFuture<FlowResult.Completed> outcome) {}

  /** The runs waiting for this node to take the sequencer over, by identity. */
  private final java.util.Set<WaitingRun> waitingRuns =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * Like {@link #run} but yields the whole completion, with the flow's counters.
   *
   * <p>In a cluster the flow runs on the sequencer in this JVM (its logic is code, which cannot
   * cross nodes): on a node with role sequencer that does not host the sequencer now (a standby),
   * it waits, with one INFO line, until this node takes over.
   */
  public <R> CompletionStage<FlowResult.Completed> runWithStats(String name, FlowLogic<R> logic) {
    ActorRef<ProvingOrchestrator.Command> sequencer = requireSequencer();
    LocalSequencer local = started.localSequencer();
    CompletionStage<ActorRef<ProvingOrchestrator.Command>> here;
    if (local == null) {
      here = CompletableFuture.completedFuture(sequencer);
    } else {
      // a dependent stage, so that its timeout leaves the shared future alone
      CompletableFuture<ActorRef<ProvingOrchestrator.Command>> waiting =
          local.whenHere().thenApply(instance -> instance);
      here = waiting.orTimeout(FLOW_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      if (!waiting.isDone()) {
        org.slf4j.LoggerFactory.getLogger(ProverNode.class)
            .info(
                "Flow {} waits for the sequencer to run on this node: it runs on the oldest node"
                    + " with role sequencer, so on a standby only once that one leaves or is downed",
                name);
      }
    }
    WaitingRun waiting =
        here.toCompletableFuture().isDone()
            ? null
            : new WaitingRun(name, new CompletableFuture<>());
    if (waiting != null) {
      waitingRuns.add(waiting);
    }
    CompletionStage<FlowResult> result =
        here.thenCompose(
            instance -> {
              if (waiting != null && !waitingRuns.remove(waiting)) {
                return new CompletableFuture<>(); // cancelled while it waited: never sent
              }
              return AskPattern.ask(
                  instance,
                  (ActorRef<FlowResult> replyTo) ->
                      new ProvingOrchestrator.RunFlow<>(name, logic, replyTo),
                  FLOW_TIMEOUT,
                  system.scheduler());
            });
    CompletionStage<FlowResult.Completed> completed =
        result.thenApply(
            outcome -> {
              if (outcome instanceof FlowResult.Failed failed) {
                throw new FlowFailedException(failed.flowId(), failed.reason());
              }
              return (FlowResult.Completed) outcome;
            });
    if (waiting == null) {
      return completed;
    }
    completed.whenComplete(
        (done, error) -> {
          waitingRuns.remove(waiting); // the wait timed out, or the flow ran
          if (error != null) {
            waiting.outcome().completeExceptionally(error);
          } else {
            waiting.outcome().complete(done);
          }
        });
    return waiting.outcome();
  }

  /**
   * Cancels this node's running flows of {@code name} ({@link #run} calls not yet answered): each
   * one's stage fails with {@link FlowFailedException} whose reason is {@code cancelled: <reason>},
   * its tasks are withdrawn from the queue (waiting ones dropped, computes running them told to
   * stop), and it counts as cancelled ({@code prover_flows_cancelled_total}), not as a failed flow.
   * A flow waits for workers without a deadline (a type no worker serves waits until one comes):
   * this is how a caller bounds that wait, e.g. after {@code get(timeout, unit)} on its stage timed
   * out. A flow that ends on its own meanwhile keeps its outcome. A cancelled flow's outcome is not
   * stored, so running the name again runs it; with durability on, its tasks' results stored before
   * the cancel are reused then.
   *
   * <p>On a standby, the runs of that name that wait for this node to take the sequencer over fail
   * the same way at once (their flow id is the name: they never reached a sequencer) and are never
   * sent. While the sequencer starts here (its circuits compile), the cancel waits for the start,
   * as the flows do.
   *
   * @param reason said in the flow's failure and in the sequencer's log line
   * @return the ids of the flows told to stop, oldest first, after the name once for each run that
   *     had not reached the sequencer; empty when none of that name runs or waits here
   */
  public CompletionStage<List<String>> cancel(String name, String reason) {
    ActorRef<ProvingOrchestrator.Command> sequencer = requireSequencer();
    List<String> notSent = new ArrayList<>();
    for (WaitingRun waiting : waitingRuns) {
      if (waiting.name().equals(name) && waitingRuns.remove(waiting)) {
        waiting
            .outcome()
            .completeExceptionally(new FlowFailedException(name, "cancelled: " + reason));
        notSent.add(name);
      }
    }
    LocalSequencer local = started.localSequencer();
    if (local != null && !local.whenHere().isDone()) {
      return CompletableFuture.completedFuture(List.copyOf(notSent));
    }
    CompletionStage<ActorRef<ProvingOrchestrator.Command>> instance =
        local == null ? CompletableFuture.completedFuture(sequencer) : local.whenHere();
    // a flow sent during start-up waits in the sequencer for its start: so does this
    CompletionStage<?> startedHere =
        started.sequencerStarted() == null
            ? CompletableFuture.completedFuture(null)
            : started.sequencerStarted();
    return startedHere
        .thenCompose(ignored -> instance)
        .thenCompose(
            here ->
                AskPattern.<ProvingOrchestrator.Command, ProvingOrchestrator.CancelledFlows>ask(
                    here,
                    replyTo -> new ProvingOrchestrator.CancelFlows(name, reason, replyTo),
                    ASK_TIMEOUT,
                    system.scheduler()))
        .thenApply(
            cancelled -> {
              List<String> all = new ArrayList<>(notSent);
              all.addAll(cancelled.flowIds());
              return List.copyOf(all);
            });
  }

  public CompletionStage<QueueStats> queueStats() {
    return AskPattern.ask(
        started.queue(), QueueCommand.GetStats::new, ASK_TIMEOUT, system.scheduler());
  }

  /**
   * The fleet as the queue sees it (every entity of the cluster's queue, merged): workers, types,
   * failures.
   */
  public CompletionStage<FleetView> fleet() {
    return AskPattern.ask(
        started.queue(), QueueCommand.GetFleet::new, ASK_TIMEOUT, system.scheduler());
  }

  /**
   * Which of these flow names have a stored outcome, so that running them returns at once
   * (durability on, {@code prover.persistence}; otherwise none). Answered once start-up is done.
   */
  public CompletionStage<List<String>> storedFlows(List<String> names) {
    return AskPattern.<ProvingOrchestrator.Command, ProvingOrchestrator.StoredFlows>ask(
            requireSequencer(),
            replyTo -> new ProvingOrchestrator.GetStoredFlows(List.copyOf(names), replyTo),
            ASK_TIMEOUT,
            system.scheduler())
        .thenApply(ProvingOrchestrator.StoredFlows::names);
  }

  /**
   * The result store's counters: results held, writes and their batch sizes and latency (durability
   * on).
   */
  public CompletionStage<ProvingOrchestrator.StoreStats> storeStats() {
    return AskPattern.ask(
        requireSequencer(),
        ProvingOrchestrator.GetStoreStats::new,
        ASK_TIMEOUT,
        system.scheduler());
  }

  public CompletionStage<ProvingOrchestrator.Status> sequencerStatus() {
    return AskPattern.ask(
        requireSequencer(), ProvingOrchestrator.GetStatus::new, ASK_TIMEOUT, system.scheduler());
  }

  /**
   * The registration loop's counters (how many workers registered, how many tasks are on offer).
   */
  public CompletionStage<WorkerRegistrationFlow.Status> registrationStatus() {
    return sequencerStatus()
        .thenCompose(
            status -> {
              if (status.registration() == null) {
                return CompletableFuture.completedFuture(
                    new WorkerRegistrationFlow.Status(0, false, 0, List.of()));
              }
              return AskPattern.ask(
                  status.registration(),
                  WorkerRegistrationFlow.GetStatus::new,
                  ASK_TIMEOUT,
                  system.scheduler());
            });
  }

  /**
   * The base URL of this node's HTTP endpoints ({@code /metrics}, {@code /status}, {@code
   * /health/alive}, {@code /health/ready}), or empty when {@code prover.http.enabled} is off.
   */
  public java.util.Optional<String> httpUrl() {
    return java.util.Optional.ofNullable(endpoints).map(NodeEndpoints.Urls::base);
  }

  /**
   * Serves {@code routes} on this node's HTTP server after its own ({@code /status}, {@code
   * /metrics}, health, dashboard), behind the same guard (token or client certificate when one is
   * configured) and over the same TLS: what an application adds, such as the appchain service's
   * transaction API. A later call replaces the routes of an earlier one. Without HTTP ({@code
   * prover.http.enabled = off}) nothing is served.
   *
   * @throws IllegalStateException when the node serves no HTTP
   */
  public void mount(Route routes) {
    if (endpoints == null) {
      throw new IllegalStateException(
          "node " + address() + " serves no HTTP (prover.http.enabled = off): nothing to mount on");
    }
    mounted.set(routes);
  }

  /**
   * Ends a hold the node started with ({@link Builder#holdReadiness}): once none is left (and the
   * worker-ready gate is open, and in a cluster the member is Up) {@code /health/ready} answers
   * 200. Releasing a hold twice, or one never given, changes nothing.
   */
  public void releaseReadiness(String waitingFor) {
    readinessHolds.remove(waitingFor);
  }

  /** The logger of {@link #endpointsLine} at a node's start, INFO. */
  public static final String ENDPOINTS_LOGGER = "dev.pekkoprover.node.Endpoints";

  /** The one start-up line naming this node's endpoint URLs, or a line saying they are off. */
  public String endpointsLine() {
    return endpoints == null
        ? "endpoints of node " + address() + ": off (prover.http.enabled = off)"
        : "endpoints of node " + address() + ": " + endpoints.describe();
  }

  /**
   * Ready for traffic ({@code /health/ready}): the node is not shutting down, in a cluster this
   * member is Up (said first: a node outside its cluster reads as that, not as workers that are not
   * Ready yet), the worker-ready gate is open (every local worker was Ready once; at once on a node
   * without workers), and no application's hold is left ({@link Builder#holdReadiness}).
   */
  NodeStatus.Readiness readiness() {
    var shutdown = CoordinatedShutdown.get(system).getShutdownReason();
    if (shutdown.isPresent()) {
      return new NodeStatus.Readiness(
          false,
          "the node is shutting down ("
              + shutdownCause(shutdown.get())
              + "): it takes no new work");
    }
    if (deployment == Deployment.CLUSTER) { // first: a worker cannot be Ready outside a cluster
      var status = Cluster.get(system).selfMember().status();
      if (status == org.apache.pekko.cluster.MemberStatus.removed()) { // before its first join
        return new NodeStatus.Readiness(
            false, "not a member of the cluster yet: joining through its seeds");
      }
      if (status != org.apache.pekko.cluster.MemberStatus.up()) {
        return new NodeStatus.Readiness(false, "cluster member status is " + status + ", not Up");
      }
    }
    if (!started.workersReady().isDone()) {
      return new NodeStatus.Readiness(
          false,
          "the worker-ready gate is closed: not every worker of this node has been Ready yet");
    }
    if (!readinessHolds.isEmpty()) {
      return new NodeStatus.Readiness(false, "waiting for " + readinessHolds.get(0));
    }
    return new NodeStatus.Readiness(true, null);
  }

  /** Why the shutdown began, in a few words for the readiness probe's reason. */
  private static String shutdownCause(CoordinatedShutdown.Reason reason) {
    if (reason == CoordinatedShutdown.jvmExitReason()) {
      return "the JVM exits: a signal, or System.exit";
    }
    if (reason == CoordinatedShutdown.actorSystemTerminateReason()) {
      return "stopped by its application";
    }
    if (reason == CoordinatedShutdown.clusterLeavingReason()) {
      return "a Leave was given for it";
    }
    if (reason == CoordinatedShutdown.clusterDowningReason()) {
      return "downed by the cluster";
    }
    return String.valueOf(reason); // an application's own reason names itself
  }

  /** {@code host:port} in a cluster, the actor system's name in one JVM. */
  String address() {
    return deployment == Deployment.CLUSTER
        ? hostPort(Cluster.get(system).selfMember().address())
        : system.name();
  }

  /** {@link StatusReport.NodeInfo#memberStatus} of a cluster node that has not joined yet. */
  public static final String NOT_JOINED = "not joined";

  /**
   * This node as {@code /status} shows it ({@link StatusReport#node()}): address, roles, readiness
   * and where the sequencer runs.
   */
  public StatusReport.NodeInfo info() {
    List<String> roles = localRoles;
    String memberStatus = "local";
    if (deployment == Deployment.CLUSTER) {
      var self = Cluster.get(system).selfMember();
      roles = self.getRoles().stream().filter(role -> !role.startsWith("dc-")).sorted().toList();
      // Pekko's status of a node that has not joined yet is Removed, which reads as its end
      memberStatus =
          self.status() == org.apache.pekko.cluster.MemberStatus.removed()
                  && CoordinatedShutdown.get(system).getShutdownReason().isEmpty()
              ? NOT_JOINED
              : self.status().toString();
    }
    NodeStatus.Readiness readiness = readiness();
    String sequencer = null;
    String sequencerNode = null;
    if (deployment != Deployment.CLUSTER) {
      sequencer = roles.contains(SEQUENCER_ROLE) ? "active" : null;
    } else {
      // on every node: where a worker's or a queue node's operator looks for it too (a trial)
      Member runsOn = sequencerMember(Cluster.get(system).state());
      sequencerNode = runsOn == null ? null : hostPort(runsOn.address());
      if (roles.contains(SEQUENCER_ROLE)) {
        LocalSequencer local = started.localSequencer();
        MemberStatus status = Cluster.get(system).selfMember().status();
        sequencer =
            sequencerHere(
                standingBy(),
                local != null && local.ranHere(),
                runsOn != null
                    && runsOn
                        .uniqueAddress()
                        .equals(Cluster.get(system).selfMember().uniqueAddress()),
                NOT_JOINED.equals(memberStatus)
                    || status == MemberStatus.joining()
                    || status == MemberStatus.weaklyUp());
      }
    }
    return new StatusReport.NodeInfo(
        address(),
        roles,
        memberStatus,
        readiness.ready(),
        readiness.reason(),
        sequencer,
        sequencerNode);
  }

  /**
   * {@link StatusReport.NodeInfo#sequencer} of a node with role sequencer: {@code active} when the
   * sequencer runs here; {@code stopped} when it ran here and stopped (this node leaves, or the
   * sequencer failed: the singleton does not start again on the same node); {@code starting} when
   * it has not run here yet while this node is the one it runs on next (the oldest with role
   * sequencer: the singleton starts here at a cluster's start, and after the hand-over some seconds
   * after the last one's node was removed); {@code joining} while this node is not Up yet (not
   * joined, Joining or WeaklyUp: a singleton starts only on an Up member, so such a node cannot
   * take over yet); {@code standby} otherwise. A trial read {@code standby} beside its own address
   * as the sequencer's node for 7 s after a takeover's start.
   */
  static String sequencerHere(
      boolean standingBy, boolean ranHere, boolean oldestWithRoleSequencer, boolean notUpYet) {
    if (!standingBy) {
      return "active";
    }
    if (ranHere) {
      return "stopped";
    }
    if (notUpYet) {
      return "joining";
    }
    return oldestWithRoleSequencer ? "starting" : "standby";
  }

  /**
   * The member the sequencer singleton runs on, or is about to start on: the oldest Up or Leaving
   * member with role sequencer (Pekko's rule for a cluster singleton); null when there is none.
   */
  public static Member sequencerMember(ClusterEvent.CurrentClusterState state) {
    Member oldest = null;
    for (Member member : state.getMembers()) {
      if (member.hasRole(SEQUENCER_ROLE)
          && (member.status() == MemberStatus.up() || member.status() == MemberStatus.leaving())
          && (oldest == null || member.isOlderThan(oldest))) {
        oldest = member;
      }
    }
    return oldest;
  }

  private void startHttp(HttpSettings settings, NodeEndpoints.Access access) {
    NodeStatus status =
        new NodeStatus(
            system,
            started.queue(),
            settings.statusTimeout(),
            new NodeStatus.Self() {
              @Override
              public StatusReport.NodeInfo info() {
                return ProverNode.this.info();
              }

              @Override
              public NodeStatus.Readiness readiness() {
                return ProverNode.this.readiness();
              }
            });
    endpoints = NodeEndpoints.start(system, settings, access, status, mounted);
    // its own logger at INFO: the actor system's is Pekko's, which a library's logging (as the
    // launcher's) keeps at WARN, so a trial's library nodes never said their URLs; the launcher
    // prints the line on standard output itself and turns this logger off
    org.slf4j.LoggerFactory.getLogger(ENDPOINTS_LOGGER).info(endpointsLine());
  }

  /** The node's workers by id, in start order. */
  public Map<String, ActorRef<WorkerCommand>> workers() {
    return started.workers();
  }

  /**
   * Starts one more worker on this node (it registers through the loop like any other); returns its
   * id.
   */
  public CompletionStage<String> addWorker(List<String> taskTypes, int concurrency) {
    String workerId = nodeId + "-w" + (++workerCounter);
    return AskPattern.ask(
            system,
            (ActorRef<ActorRef<WorkerCommand>> replyTo) ->
                new NodeGuardian.SpawnWorker(
                    workerId, workerCatalog(catalog, taskTypes), concurrency, replyTo),
            ASK_TIMEOUT,
            system.scheduler())
        .thenApply(ref -> workerId);
  }

  /**
   * Stops a worker for good (not a crash: its supervisor does not restart it); the queue redelivers
   * its tasks.
   */
  public void stopWorker(String workerId) {
    system.tell(new NodeGuardian.StopWorker(workerId));
  }

  private ActorRef<ProvingOrchestrator.Command> requireSequencer() {
    if (started.sequencer() == null) {
      throw new IllegalStateException(
          "this node runs no sequencer: build it with .sequencer(plan)");
    }
    return started.sequencer();
  }

  @Override
  public void close() {
    system.terminate();
    if (!ended.join()) {
      org.slf4j.LoggerFactory.getLogger(ProverNode.class)
          .warn(Termination.stalledLine(system, nodeId));
    }
  }

  /**
   * Completes with true when this node's actor system has terminated, or with false when, once
   * CoordinatedShutdown reached its last phase, the system did not finish terminating within that
   * phase's timeout and a margin, or within {@code prover.cluster.downed-termination-timeout} when
   * the cluster downed the node ({@link Termination}).
   */
  public CompletableFuture<Boolean> ended() {
    return ended;
  }

  static TaskCatalog workerCatalog(TaskCatalog catalog, List<String> taskTypes) {
    return taskTypes.isEmpty() ? catalog : catalog.subset(taskTypes);
  }

  /** Assembles a node. */
  public static final class Builder {
    private final String name;
    private String nodeId;
    private Config config;
    private TaskCatalog catalog;
    private Deployment deployment;
    private StartupPlan<?, ?> plan;
    private final List<WorkerGroup> groups = new ArrayList<>();
    private Route routes;
    private final List<String> readinessHolds = new ArrayList<>();

    private Builder(String name) {
      this.name = name;
    }

    /**
     * Names this node's workers ({@code <nodeId>-w1}, ...); worker ids must be unique across a
     * cluster, whose nodes share one actor system name. Defaults to the node's cluster address
     * {@code host:port} in the cluster deployment (unique among live nodes by construction, also
     * with port 0; a node restarted on the same address reuses its ids, its workers told apart by
     * their incarnation) and to the system name in one JVM.
     */
    public Builder nodeId(String nodeId) {
      this.nodeId = nodeId;
      return this;
    }

    /**
     * Routes served from the moment the HTTP server listens, as {@link ProverNode#mount} serves
     * them later: e.g. an application's API answering "starting" until it is ready, so that a
     * client never sees a 404 for it.
     */
    public Builder mount(Route routes) {
      this.routes = routes;
      return this;
    }

    /**
     * The node starts not ready for traffic until {@link ProverNode#releaseReadiness} with the same
     * text: {@code /health/ready} answers 503 "waiting for {@code waitingFor}" meanwhile (once the
     * worker-ready gate is open and the member is Up). For an application that must do more before
     * its API can answer, such as a service whose state recovers from a journal.
     */
    public Builder holdReadiness(String waitingFor) {
      readinessHolds.add(waitingFor);
      return this;
    }

    /** The node's configuration; defaults to the classpath's application.conf / reference.conf. */
    public Builder config(Config config) {
      this.config = config;
      return this;
    }

    public Builder catalog(TaskCatalog catalog) {
      this.catalog = catalog;
      return this;
    }

    /** Runs the queue in this JVM ({@code LocalTaskQueue}): the single-JVM deployment. */
    public Builder localQueue() {
      this.deployment = Deployment.LOCAL;
      return this;
    }

    /**
     * Joins the cluster deployment: the queue is sharded (entities on nodes with role {@code
     * queue}, this node reaches it through a local front) and the sequencer, if this node runs one,
     * is a cluster singleton on role {@code sequencer}. The configuration must make the actor
     * system a cluster member (see {@code cluster.conf}).
     */
    public Builder clusterQueue() {
      this.deployment = Deployment.CLUSTER;
      return this;
    }

    /**
     * Runs the sequencer here (as a cluster singleton on role {@code sequencer} in the cluster
     * deployment), starting with this plan: compile circuits, then register workers.
     */
    public Builder sequencer(StartupPlan<?, ?> plan) {
      this.plan = plan;
      return this;
    }

    public Builder workers(WorkerGroup group) {
      groups.add(group);
      return this;
    }

    public ProverNode start() {
      if (catalog == null) {
        throw new IllegalStateException("a node needs a TaskCatalog: call .catalog(...)");
      }
      if (deployment == null) {
        throw new IllegalStateException("choose a deployment: .localQueue() or .clusterQueue()");
      }
      Config effective = config == null ? ConfigFactory.load() : config;
      if (plan != null) {
        try {
          ProvingOrchestrator.checkSettings(effective);
        } catch (com.typesafe.config.ConfigException | IllegalArgumentException e) {
          throw new IllegalStateException("the sequencer's settings: " + e.getMessage(), e);
        }
      }
      if (deployment == Deployment.CLUSTER) {
        if (!"cluster".equals(effective.getString("pekko.actor.provider"))) {
          throw new IllegalStateException(
              "the cluster deployment needs pekko.actor.provider = cluster: load cluster.conf");
        }
        if (plan != null
            && !effective.getStringList("pekko.cluster.roles").contains(SEQUENCER_ROLE)) {
          throw new IllegalStateException(
              "this node runs the sequencer, so it needs the role '"
                  + SEQUENCER_ROLE
                  + "' in pekko.cluster.roles");
        }
        if (ClusterTls.enabled(
            effective)) { // else every connection fails later, with a stack trace per attempt
          String problem = ClusterTls.engineFiles(effective).problem();
          if (problem != null) {
            throw new IllegalStateException(
                "the cluster deployment runs Artery over TLS, but "
                    + problem
                    + ": make a node's files with `prover-node keys` and set prover.tls.key-file, cert-file and "
                    + "ca-cert-file (ClusterTls.load), or set pekko.remote.artery.transport = tcp");
          }
        }
        effective = withStatefulRole(effective);
        drainTimeout(effective); // a drain that cannot fit its phase: say so now
        // before the system starts: it tries its seeds at once, and the log filter must know them
        // by the first refused connection
        AbsentSeeds.seeds(WaitingForPeers.seeds(effective));
      }
      List<NodeGuardian.WorkerSpec> workers = new ArrayList<>();
      for (WorkerGroup group : groups) {
        for (int i = 0; i < group.count(); i++) {
          workers.add(
              new NodeGuardian.WorkerSpec(
                  workerCatalog(catalog, group.taskTypes()), group.concurrency()));
        }
      }
      HttpSettings http = HttpSettings.fromConfig(effective);
      // before anything starts: a refused configuration (e.g. a remote address without TLS) starts
      // nothing
      NodeEndpoints.Access access = http.enabled() ? NodeEndpoints.prepare(http) : null;
      CompletableFuture<NodeGuardian.Started> started = new CompletableFuture<>();
      ActorSystem<NodeGuardian.Command> system =
          ActorSystem.create(
              NodeGuardian.create(deployment, catalog, plan, nodeId, workers, effective, started),
              name,
              effective);
      if (deployment == Deployment.CLUSTER) {
        SerializationWarmUp.start(
            system, catalog); // while the node joins: its first messages then cost less
      }
      List<String> roles = new ArrayList<>(List.of(QUEUE_ROLE));
      if (plan != null) {
        roles.add(0, SEQUENCER_ROLE);
      }
      if (!workers.isEmpty()) {
        roles.add("worker");
      }
      ProverNode node =
          new ProverNode(system, started.join(), catalog, workers.size(), deployment, roles);
      node.readinessHolds.addAll(readinessHolds);
      if (http.enabled()) {
        try {
          if (routes != null) {
            node.mounted.set(routes);
          }
          node.startHttp(http, access);
        } catch (RuntimeException e) {
          node.close();
          throw e;
        }
      }
      return node;
    }
  }

  /**
   * Adds the role {@code stateful} to a node with role sequencer or queue: the split-brain resolver
   * counts only those nodes ({@code keep-majority.role} in cluster.conf), so stateless workers
   * never outvote them.
   */
  static Config withStatefulRole(Config config) {
    List<String> roles = new ArrayList<>(config.getStringList("pekko.cluster.roles"));
    if ((roles.contains(SEQUENCER_ROLE) || roles.contains(QUEUE_ROLE))
        && !roles.contains(STATEFUL_ROLE)) {
      roles.add(STATEFUL_ROLE);
      return config.withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(roles));
    }
    return config;
  }

  /** {@code host:port} of a cluster address: how nodes are named to people and in worker ids. */
  public static String hostPort(Address address) {
    return address.getHost().orElse("?") + ":" + address.getPort().map(String::valueOf).orElse("?");
  }

  /**
   * How long a cluster node's workers may take to finish their computes when it shuts down ({@code
   * prover.worker.drain-timeout}; see {@link dev.pekkoprover.protocol.WorkerCommand.Drain}).
   *
   * @throws IllegalStateException naming both settings when CoordinatedShutdown's {@code
   *     service-requests-done} phase, which runs the drain, is not at least 3 s longer, or when the
   *     timeout is negative
   */
  public static Duration drainTimeout(Config config) {
    return NodeGuardian.drainTimeout(config);
  }

  /**
   * Settings of a singleton on the nodes with role sequencer that keeps state in the journal (the
   * sequencer, the appchain service). After its node is downed its successor starts only {@code
   * pekko.cluster.split-brain-resolver.stable-after} (7 s in cluster.conf) after the removal, as
   * Pekko's default removal margin would: on the other side of a network partition the old one must
   * have stopped writing to the journal first. The cluster's own {@code down-removal-margin} is
   * shorter (cluster.conf), for the queue's shards, which hold nothing persistent.
   */
  public static ClusterSingletonSettings sequencerSingletonSettings(ActorSystem<?> system) {
    Duration stableAfter =
        system.settings().config().getDuration("pekko.cluster.split-brain-resolver.stable-after");
    return ClusterSingletonSettings.create(system)
        .withRole(SEQUENCER_ROLE)
        .withRemovalMargin(stableAfter);
  }

  /** Where the queue lives. */
  enum Deployment {
    LOCAL,
    CLUSTER
  }

  /** Nodes with this role host the sharded queue's entities. */
  public static final String QUEUE_ROLE = "queue";

  /** The sequencer singleton runs on the oldest node with this role. */
  public static final String SEQUENCER_ROLE = "sequencer";

  /**
   * Added by {@link Builder#start} to every node with role sequencer or queue: the nodes that hold
   * state, the only ones the split-brain resolver counts and the ones that down dead worker nodes.
   */
  public static final String STATEFUL_ROLE = "stateful";
}
