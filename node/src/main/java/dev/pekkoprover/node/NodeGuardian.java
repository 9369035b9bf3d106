package dev.pekkoprover.node;

import com.typesafe.config.Config;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerStateChanged;
import dev.pekkoprover.queue.FrontSettings;
import dev.pekkoprover.queue.LocalTaskQueue;
import dev.pekkoprover.queue.QueueFront;
import dev.pekkoprover.queue.QueueSettings;
import dev.pekkoprover.queue.ShardedTaskQueue;
import dev.pekkoprover.sequencer.AutoscaleSettings;
import dev.pekkoprover.sequencer.AutoscaleStandby;
import dev.pekkoprover.sequencer.ProvingOrchestrator;
import dev.pekkoprover.sequencer.StartupPlan;
import dev.pekkoprover.sequencer.WorkerReadyGate;
import dev.pekkoprover.worker.Worker;
import dev.pekkoprover.worker.WorkerSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * A node's root actor: spawns its parts (queue or queue front, worker-ready gate, workers,
 * sequencer or its singleton proxy, the cluster watchers) and later workers. Local only: its
 * messages never cross a node, and {@link ProverNode} reads the parts it started from {@link
 * Started}, completed once during set-up.
 */
final class NodeGuardian {
  interface Command extends NoSerializationVerificationNeeded {}

  /** The sequencer's singleton name: its manager on sequencer nodes, its proxy on any node. */
  private static final String SEQUENCER_SINGLETON = "sequencer";

  /** One worker to start: the types it serves and how many tasks it runs at once. */
  record WorkerSpec(TaskCatalog types, int concurrency) {}

  record SpawnWorker(
      String workerId,
      TaskCatalog types,
      int concurrency,
      ActorRef<ActorRef<WorkerCommand>> replyTo)
      implements Command {}

  record StopWorker(String workerId) implements Command {}

  record Started(
      String nodeId,
      ActorRef<QueueCommand> queue,
      ActorRef<ProvingOrchestrator.Command> sequencer,
      CompletableFuture<Object> sequencerStarted,
      CompletableFuture<Void> workersReady,
      Map<String, ActorRef<WorkerCommand>> workers,
      LocalSequencer localSequencer) {}

  private final ActorContext<Command> context;
  private final Config config;
  private final ActorRef<QueueCommand> queue;

  /**
   * Largest result a worker sends to a queue entity on another node; 0 in one JVM, where nothing
   * crosses, unless {@link #checkEveryResult}.
   */
  private final long maxResultBytes;

  /**
   * In one JVM, every result is checked as one bound for another node ({@code
   * prover.queue.check-payloads-in-one-jvm}).
   */
  private final boolean checkEveryResult;

  /** Read from outside (the node's edge API) as well: a concurrent map. */
  private final Map<String, ActorRef<WorkerCommand>> workers = new ConcurrentHashMap<>();

  private NodeGuardian(
      ActorContext<Command> context,
      Config config,
      ActorRef<QueueCommand> queue,
      long maxResultBytes,
      boolean checkEveryResult) {
    this.context = context;
    this.config = config;
    this.queue = queue;
    this.maxResultBytes = maxResultBytes;
    this.checkEveryResult = checkEveryResult;
  }

  static Behavior<Command> create(
      ProverNode.Deployment deployment,
      TaskCatalog catalog,
      StartupPlan<?, ?> plan,
      String nodeId,
      List<WorkerSpec> workerSpecs,
      Config config,
      CompletableFuture<Started> started) {
    return Behaviors.setup(
        context -> {
          boolean cluster = deployment == ProverNode.Deployment.CLUSTER;
          // in one JVM nothing crosses a node: values are checked only when asked to, for tests
          boolean checkInOneJvm =
              !cluster && config.getBoolean("prover.queue.check-payloads-in-one-jvm");
          long maxPayloadBytes =
              cluster || checkInOneJvm ? FrontSettings.fromConfig(config).maxPayloadBytes() : 0;
          NodeGuardian guardian =
              new NodeGuardian(
                  context,
                  config,
                  spawnQueue(
                      context, deployment, catalog, config, checkInOneJvm ? maxPayloadBytes : 0),
                  maxPayloadBytes,
                  checkInOneJvm);
          String id =
              nodeId != null
                  ? nodeId
                  : deployment == ProverNode.Deployment.CLUSTER
                      ? ProverNode.hostPort(Cluster.get(context.getSystem()).selfMember().address())
                      : context.getSystem().name();
          Map<String, WorkerSpec> workers = new LinkedHashMap<>();
          for (WorkerSpec spec : workerSpecs) {
            workers.put(id + "-w" + (workers.size() + 1), spec);
          }
          if (deployment == ProverNode.Deployment.CLUSTER) {
            guardian.startClusterWatch();
          }
          Started parts = guardian.startParts(id, deployment, plan, workers);
          if (deployment == ProverNode.Deployment.CLUSTER) {
            guardian.tellSequencerWhenLeaving(parts.sequencer());
            guardian.drainWorkersOnShutdown();
          }
          started.complete(parts);
          return guardian.running();
        });
  }

