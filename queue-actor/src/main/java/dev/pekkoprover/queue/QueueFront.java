package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.KeyedGather;
import dev.pekkoprover.protocol.PartialAnswers;
import dev.pekkoprover.protocol.PayloadCheck;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.CancelFlow;
import dev.pekkoprover.protocol.QueueCommand.CheckHeld;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.GetFleet;
import dev.pekkoprover.protocol.QueueCommand.GetStats;
import dev.pekkoprover.protocol.QueueCommand.Reports;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerGoingDown;
import dev.pekkoprover.protocol.QueueCommand.WorkerLoad;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.ReportBatches;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * A node's door to the sharded queue: speaks the same {@link QueueCommand} protocol as {@link
 * LocalTaskQueue}, so the sequencer and the workers on this node cannot tell the difference, and
 * routes each message to the entity of its task type (or partition, {@code type#n}). It also keeps
 * the cross-node paths bounded: a large Enqueue goes out in slices of {@code
 * max-tasks-per-message}, and a task input over {@code max-payload-size}, or one that serialises
 * but could not be read on the other side, is refused with a reason rather than lost in transit
 * ({@link PayloadCheck}). An input that passed goes on as the bytes of that check ({@link
 * dev.pekkoprover.protocol.SerializedPayload}): it is not serialised again on its way to the
 * worker, which decodes it (registration offers aside, which their entity reads).
 *
 * <p>Workers report straight to the entity that dispatched the task (its ref comes with every
 * dispatch), and check the size of a result bound for another node themselves. The front still
 * accepts reports sent to it (any client of the queue protocol may), routes them by type, gathers
 * those that arrive while it is busy into one {@link Reports} per entity ({@link ReportBatches}, as
 * a worker does), and checks their results' size the same way.
 *
 * <p>Not to miss: once this node has begun to shut down ({@link #leaving}), the front answers the
 * queries that only read (queue stats and the fleet view: at once, with no entity's answer; which
 * tasks are held: not at all) instead of routing them into the shard region. The region then hands
 * its entities off, and it buffers a message for an entity whose shard has no home until some
 * region takes that shard; on the last node with role queue none can, so a query sent by a periodic
 * asker of this node (the autoscale reporter, the registration loop's check, each every 10 s) in
 * the second or so of the hand-off kept the region's graceful shutdown waiting for its phase's
 * whole timeout (10 s), and the node's exit with it. For the same reason, once the last queue node
 * leaves, its front routes nothing more into the region ({@link #nowhereToRoute}): a worker's
 * periodic announcement or load report (every {@code prover.worker.announce-interval}, relayed here
 * from the worker nodes) did the same thing, and no announcement is repeated on this node's own
 * removal.
 *
 * <p>Not to miss: a worker announcement goes to the entities of the types it serves now
 * <em>and</em> of those it served before, so that an entity learns when a worker stops serving its
 * type (a worker that registered no longer serves the registration type). Load reports and
 * going-down notices of a worker go to the same entities. When a node with the queue role is
 * removed, its entities start again empty elsewhere: the front repeats its workers' last
 * announcements at once, so they get work again without waiting for their periodic repeat.
 *
 * <p>Not to miss: on a node without the queue role the workers' announcements, load reports and
 * going-down notices do not go into this node's region but through the front of a queue node
 * ({@link AnnouncementRelay}): the one that offered itself on seeing this node Up ({@link
 * QueueCommand.RelayOffer}, sent by every queue node's front for every other node that joins), or
 * the oldest queue node this node knows once it sees itself Up, whichever comes first. That front
 * routes them as its own (and repeats them when a queue node is removed). Until there is one, they
 * are kept, not sent. Reports that workers send here (those of tasks whose entity stopped) take the
 * same path, and are passed on before the load report that follows them.
 */
public final class QueueFront {

  /**
   * Time to send the worker reports gathered so far; sent to itself when the first report of a
   * batch arrives, so it comes after the reports already waiting in the mailbox. Never leaves the
   * node.
   */
  private enum SendReports implements QueueCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** A membership change (subscribed only where the system is a cluster member). */
  record MemberChanged(ClusterEvent.MemberEvent event)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  /**
   * The nodes the shutdown's withdrawal ({@link #withdrawRelay}) told; sent by that task to this
   * front. Never leaves the node.
   */
  private record WithdrewFrom(Set<Address> nodes)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  /** A reachability change (subscribed only where this front relays: a node without the role). */
  private record ReachabilityChanged(ClusterEvent.ReachabilityEvent event)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  /** A worker this front routed announcements for has stopped (watched). */
  private record WorkerStopped(ActorRef<WorkerCommand> worker)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  private final ActorContext<QueueCommand> context;
  private final ActorRef<ShardingEnvelope<QueueCommand>> region;

  /** The system's scheduler, for the asks a {@link KeyedGather} makes on its own thread. */
  private final org.apache.pekko.actor.typed.Scheduler scheduler;

  private final TaskCatalog catalog;
  private final FrontSettings settings;
  private final PayloadCheck payloads;
  private final PartialAnswers statsAnswers =
      new PartialAnswers("queue stats (queue entities)", this::queueNodeInTransit, NO_KNOWN_REASON);
  private final PartialAnswers fleetAnswers =
      new PartialAnswers("fleet view (queue entities)", this::queueNodeInTransit, NO_KNOWN_REASON);

  /**
   * What a partial answer's WARN (and {@code /status}'s line) says when no queue node is known to
   * be unreachable, leaving or just removed: the first partial answer after a node's loss comes at
   * the stats timeout (3 s), about when the failure detector marks the node (about 3.5 s), so
   * either may come first.
   */
  public static final String NO_KNOWN_REASON =
      "no queue node is unreachable or leaving as far as this node knows yet: one lost just now,"
          + " which the failure detector marks within seconds, or one too busy to answer";

  /** Each entity's last answer to GetStats, carried over when it does not answer in time. */
  private final KeyedGather.LastAnswers<QueueStats> lastStats = new KeyedGather.LastAnswers<>();

  /** Each entity's last answer to GetFleet, likewise. */
  private final KeyedGather.LastAnswers<FleetView> lastFleet = new KeyedGather.LastAnswers<>();

  /**
   * How long a gathering waits for an entity that missed the last one's reply, once every other
   * entity answered: an entity on a reachable node answers within milliseconds, and one on a lost
   * node cannot answer until its shard has moved (about 10 s under the shipped settings), so the
   * whole stats timeout was waited out on every question meanwhile.
   */
  static final java.time.Duration AFTER_MISS = java.time.Duration.ofMillis(300);

  /**
   * The oldest last answer that stands in for an entity's missing one. A lost queue node's shards
   * start again elsewhere about 11-15 s after its loss under the shipped settings (unreachable
   * after about 4 s, downed by the resolver's stable-after of 7 s, removal margin 0.5 s); a minute
   * covers a loaded host, and an entity silent for longer is left out rather than shown as it was.
   */
  static final java.time.Duration CARRY_OVER_AT_MOST = java.time.Duration.ofSeconds(60);

  /**
   * {@code prover.queue.cluster.placement}: partial answers while fewer queue nodes are Up than it
   * names, in a node's first minutes Up, are the first placement's wait, said at INFO (a trial's
   * every clean start had a WARN).
   */
  private final QueuePlacement.Settings placement;

  /**
   * When a first placement that began as this node became Up has surely ended ({@link
   * System#nanoTime}); 0: not Up yet. Read and set by {@link KeyedGather} actors.
   */
  private volatile long placementWaitEnds;

  /** When a node with the queue role was last removed ({@link System#nanoTime}); 0: never. */
  private volatile long queueNodeRemovedAt;

  /** How long after a queue node's removal its entities may still be starting elsewhere. */
  private static final long ENTITIES_MOVE_WITHIN_NANOS = java.time.Duration.ofSeconds(30).toNanos();

  /** The node's cluster, where the front follows one ({@code queueRole} set); read off-thread. */
  private final Cluster cluster;

  /** Worker reports by entity, gathered until {@link SendReports} comes round. */
  private final ReportBatches<String> reports = new ReportBatches<>();

  /**
   * What each worker announced last, so that a dropped type's entity hears of it. By the worker's
   * ref, not its id: a queue node's front also routes other nodes' workers, and two nodes started
   * with the same node id announce the same worker ids (which their entities refuse, naming both).
   */
  private final Map<ActorRef<WorkerCommand>, Set<String>> announced = new HashMap<>();

  /** Each worker's last announcement, repeated when a queue node goes away. */
  private final Map<ActorRef<WorkerCommand>, WorkerServes> lastAnnouncement = new HashMap<>();

  private final String queueRole;

  /**
   * On a node without the queue role: the queue node's front its workers' messages go through; null
   * where this node has the role (its own region routes them) or follows no membership.
   */
  private final AnnouncementRelay relay;

  private final CoordinatedShutdown coordinatedShutdown;

  /**
   * On a node with the queue role in a cluster: the shutdown task that withdraws this front as
   * other nodes' relay ({@link #withdrawRelay}), cancelled when the front stops; null elsewhere.
   */
  private final Cancellable withdrawal;

  /**
   * Nodes told that this front withdrew as their relay as its node shuts down: by the shutdown's
   * task ({@link WithdrewFrom}), or later because a message of theirs still came through it ({@link
   * #stillRelayedThrough}).
   */
  private final Set<Address> toldWithdrawn = new HashSet<>();

  /**
   * The first message this front dropped because its node leaves and no other queue node is Up
   * ({@link #nowhereToRoute}); null until then. Said once, at INFO.
   */
  private String firstDropped;

  /**
   * This node's task type versions: what workers must have in a run this node's sequencer offers
   * registration for.
   */
  private final java.util.TreeMap<String, String> versions;

  /**
   * The newest run of a task enqueued through this front ({@link #announceRunStart}); null first.
   */
  private String lastRunStarted;

  /** A front that does not follow cluster membership (tests of the routing alone). */
  public static Behavior<QueueCommand> create(
      ActorRef<ShardingEnvelope<QueueCommand>> region,
      TaskCatalog catalog,
      FrontSettings settings) {
    return create(region, catalog, settings, null);
  }

  /**
   * @param queueRole the role of the nodes that host queue entities: when one is removed, this
   *     front repeats its workers' announcements; null follows nothing
   */
  public static Behavior<QueueCommand> create(
      ActorRef<ShardingEnvelope<QueueCommand>> region,
      TaskCatalog catalog,
      FrontSettings settings,
      String queueRole) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(
              QueueFront.class); // else a Pekko logger, which a node's logback keeps at WARN
          if (queueRole != null) {
            Cluster.get(context.getSystem())
                .subscriptions()
                .tell(
                    Subscribe.create(
                        context.messageAdapter(ClusterEvent.MemberEvent.class, MemberChanged::new),
                        ClusterEvent.MemberEvent.class));
          }
          QueueFront front = new QueueFront(context, region, catalog, settings, queueRole);
          if (front.relay != null) {
            Cluster.get(context.getSystem())
                .subscriptions()
                .tell(
                    Subscribe.create(
                        context.messageAdapter(
                            ClusterEvent.ReachabilityEvent.class, ReachabilityChanged::new),
                        ClusterEvent.ReachabilityEvent.class));
          }
          return front.routing();
        });
  }

  private QueueFront(
      ActorContext<QueueCommand> context,
      ActorRef<ShardingEnvelope<QueueCommand>> region,
      TaskCatalog catalog,
      FrontSettings settings,
      String queueRole) {
    this.context = context;
    this.queueRole = queueRole;
    this.cluster = queueRole == null ? null : Cluster.get(context.getSystem());
    this.placement = QueuePlacement.Settings.fromConfig(context.getSystem().settings().config());
    this.region = region;
    this.scheduler = context.getSystem().scheduler();
    this.catalog = catalog;
    this.settings = settings;
    this.payloads = new PayloadCheck(context.getSystem(), settings.maxPayloadBytes());
    this.versions = CatalogFingerprint.of(catalog).versions();
    this.coordinatedShutdown = CoordinatedShutdown.get(context.getSystem());
    Cluster cluster = queueRole == null ? null : Cluster.get(context.getSystem());
    this.relay =
        cluster == null || cluster.selfMember().hasRole(queueRole)
            ? null
            : new AnnouncementRelay(
                context,
                queueRole,
                cluster.selfMember().uniqueAddress(),
                () -> !lastAnnouncement.isEmpty());
    this.withdrawal =
        cluster != null && relay == null
            ? coordinatedShutdown.addCancellableTask(
                CoordinatedShutdown.PhaseBeforeClusterShutdown(),
                "withdraw-queue-front-relay",
                withdrawRelay(context.getSystem(), context.getSelf(), queueRole))
            : null;
  }

  /**
   * The shutdown task of a queue node's front ({@link QueueCommand.RelayWithdrawn}): tells the
   * front of every member without the queue role that is Joining, WeaklyUp or Up to relay through
   * another queue node, before this node's shards are handed off. A node this node has not seen
   * join yet is told when its first message comes through ({@link #stillRelayedThrough}). Runs on
   * the shutdown's thread: it uses neither this actor's context nor its state.
   */
  private static Supplier<CompletionStage<Done>> withdrawRelay(
      ActorSystem<?> system, ActorRef<QueueCommand> self, String queueRole) {
    return () -> {
      QueueCommand.RelayWithdrawn withdrawn = new QueueCommand.RelayWithdrawn(self);
      Set<Address> told = new HashSet<>();
      for (Member member : Cluster.get(system).state().getMembers()) {
        if (!member.hasRole(queueRole)
            && (member.status() == MemberStatus.up()
                || member.status() == MemberStatus.weaklyUp()
                || member.status() == MemberStatus.joining())) {
          AnnouncementRelay.frontAt(system, self, member.address()).tell(withdrawn);
          told.add(member.address());
        }
      }
      self.tell(new WithdrewFrom(told));
      return CompletableFuture.completedFuture(Done.getInstance());
    };
  }

  private Behavior<QueueCommand> routing() {
    return Behaviors.receive(QueueCommand.class)
        .onMessage(TaskSucceeded.class, this::onTaskSucceeded)
        .onMessage(Enqueue.class, this::onEnqueue)
        .onMessage(TaskFailed.class, this::onTaskFailed)
        .onMessage(TaskDeclined.class, this::onTaskDeclined)
        .onMessage(Reports.class, this::onReports)
        .onMessage(WorkerServes.class, this::onWorkerServes)
        .onMessage(WorkerLoad.class, this::onWorkerLoad)
        .onMessage(WorkerGoingDown.class, this::onWorkerGoingDown)
        .onMessage(CheckHeld.class, this::onCheckHeld)
        .onMessage(MemberChanged.class, this::onMemberChanged)
        .onMessage(QueueCommand.RelayOffer.class, this::onRelayOffer)
        .onMessage(QueueCommand.RelayWithdrawn.class, this::onRelayWithdrawn)
        .onMessage(WithdrewFrom.class, this::onWithdrewFrom)
        .onMessage(ReachabilityChanged.class, this::onReachabilityChanged)
        .onMessage(WorkerStopped.class, this::onWorkerStopped)
        .onMessage(CancelFlow.class, this::onCancelFlow)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(GetFleet.class, this::onGetFleet)
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  // ---- routing ----

  /** The entity of a task: its type, or one partition of it chosen by the task id. */
  String entityOf(String taskType, String taskId) {
    int partitions = settings.partitionsOf(taskType);
    return partitions == 1
        ? taskType
        : taskType + "#" + Math.floorMod(taskId.hashCode(), partitions);
  }

  /** Every entity of a type. */
  List<String> entitiesOf(String taskType) {
    int partitions = settings.partitionsOf(taskType);
    if (partitions == 1) {
      return List.of(taskType);
    }
    List<String> ids = new ArrayList<>(partitions);
    for (int i = 0; i < partitions; i++) {
      ids.add(taskType + "#" + i);
    }
    return ids;
  }

  /**
   * Whether this node's CoordinatedShutdown has begun (a leave, a signal, a downing): its shard
   * region is about to hand its entities off, or is doing so.
   */
  private boolean leaving() {
    return coordinatedShutdown.getShutdownReason().isPresent();
  }

  /**
   * Whether a message for an entity has nowhere to go: this node leaves and no other node with the
   * queue role is Up (or WeaklyUp), so no shard region can take the shards this node's region hands
   * off. The region would buffer such a message until its graceful shutdown gives up, after the
   * whole {@code cluster-sharding-shutdown-region} phase (10 s), and then drop it: the node's exit
   * waited for nothing. A front that follows no membership ({@code queueRole} null) cannot tell and
   * routes as always.
   */
  private boolean nowhereToRoute() {
    return queueRole != null && leaving() && !queueNodeUp(false, false);
  }

  /** A gathering answered at once with no answer: this node leaves, or no queue node is there. */
  private boolean answerEmpty() {
    return leaving() || noQueueNodeUp();
  }

  /**
   * Whether no node with the queue role, this one included, is Up, WeaklyUp, Leaving or Exiting
   * (the statuses whose shard regions Pekko's coordinator may still count as homes): the queue's
   * entities run nowhere (a sequencer or worker node started before its queue node, or after it
   * left). A gathering asked then could only wait out its timeout in the shard region's buffer, log
   * a WARN for what is a normal wait (the node's own log already says it waits for a queue node),
   * and reach the entities late, after its collector has stopped; it is answered at once with no
   * answer instead. A front that follows no membership ({@code queueRole} null) always asks.
   */
  private boolean noQueueNodeUp() {
    return queueRole != null && !queueNodeUp(true, true);
  }

  /**
   * Whether a node with the queue role ({@code self} counted or not) is Up or WeaklyUp, or also
   * Leaving or Exiting ({@code leavingCounts}: its entities run until their hand-off).
   */
  private boolean queueNodeUp(boolean countSelf, boolean leavingCounts) {
    Cluster cluster = Cluster.get(context.getSystem());
    Address self = cluster.selfMember().address();
    for (Member member : cluster.state().getMembers()) {
      MemberStatus status = member.status();
      if (member.hasRole(queueRole)
          && (countSelf || !member.address().equals(self))
          && (status == MemberStatus.up()
              || status == MemberStatus.weaklyUp()
              || (leavingCounts
                  && (status == MemberStatus.leaving() || status == MemberStatus.exiting())))) {
        return true;
      }
    }
    return false;
  }

  private void send(String entityId, QueueCommand message) {
    if (nowhereToRoute()) {
      if (firstDropped == null) {
        firstDropped = message.getClass().getSimpleName() + " for " + entityId;
        if (Cluster.get(context.getSystem()).isTerminated()) {
          // its cluster has shut down, which empties its view of the members: other queue nodes
          // may well be Up (a trial read "no other node with role queue is Up" beside one)
          context
              .getLog()
              .info(
                  "this node has left the cluster: messages for the queue's entities are dropped"
                      + " here from now on (the first: {}); the queue's entities run on any queue"
                      + " node that stays, and workers announce themselves to it",
                  firstDropped);
        } else {
          context
              .getLog()
              .info(
                  "this node leaves and no other node with role {} is Up: messages for the queue's "
                      + "entities are dropped here from now on (the first: {}), as the shard region "
                      + "would drop them after holding this node's exit for its hand-off timeout; "
                      + "workers announce themselves again to the next queue node",
                  queueRole,
                  firstDropped);
        }
      }
      return;
    }
    region.tell(new ShardingEnvelope<>(entityId, message));
  }

  private Behavior<QueueCommand> onEnqueue(Enqueue enqueue) {
    if (!enqueue.tasks().isEmpty()) {
      announceRunStart(enqueue.tasks().get(0).runId());
    }
    Map<String, Slice> byEntity = new LinkedHashMap<>();
    for (TaskEnvelope task : enqueue.tasks()) {
      if (!catalog.contains(task.taskType())) {
        reject(enqueue, task, catalog.unknownTypeMessage(task.taskType()));
        continue;
      }
      InputCheck.Checked checked = InputCheck.of(payloads, task);
      if (!checked.ok()) {
        reject(enqueue, task, checked.problem());
        continue;
      }
      int size = checked.bytes();
      task = checked.task();
      String entity = entityOf(task.taskType(), task.taskId());
      Slice slice = byEntity.computeIfAbsent(entity, id -> new Slice());
      if (!slice.tasks.isEmpty()
          && (slice.tasks.size() == settings.maxTasksPerMessage()
              || slice.bytes + size > settings.maxBytesPerMessage())) {
        send(entity, new Enqueue(slice.tasks, enqueue.replyTo()));
        slice.tasks = new ArrayList<>();
        slice.bytes = 0;
      }
      slice.tasks.add(task);
      slice.bytes += size;
    }
    byEntity.forEach((entity, slice) -> send(entity, new Enqueue(slice.tasks, enqueue.replyTo())));
    // the registration loop offers several tasks of one run in one Enqueue: one announcement each
    // run
    Set<String> runsAnnounced = new HashSet<>();
    for (TaskEnvelope task : enqueue.tasks()) {
      if (WorkerRegistrationTask.NAME.equals(task.taskType()) && runsAnnounced.add(task.runId())) {
        announceRunCatalog(task);
      }
    }
    return Behaviors.same();
  }

  /**
   * The first task of a run newer than every run before it came through this front, so this is the
   * sequencer's node and a new run has begun (a restart, or a standby's takeover): every entity
   * hears of it before that task ({@link QueueCommand.RunStarted}), and gives up the older runs'
   * tasks. An Enqueue carries the tasks of one flow, so of one run: its first task's run is
   * checked, which is an identity comparison when the run is the one announced last.
   */
  private void announceRunStart(String runId) {
    if (!RunIds.isNewer(runId, lastRunStarted) || !RunIds.isRunId(runId)) {
      return; // the same run, an older one, or a run not named by RunIds, which tells no order
    }
    lastRunStarted = runId;
    QueueCommand.RunStarted started = new QueueCommand.RunStarted(runId);
    for (String entity : allEntities()) {
      send(entity, started);
    }
  }

  /**
   * A registration task is offered through this front, so this is the sequencer's node: every
   * entity learns this node's catalog and the run's keys digest, to judge workers by ({@link
   * QueueCommand.RunCatalog}). Sent again with every offer, so that an entity that started again
   * elsewhere learns it at the next registration.
   */
  private void announceRunCatalog(TaskEnvelope registration) {
    String keys;
    try {
      keys = CatalogFingerprint.keysDigestOf(registration.payload());
    } catch (IllegalArgumentException e) {
      context
          .getLog()
          .warn(
              "registration task {} of run {}: {}; workers' keys are not checked against it",
              registration.taskId(),
              registration.runId(),
              e.getMessage());
      keys = null;
    }
    QueueCommand.RunCatalog runCatalog =
        new QueueCommand.RunCatalog(registration.runId(), versions, keys);
    for (String entity : allEntities()) {
      send(entity, runCatalog);
    }
  }

  /** Tasks bound for one entity, not yet sent. */
  private static final class Slice {
    List<TaskEnvelope> tasks = new ArrayList<>();
    long bytes;
  }

  private void reject(Enqueue enqueue, TaskEnvelope task, String reason) {
    InputCheck.refuse(context.getLog(), enqueue.replyTo(), task, reason);
  }

  private Behavior<QueueCommand> onTaskSucceeded(TaskSucceeded result) {
    String problem =
        payloads.problem("result", result.taskId(), result.taskType(), result.result());
    if (problem != null) {
      return onTaskFailed(
          new TaskFailed(
              result.workerId(),
              result.incarnation(),
              result.taskId(),
              result.runId(),
              result.taskType(),
              result.attempt(),
              problem,
              false));
    }
    return gathered(reports.add(entityOf(result.taskType(), result.taskId()), result));
  }

  private Behavior<QueueCommand> onTaskFailed(TaskFailed failure) {
    return gathered(reports.add(entityOf(failure.taskType(), failure.taskId()), failure));
  }

  private Behavior<QueueCommand> onTaskDeclined(TaskDeclined decline) {
    return gathered(reports.add(entityOf(decline.taskType(), decline.taskId()), decline));
  }

  /** A worker's own batch: each report joins the batch of its entity (types may differ). */
  private Behavior<QueueCommand> onReports(Reports reports) {
    reports.succeeded().forEach(this::onTaskSucceeded);
    reports.failed().forEach(this::onTaskFailed);
    reports.declined().forEach(this::onTaskDeclined);
    return Behaviors.same();
  }

  /** A report joined its entity's batch; the first of a batch asks for a {@link SendReports}. */
  private Behavior<QueueCommand> gathered(boolean firstOfBatch) {
    if (firstOfBatch) {
      context.getSelf().tell(SendReports.INSTANCE);
    }
    return Behaviors.same();
  }

  /**
   * One message per entity: the lone report itself, or all of them in one {@link Reports}. On a
   * node without the queue role they go through the queue node's front that this node's workers'
   * load reports go through ({@link AnnouncementRelay}): a worker sends its reports here only for
   * tasks whose entity has stopped (moved with a leaving queue node), and on the same path as its
   * load reports, which it sends after its reports, they reach the entity's new life before the
   * load report that no longer lists their tasks. Through this node's shard region proxy they could
   * come after it (the proxy first asks where the moved shard lives now), and the entity would hand
   * the task it sees the worker no longer runs out again.
   */
  private Behavior<QueueCommand> onSendReports() {
    flushReports();
    return Behaviors.same();
  }

  /**
   * Sends the reports gathered so far ({@link #onSendReports}). Also right before a worker's load
   * report or going-down notice is passed on: a worker sends those after its reports, and an entity
   * that got the load report first would see the tasks missing from it as no longer run.
   */
  private void flushReports() {
    if (reports.isEmpty()) {
      return;
    }
    ActorRef<QueueCommand> through = relay == null ? null : relay.target().orElse(null);
    if (through != null) {
      reports.flush((entity, report) -> through.tell(report));
    } else {
      reports.flush(this::send);
    }
  }

  private Behavior<QueueCommand> onWorkerServes(WorkerServes announcement) {
    stillRelayedThrough(announcement.worker());
    Set<String> types = new HashSet<>(announcement.taskTypes());
    Set<String> before = announced.put(announcement.worker(), Set.copyOf(types));
    if (lastAnnouncement.put(announcement.worker(), announcement) == null) {
      // its entries go when it stops: a queue node's front also keeps those of other nodes'
      // workers it relays, and workers come and go
      context.watchWith(announcement.worker(), new WorkerStopped(announcement.worker()));
    }
    if (relay != null) {
      relay.workerAnnounced();
      relay.target().ifPresent(front -> front.tell(announcement));
      return Behaviors.same(); // else kept, and sent once there is a front to go through
    }
    if (before != null) {
      types.addAll(before);
    }
    for (String entity : entitiesOfTypes(types)) {
      send(entity, announcement);
    }
    return Behaviors.same();
  }

  /** The entities of these types (those in the catalog), each once. */
  private Set<String> entitiesOfTypes(Set<String> types) {
    Set<String> entities = new java.util.LinkedHashSet<>();
    for (String type : types) {
      if (catalog.contains(type)) {
        entities.addAll(entitiesOf(type));
      }
    }
    return entities;
  }

  /**
   * To every entity of the worker's types. A report of a change goes only where the worker can be
   * shared between entities: one entity knows everything it handed out, and the periodic report
   * still finds lost messages.
   */
  private Behavior<QueueCommand> onWorkerLoad(WorkerLoad load) {
    stillRelayedThrough(load.worker());
    flushReports();
    Set<String> types = announced.get(load.worker());
    if (relay != null && types != null) {
      relay.target().ifPresent(front -> front.tell(load)); // that front routes it as here
      return Behaviors.same();
    }
    if (types == null) {
      return Behaviors
          .same(); // not announced through this front (yet): its announcement comes first
    }
    Set<String> entities = entitiesOfTypes(types);
    if (load.periodic() || entities.size() > 1) {
      for (String entity : entities) {
        send(entity, load);
      }
    }
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onWorkerGoingDown(WorkerGoingDown down) {
    stillRelayedThrough(down.worker());
    flushReports();
    Set<String> types = announced.get(down.worker());
    if (relay != null && types != null) {
      relay.target().ifPresent(front -> front.tell(down));
      return Behaviors.same();
    }
    if (types != null) {
      for (String entity : entitiesOfTypes(types)) {
        send(entity, down);
      }
    }
    return Behaviors.same();
  }

  /**
   * A worker's announcement, load report or going-down notice came through this front while its
   * queue node shuts down, from a worker on another node: that node's front still relays through
   * this one. It was not told at the start of the shutdown ({@link #withdrawRelay}) because this
   * node had not seen it join yet (it joined a moment before). A message from a node told then, in
   * flight as it was told, changes nothing. Such a node's messages went on into this node's shard
   * region, which hands its shards off and then stops, so they were lost until the node's front
   * heard that this node leaves, after the hand-off; and the entities started again elsewhere did
   * not know its workers meanwhile. It is told now, once: it moves to another queue node and
   * repeats its workers' last announcements through that one.
   */
  private void stillRelayedThrough(ActorRef<WorkerCommand> worker) {
    if (relay != null || queueRole == null || !leaving()) {
      return;
    }
    Address address = worker.path().address();
    if (!address.hasGlobalScope()
        || address.equals(Cluster.get(context.getSystem()).selfMember().address())
        || !toldWithdrawn.add(address)) {
      return; // a worker of this node, or told already
    }
    context
        .getLog()
        .info(
            "node {} still sends its workers' messages through this queue front, which withdrew as"
                + " its node shuts down: told it to use another queue node",
            address);
    AnnouncementRelay.frontAt(context, address)
        .tell(new QueueCommand.RelayWithdrawn(context.getSelf()));
  }

  /**
   * Split by entity: each answers for the ids it would hold. Not routed while this node leaves
   * ({@link #leaving}): no answer then.
   */
  private Behavior<QueueCommand> onCheckHeld(CheckHeld check) {
    if (leaving()) {
      // no answer: nothing is reported missing, and the asker asks again later (on the node the
      // sequencer moves to)
      return Behaviors.same();
    }
    if (!catalog.contains(check.taskType())) {
      check
          .replyTo()
          .tell(new dev.pekkoprover.protocol.MissingTasks(check.taskType(), check.taskIds()));
      return Behaviors.same();
    }
    Map<String, List<String>> byEntity = new LinkedHashMap<>();
    for (String id : check.taskIds()) {
      byEntity.computeIfAbsent(entityOf(check.taskType(), id), e -> new ArrayList<>()).add(id);
    }
    byEntity.forEach(
        (entity, ids) -> send(entity, new CheckHeld(check.taskType(), ids, check.replyTo())));
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onMemberChanged(MemberChanged changed) {
    ClusterEvent.MemberEvent event = changed.event();
    if (event instanceof ClusterEvent.MemberRemoved removed
        && removed.member().hasRole(queueRole)) {
      // on every node: also a node without the role (which relays, below) names it as the reason
      // of partial answers (a trial's /status lost the reason once the node was removed)
      queueNodeRemovedAt = System.nanoTime();
    }
    if (relay != null) {
      if (relay.memberEvent(event)) {
        sendThroughRelay();
      }
      return Behaviors.same();
    }
    if (event instanceof ClusterEvent.MemberUp up
        && !up.member().hasRole(queueRole)
        && !up.member().address().equals(Cluster.get(context.getSystem()).selfMember().address())) {
      // a node without the queue role joined: offer to route its workers' announcements before its
      // own region can
      AnnouncementRelay.frontAt(context, up.member().address())
          .tell(new QueueCommand.RelayOffer(context.getSelf()));
    }
    if (event instanceof ClusterEvent.MemberRemoved removed) {
      return onMemberRemoved(removed);
    }
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onReachabilityChanged(ReachabilityChanged changed) {
    if (relay.reachabilityEvent(changed.event())) {
      sendThroughRelay();
    }
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onRelayOffer(QueueCommand.RelayOffer offer) {
    if (relay != null && relay.offered(offer.front())) {
      sendThroughRelay();
    }
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onRelayWithdrawn(QueueCommand.RelayWithdrawn withdrawn) {
    if (relay != null && relay.withdrawn(withdrawn.front().path().address())) {
      sendThroughRelay();
    }
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onWithdrewFrom(WithdrewFrom withdrew) {
    toldWithdrawn.addAll(withdrew.nodes());
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onPostStop() {
    if (withdrawal != null) {
      withdrawal.cancel();
    }
    return Behaviors.same();
  }

  /** The workers' last announcements, through the relay's new front. */
  private void sendThroughRelay() {
    relay.target().ifPresent(front -> lastAnnouncement.values().forEach(front::tell));
  }

  /**
   * A watched worker stopped, or so Pekko says: its last announcement is no longer repeated. The
   * types it announced stay until its node is removed ({@link #onMemberRemoved}): Pekko answers a
   * watch at once from the tombstone of an earlier node at the same address, while the new node is
   * not Up here yet, and a live worker forgotten here had its next announcement (Registered, no
   * types) routed to no entity, so its registration's entity never heard that it registered (a
   * trial's stall; the entity's own check, {@code LocalTaskQueue#onWorkerStopped}).
   */
  private Behavior<QueueCommand> onWorkerStopped(WorkerStopped stopped) {
    lastAnnouncement.remove(stopped.worker());
    return Behaviors.same();
  }

  /**
   * Why a gathering of the entities' answers may be partial now for a normal reason (read by the
   * {@link KeyedGather} actors, any thread): a node with the queue role unreachable, leaving, or
   * removed in the last 30 s, whose entities answer once they run on another queue node; else null.
   */
  private String queueNodeInTransit() {
    if (cluster == null) {
      return null;
    }
    ClusterEvent.CurrentClusterState state = cluster.state();
    String inTransit =
        queueNodeInTransit(
            state.getMembers(),
            state.getUnreachable(),
            queueRole,
            queueNodeRemovedAt,
            System.nanoTime());
    if (inTransit != null) {
      return inTransit;
    }
    // only in the first max-wait (plus a margin) after this node is Up: later the first placement
    // is done, and fewer queue nodes than the setting (one lost for good) is no such reason
    long now = System.nanoTime();
    if (placementWaitEnds == 0) {
      MemberStatus self = cluster.selfMember().status();
      if (self != MemberStatus.up() && self != MemberStatus.weaklyUp()) {
        return null;
      }
      placementWaitEnds = now + placement.waitOverWithin().toNanos();
    }
    if (now - placementWaitEnds > 0) {
      return null;
    }
    return inFirstMinutes(
        QueuePlacement.firstPlacementWait(state.getMembers(), queueRole, placement.queueNodes()),
        answeredInFullOnce);
  }

  /**
   * The reason for partial answers in this node's first minutes Up, when no queue node is in
   * transit: the first placement's wait ({@code placing}, null when none), else {@link #STARTING}
   * until a gathering has had every answer; null after that.
   */
  static String inFirstMinutes(String placing, boolean answeredInFullOnce) {
    return placing != null || answeredInFullOnce ? placing : STARTING;
  }

  /**
   * Why the entities' answers are partial before any gathering of this node got them all, in the
   * same first minutes after it is Up: they start at their first question, once the shard
   * coordinator runs and has placed them. A trial's standby sequencer node, which asks for the
   * fleet view from its start, logged the partial answers of a forming cluster as a WARN.
   */
  static final String STARTING =
      "the queue entities have not all answered this node since it started: in a cluster that is"
          + " forming, they start at their first question once the shard coordinator has placed"
          + " them";

  /** Why a leaving node's fleet view is empty. */
  static final String LEAVING = "this node is leaving: its queue front asks the entities no more";

  /**
   * A gathering of this node has had every entity's answer (in its first minutes: {@link
   * #STARTING}).
   */
  private volatile boolean answeredInFullOnce;

  /** Notes an outcome that has every entity's answer; the outcome as is. */
  private <A> KeyedGather.Outcome<A> noted(KeyedGather.Outcome<A> outcome) {
    if (outcome.complete()) {
      answeredInFullOnce = true;
    }
    return outcome;
  }

  /**
   * {@link #queueNodeInTransit()} of a cluster view: {@code removedAt} is when a queue node was
   * last removed (0: never), {@code now} the same clock's reading.
   */
  static String queueNodeInTransit(
      Iterable<Member> members,
      Iterable<Member> unreachable,
      String queueRole,
      long removedAt,
      long now) {
    for (Member member : unreachable) {
      if (member.hasRole(queueRole)) {
        return "queue node " + member.address() + " is unreachable";
      }
    }
    for (Member member : members) {
      if (member.hasRole(queueRole)
          && member.status() != MemberStatus.up()
          && member.status() != MemberStatus.weaklyUp()
          && member.status() != MemberStatus.joining()) {
        return "queue node " + member.address() + " is " + member.status();
      }
    }
    if (removedAt != 0 && now - removedAt < ENTITIES_MOVE_WITHIN_NANOS) {
      return "a queue node was removed less than 30 s ago";
    }
    return null;
  }

  private Behavior<QueueCommand> onMemberRemoved(ClusterEvent.MemberRemoved removed) {
    // the workers of that node are of no more use (a worker of a node started again at that
    // address is another actor); both maps forget them now, not at their Terminated, which may come
    // later: a worker known to one map and not the other failed the repetition below (an NPE that
    // restarted the front, seen on a downed node in a trial)
    Address gone = removed.member().address();
    announced.keySet().removeIf(worker -> worker.path().address().equals(gone));
    lastAnnouncement.keySet().removeIf(worker -> worker.path().address().equals(gone));
    // not while this node leaves: its own removal is the last event it sees, and the queue nodes
    // that stay repeat their own workers' announcements (relayed workers choose another front)
    if (removed.member().hasRole(queueRole) && !lastAnnouncement.isEmpty() && !leaving()) {
      context
          .getLog()
          .info(
              "queue node {} was removed: its queues start again on another queue node; repeating the "
                  + "announcements of {} worker(s) of this node and those it relays",
              removed.member().address(),
              lastAnnouncement.size());
      lastAnnouncement
          .values()
          .forEach(
              announcement -> {
                Set<String> types = announced.get(announcement.worker());
                if (types == null) {
                  return; // both maps are kept together; nothing to repeat without its types
                }
                for (String entity : entitiesOfTypes(types)) {
                  send(entity, announcement);
                }
              });
    }
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onCancelFlow(CancelFlow cancel) {
    for (String type : catalog.names()) {
      for (String entity : entitiesOf(type)) {
        send(entity, cancel);
      }
    }
    return Behaviors.same();
  }

  /**
   * Every entity is asked; the answers are merged ({@link StatsCollector#merge}). One that does not
   * answer in time is stood in for by its last answer, at most {@link #CARRY_OVER_AT_MOST} old, and
   * one that missed the last gathering is waited for only {@link #AFTER_MISS} ({@link
   * KeyedGather}). While this node leaves ({@link #leaving}), or no queue node is Up ({@link
   * #noQueueNodeUp}), none is: empty stats at once.
   */
  private Behavior<QueueCommand> onGetStats(GetStats request) {
    if (answerEmpty()) {
      request.replyTo().tell(StatsCollector.merge(List.of()));
      return Behaviors.same();
    }
    context.spawnAnonymous(
        KeyedGather.create(
            allEntities(),
            entity -> ask(entity, GetStats::new),
            settings.statsTimeout(),
            AFTER_MISS,
            CARRY_OVER_AT_MOST,
            lastStats,
            outcome -> StatsCollector.merge(KeyedGather.all(noted(outcome))),
            request.replyTo(),
            statsAnswers));
    return Behaviors.same();
  }

  /**
   * Every entity is asked; the answers are merged ({@link FleetView#merge(KeyedGather.Outcome,
   * String)}), with the last answers of those that do not answer in time carried over and marked,
   * as for {@link #onGetStats}. While this node leaves ({@link #leaving}), or no queue node is Up
   * ({@link #noQueueNodeUp}), none is: an empty view at once, 0 of the entities answered.
   */
  private Behavior<QueueCommand> onGetFleet(GetFleet request) {
    List<String> entities = allEntities();
    if (answerEmpty()) {
      FleetView none = FleetView.merge(List.of(), entities.size());
      if (leaving()) { // its /status says so, not that a queue node may be lost (a review)
        none =
            FleetView.merge(
                new KeyedGather.Outcome<FleetView>(Map.of(), Map.of(), entities.size()), LEAVING);
      }
      request.replyTo().tell(none);
      return Behaviors.same();
    }
    context.spawnAnonymous(
        KeyedGather.create(
            entities,
            entity -> ask(entity, GetFleet::new),
            settings.statsTimeout(),
            AFTER_MISS,
            CARRY_OVER_AT_MOST,
            lastFleet,
            outcome ->
                FleetView.merge(noted(outcome), outcome.complete() ? null : queueNodeInTransit()),
            request.replyTo(),
            fleetAnswers));
    return Behaviors.same();
  }

  /** Asks one entity, through this node's shard region, within the stats timeout. */
  private <A> CompletionStage<A> ask(
      String entity, java.util.function.Function<ActorRef<A>, QueueCommand> question) {
    return AskPattern.ask(
        region,
        (ActorRef<A> replyTo) -> new ShardingEnvelope<>(entity, question.apply(replyTo)),
        settings.statsTimeout(),
        scheduler);
  }

  private List<String> allEntities() {
    List<String> entities = new ArrayList<>();
    for (String type : catalog.names()) {
      entities.addAll(entitiesOf(type));
    }
    return entities;
  }

  /**
   * Sums the entities' counters (gathered by {@link KeyedGather}: a slow entity's last answer
   * stands in for its own).
   */
  static final class StatsCollector {
    private StatsCollector() {}

    static QueueStats merge(List<QueueStats> answers) {
      Map<String, QueueStats.TypeStats> types = new LinkedHashMap<>();
      int workers = 0;
      long unknown = 0;
      long repeated = 0;
      for (QueueStats stats : answers) {
        stats.types().forEach((type, counts) -> types.merge(type, counts, StatsCollector::add));
        // a worker serving several types is known to several entities: the largest count is a lower
        // bound
        workers = Math.max(workers, stats.workers());
        unknown += stats.unknownResults();
        repeated += stats.repeatedEnqueues();
      }
      return new QueueStats(types, workers, unknown, repeated);
    }

    private static QueueStats.TypeStats add(QueueStats.TypeStats a, QueueStats.TypeStats b) {
      return a.plus(b);
    }
  }
}