  /**
   * Every cluster node says what it waits for, asks its seeds again while it is not yet a member
   * ({@link SeedJoinRetry}) and keeps {@link GracefulLeaves} for the log filters; the stateful ones
   * down worker nodes that stay unreachable (the split-brain resolver alone would wait for a stable
   * membership that worker churn never gives).
   */
  private void startClusterWatch() {
    context.spawn(WaitingForPeers.create(config), "waiting-for-peers");
    context.spawn(SeedJoinRetry.create(config), "seed-join-retry");
    context.spawn(GracefulLeaves.watch(), "graceful-leaves");
    if (Cluster.get(context.getSystem()).selfMember().hasRole(ProverNode.STATEFUL_ROLE)) {
      context.spawn(UnreachableWorkerDowning.create(config), "unreachable-worker-downing");
    }
  }

  /**
   * On a queue node: the first step of its shutdown (SIGTERM, a rolling restart) tells the
   * sequencer that it leaves ({@link ProvingOrchestrator.QueueNodeLeaving}), before its shards are
   * handed off. The cluster's Leaving event would come only after the hand-off (Pekko's shutdown
   * hands shards off, then leaves), and meanwhile the flows and the registration loop would find
   * the moved entities' tasks missing and warn of a loss nobody reported. The sequencer nodes'
   * {@link QueueNodeWatcher} still tell it at Leaving and at removal, so a lost message costs only
   * that warning.
   *
   * <p>A node with roles sequencer and queue tells the singleton through its own proxy: as a
   * standby its entities move while the sequencer runs elsewhere; hosting the sequencer, the
   * sequencer drops the notice (it leaves with the node) and its successor hears of the node from
   * its own watcher. A node with role sequencer but no sequencer of its own to start (no plan) says
   * nothing: a proxy made here would make it a host of a singleton without behavior.
   *
   * @param sequencer the sequencer singleton's proxy when this node starts it, else null
   */
  private void tellSequencerWhenLeaving(ActorRef<ProvingOrchestrator.Command> sequencer) {
    var system = context.getSystem();
    var self = Cluster.get(system).selfMember();
    if (!self.hasRole(ProverNode.QUEUE_ROLE)
        || (sequencer == null && self.hasRole(ProverNode.SEQUENCER_ROLE))) {
      return;
    }
    // a node without the sequencer role runs only the singleton's proxy: the behavior never
    // starts there
    ActorRef<ProvingOrchestrator.Command> proxy =
        sequencer != null
            ? sequencer
            : ClusterSingleton.get(system)
                .init(
                    SingletonActor.of(
                            Behaviors.<ProvingOrchestrator.Command>empty(), SEQUENCER_SINGLETON)
                        .withSettings(ProverNode.sequencerSingletonSettings(system)));
    ProvingOrchestrator.QueueNodeLeaving leaving =
        new ProvingOrchestrator.QueueNodeLeaving(
            self.address().toString(), self.uniqueAddress().longUid());
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeClusterShutdown(),
            "tell-sequencer-queue-node-leaves",
            () -> {
              proxy.tell(leaving);
              return CompletableFuture.completedFuture(Done.getInstance());
            });
  }

  /** Time for a worker's answer beyond its drain's time: its last reports, a busy mailbox. */
  static final Duration DRAIN_ANSWER_MARGIN = Duration.ofSeconds(2);

  /**
   * {@code prover.worker.drain-timeout}, checked against the CoordinatedShutdown phase that runs
   * the drain: that phase must outlast the drain and the answers' margin, else Pekko would move on
   * while workers still finish their computes.
   *
   * @throws IllegalStateException naming both settings when the phase is too short, or when the
   *     drain timeout is negative
   */
  static Duration drainTimeout(Config config) {
    Duration drain = config.getDuration("prover.worker.drain-timeout");
    if (drain.isNegative()) {
      throw new IllegalStateException(
          "prover.worker.drain-timeout must not be negative (0: no drain), was " + drain);
    }
    String phasePath = "pekko.coordinated-shutdown.phases.service-requests-done.timeout";
    Duration phase =
        config.hasPath(phasePath)
            ? config.getDuration(phasePath)
            : config.getDuration("pekko.coordinated-shutdown.default-phase-timeout");
    Duration needed = drain.plus(DRAIN_ANSWER_MARGIN).plusSeconds(1);
    if (phase.compareTo(needed) < 0) {
      throw new IllegalStateException(
          "prover.worker.drain-timeout ("
              + drain.toMillis()
              + " ms) does not fit in the shutdown phase that runs it: set "
              + phasePath
              + " (now "
              + phase.toMillis()
              + " ms) to at least "
              + needed.toMillis()
              + " ms, or lower the drain timeout");
    }
    return drain;
  }

  /**
   * The first steps of a cluster node's shutdown (SIGTERM, a scale-down, a rolling update) drain
   * its workers before it leaves the cluster: phase {@code service-requests-done}, which runs
   * before the cluster phases. Each worker takes no new task and finishes what it runs, at most
   * {@code prover.worker.drain-timeout}; then what still runs is put back at once ({@link
   * WorkerCommand.Drain}). A node without workers finishes the phase at once. A worker that does
   * not answer (it crashed during the drain) holds the phase until its drain's time and the margin
   * are over. No drain when the node is no longer Up as its shutdown begins: a leave through the
   * cluster ({@code Cluster.leave}, Pekko Management) or a downing runs the shutdown once the node
   * is out, when no result of its could reach a queue.
   */
  private void drainWorkersOnShutdown() {
    var system = context.getSystem();
    Duration timeout = drainTimeout(config);
    Duration askTimeout = timeout.plus(DRAIN_ANSWER_MARGIN);
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseServiceRequestsDone(),
            "drain-workers",
            () -> {
              MemberStatus status = Cluster.get(system).selfMember().status();
              if (status != MemberStatus.up() && status != MemberStatus.weaklyUp()) {
                // a leave or a downing started this shutdown: the node is out of the cluster
                // already and its results could reach no queue
                return CompletableFuture.completedFuture(Done.getInstance());
              }
              List<CompletableFuture<WorkerCommand.Drained>> answers = new ArrayList<>();
              for (ActorRef<WorkerCommand> worker : workers.values()) {
                answers.add(
                    AskPattern.<WorkerCommand, WorkerCommand.Drained>ask(
                            worker,
                            replyTo -> new WorkerCommand.Drain(timeout.toMillis(), replyTo),
                            askTimeout,
                            system.scheduler())
                        .toCompletableFuture());
              }
              return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
                  .handle((ok, failure) -> Done.getInstance());
            });
  }

  /**
   * @param localPayloadCheck in one JVM, the largest input the queue lets through after checking it
   *     ({@code prover.queue.check-payloads-in-one-jvm}); 0 checks none
   */
  private static ActorRef<QueueCommand> spawnQueue(
      ActorContext<Command> context,
      ProverNode.Deployment deployment,
      TaskCatalog catalog,
      Config config,
      long localPayloadCheck) {
    QueueSettings settings = QueueSettings.fromConfig(config);
    if (deployment == ProverNode.Deployment.LOCAL) {
      return context.spawn(LocalTaskQueue.create(catalog, settings, localPayloadCheck), "queue");
    }
    var region =
        ShardedTaskQueue.init(context.getSystem(), catalog, settings, ProverNode.QUEUE_ROLE);
    if (Cluster.get(context.getSystem()).selfMember().hasRole(ProverNode.QUEUE_ROLE)) {
      context.spawn(QueueCoordinatorWatch.create(ProverNode.QUEUE_ROLE), "queue-coordinator-watch");
    } else {
      CoordinatedShutdown.get(context.getSystem())
          .addTask(
              CoordinatedShutdown.PhaseBeforeClusterShutdown(),
              "stop-queue-region-without-queue-node",
              HomelessRegionStop.task(context.getSystem(), region, ProverNode.QUEUE_ROLE));
    }
    // A front that failed on a message it could not handle would leave the node without its queue:
    // restart it (its
    // only state, the workers' last announcements, comes back with their periodic repeat).
    return context.spawn(
        Behaviors.supervise(
                QueueFront.create(
                    region, catalog, FrontSettings.fromConfig(config), ProverNode.QUEUE_ROLE))
            .onFailure(SupervisorStrategy.restart()),
        "queue");
  }

  /**
   * The worker-ready gate, the workers (told to the gate), and the sequencer (a singleton in the
   * cluster).
   */
  private Started startParts(
      String nodeId,
      ProverNode.Deployment deployment,
      StartupPlan<?, ?> plan,
      Map<String, WorkerSpec> workerSpecs) {
    CompletableFuture<Void> workersReady = new CompletableFuture<>();
    ActorRef<WorkerStateChanged> gate =
        context.spawn(
            WorkerReadyGate.create(Set.copyOf(workerSpecs.keySet()), workersReady),
            "worker-ready-gate");
    workerSpecs.forEach(
        (workerId, spec) -> workers.put(workerId, spawnWorker(workerId, spec, gate)));
    if (plan == null) {
      return new Started(nodeId, queue, null, null, workersReady, workers, null);
    }
    CompletableFuture<Object> sequencerStarted = new CompletableFuture<>();
    Behavior<ProvingOrchestrator.Command> behavior =
        ProvingOrchestrator.create(queue, plan, sequencerStarted);
    LocalSequencer local = deployment == ProverNode.Deployment.LOCAL ? null : new LocalSequencer();
    ActorRef<ProvingOrchestrator.Command> sequencer =
        deployment == ProverNode.Deployment.LOCAL
            ? context.spawn(behavior, "sequencer")
            : ClusterSingleton.get(context.getSystem())
                .init(
                    SingletonActor.of(local.hosting(behavior), SEQUENCER_SINGLETON)
                        .withSettings(ProverNode.sequencerSingletonSettings(context.getSystem())));
    if (deployment == ProverNode.Deployment.CLUSTER) {
      context.spawn(QueueNodeWatcher.create(sequencer), "queue-node-watcher");
      AutoscaleSettings autoscale =
          AutoscaleSettings.fromConfig(context.getSystem().settings().config());
      if (autoscale.enabled()) {
        // a standby's autoscaling memory, for the signal it exports once it takes over
        context.spawn(
            AutoscaleStandby.create(queue, autoscale, () -> local.whenHere().isDone()),
            "autoscale-standby");
      }
    }
    return new Started(nodeId, queue, sequencer, sequencerStarted, workersReady, workers, local);
  }

  private Behavior<Command> running() {
    return Behaviors.receive(Command.class)
        .onMessage(SpawnWorker.class, this::onSpawnWorker)
        .onMessage(StopWorker.class, this::onStopWorker)
        .build();
  }

  private Behavior<Command> onSpawnWorker(SpawnWorker spawn) {
    ActorRef<WorkerCommand> ref =
        spawnWorker(spawn.workerId(), new WorkerSpec(spawn.types(), spawn.concurrency()), null);
    workers.put(spawn.workerId(), ref);
    spawn.replyTo().tell(ref);
    return Behaviors.same();
  }

  private Behavior<Command> onStopWorker(StopWorker stop) {
    ActorRef<WorkerCommand> ref = workers.remove(stop.workerId());
    if (ref != null) {
      context.stop(ref);
    }
    return Behaviors.same();
  }

  private ActorRef<WorkerCommand> spawnWorker(
      String workerId, WorkerSpec spec, ActorRef<WorkerStateChanged> listener) {
    WorkerSettings settings =
        WorkerSettings.fromConfig(config, workerId)
            .withConcurrency(spec.concurrency())
            .withMaxResultBytes(maxResultBytes)
            .withCheckEveryResult(checkEveryResult)
            .withReportLoad(
                (maxResultBytes > 0 && !checkEveryResult)
                    || config.getString("pekko.actor.provider").equals("cluster"));
    return context.spawn(Worker.create(settings, spec.types(), queue, listener), workerId);
  }
}
