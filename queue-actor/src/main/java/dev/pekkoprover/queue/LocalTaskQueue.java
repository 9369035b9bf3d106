package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.MissingTasks;
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
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;

/**
 * The task queue for one JVM: a plain actor holding one queue per task type, speaking {@link
 * QueueCommand}. It only translates messages into calls on {@link TaskQueueState} and that state's
 * effects into messages, timers and log lines; the rules (capacity, idle-first, leases, redelivery,
 * retries) live there. Beside it, plain classes too: {@link WorkerAdmission} (which announced
 * workers get work), {@link WorkerOutbox} (one message per worker for what one message decided) and
 * {@link QueueStatus} (fleet view, meters, recent failures).
 *
 * <p>Not to miss: all state is in memory. If this actor stops, its tasks are gone and flows must
 * enqueue again. As a sharded entity ({@link #createInCluster}) it also follows the cluster's
 * reachability: the tasks of a worker on a node that becomes unreachable go back at once (the
 * failure detector notices a dead process in about 3 s), instead of after the downing decision or
 * the lease.
 */
public final class LocalTaskQueue {

  // ---- private messages: to itself only, never across a node, so not serialised ----

  /** Time to look for overrun leases (one fixed-delay timer for the whole queue). */
  private enum LeaseTick implements QueueCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** A failed task's retry backoff is over; also its timer key. */
  private record RetryDue(String taskId)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  /** A watched worker actor terminated. */
  record WorkerStopped(ActorRef<WorkerCommand> worker)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  /** A cluster node became unreachable or reachable again (sharded entities only). */
  private record NodeReachability(ClusterEvent.ReachabilityEvent event)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  /**
   * A cluster member was removed (sharded entities only): the flows on it are gone, so their tasks
   * here are given up ({@link TaskQueueState#repliesGone}).
   */
  private record NodeRemoved(ClusterEvent.MemberRemoved event)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  /** Time to publish the counters the metrics read; also its timer key. */
  private enum PublishMetrics implements QueueCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** The entity tag of the queue of one JVM's meters. */
  static final String LOCAL_ENTITY = "local";

  /** The queue of one JVM: nothing can be lost between nodes. */
  public static Behavior<QueueCommand> create(TaskCatalog catalog, QueueSettings settings) {
    return create(catalog, settings, null, System::nanoTime, 0);
  }

  /**
   * The queue of one JVM that checks every input as a cluster's queue front does ({@code
   * prover.queue.check-payloads-in-one-jvm}): one that does not serialise, is over {@code
   * maxPayloadBytes} serialised, or does not read back is rejected with the reason, and one that
   * passes goes on to its worker as those bytes, decoded there as on another node. So a test in one
   * JVM finds the input that would fail across nodes; it costs one serialisation per input.
   *
   * @param maxPayloadBytes the largest serialised input ({@code
   *     prover.queue.cluster.max-payload-size}); 0 checks nothing
   */
  public static Behavior<QueueCommand> create(
      TaskCatalog catalog, QueueSettings settings, long maxPayloadBytes) {
    return create(catalog, settings, null, System::nanoTime, maxPayloadBytes);
  }

  /**
   * The queue of one JVM on another clock, for tests: leases, lost-in-transit detection and the
   * measured wait and run times follow {@code nanoClock}; timers (lease checks, retry backoffs,
   * metrics) follow the actor system's scheduler. Under Pekko's {@code ManualTime}, give it that
   * scheduler's time, so that one advance moves both.
   *
   * @param nanoClock monotonic time in nanoseconds
   */
  static Behavior<QueueCommand> create(
      TaskCatalog catalog, QueueSettings settings, LongSupplier nanoClock) {
    return create(catalog, settings, null, nanoClock, 0);
  }

  /**
   * The behavior of one sharded queue entity: as {@link #create}, and it follows the cluster's
   * reachability events (the actor system must be a cluster member).
   *
   * @param entityId {@code type} or {@code type#n}: the one type (partition) this entity holds,
   *     which its meters and its part of the fleet view are about
   */
  public static Behavior<QueueCommand> createInCluster(
      TaskCatalog catalog, QueueSettings settings, String entityId) {
    return create(catalog, settings, entityId, System::nanoTime, 0);
  }

  private static Behavior<QueueCommand> create(
      TaskCatalog catalog,
      QueueSettings settings,
      String entityId,
      LongSupplier nanoClock,
      long maxPayloadBytes) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(
                      LeaseTick.INSTANCE, settings.leaseCheckInterval());
                  if (entityId != null) {
                    Cluster.get(context.getSystem())
                        .subscriptions()
                        .tell(
                            Subscribe.create(
                                context.messageAdapter(
                                    ClusterEvent.ReachabilityEvent.class, NodeReachability::new),
                                ClusterEvent.ReachabilityEvent.class));
                    Cluster.get(context.getSystem())
                        .subscriptions()
                        .tell(
                            Subscribe.create(
                                context.messageAdapter(
                                    ClusterEvent.MemberRemoved.class, NodeRemoved::new),
                                ClusterEvent.MemberRemoved.class));
                  }
                  ProverMetrics metrics = ProverMetrics.get(context.getSystem());
                  if (metrics.enabled()) {
                    timers.startTimerWithFixedDelay(
                        PublishMetrics.INSTANCE, metrics.refreshInterval());
                  }
                  return new LocalTaskQueue(
                          context,
                          timers,
                          catalog,
                          settings,
                          entityId,
                          metrics,
                          nanoClock,
                          maxPayloadBytes)
                      .running();
                }));
  }

  /** The type of an entity id: {@code type#n} is partition n of {@code type}. */
  static String typeOfEntity(String entityId) {
    int hash = entityId.lastIndexOf('#');
    return hash < 0 ? entityId : entityId.substring(0, hash);
  }

  private final ActorContext<QueueCommand> context;
  private final TimerScheduler<QueueCommand> timers;
  private final QueueSettings settings;
  private final Logger log;
  private final TaskQueueState<ActorRef<WorkerCommand>, ActorRef<TaskOutcome>> state;
  private final Set<ActorRef<WorkerCommand>> watched = new HashSet<>();

  /** How often an entity whose node's catalog lacks its type says so, at most. */
  static final Duration NOT_IN_CATALOG_EVERY = Duration.ofMinutes(1);

  /** Tasks refused since the last line for a type this node's catalog lacks. */
  private long notInCatalog;

  /** When that line was said last ({@link System#nanoTime}; 0: never). */
  private long notInCatalogSaid;

  /**
   * The refusal of a task whose type this queue node's catalog lacks, said as a deployment mismatch
   * ({@link TaskOutcome.Rejected#NOT_IN_QUEUE_NODE_CATALOG}), which its flow waits out.
   */
  private TaskOutcome.Rejected lacksType(TaskOutcome.Rejected rejected) {
    Address self = context.getSystem().address();
    return new TaskOutcome.Rejected(
        rejected.taskId(),
        rejected.flowId(),
        rejected.runId(),
        rejected.taskType(),
        TaskOutcome.Rejected.NOT_IN_QUEUE_NODE_CATALOG
            + self.getHost().orElse("?")
            + ":"
            + self.getPort().orElse(0)
            + ", which knows "
            + catalog.names()
            + ": it runs another --plugin or build than the node that sent the task. Restart it"
            + " with the same jars and --plugin as the sequencer's node (the same task catalog, for"
            + " a node assembled in code); the flow keeps its tasks"
            + " and sends them again meanwhile");
  }

  /** The entity of the registration type (its offers wait here until a worker takes them). */
  private final boolean registrationOnly;

  /** A sharded entity ({@link #createInCluster}), not the one queue of a JVM. */
  private final boolean sharded;

  /**
   * The dispatches and cancellations decided while handling the current message; flushed at its
   * end.
   */
  private final WorkerOutbox outbox;

  /** The last announcement of each worker, so that periodic repeats are not logged. */
  private final Map<String, WorkerServes> announcements = new HashMap<>();

  /** Which announced workers get work: unique ids, the run's catalog and keys. */
  private final WorkerAdmission admission;

  /** The fleet view, the meters and the recent failures. */
  private final QueueStatus status;

  /**
   * The inputs' check in one JVM ({@code prover.queue.check-payloads-in-one-jvm}); off nearly
   * always.
   */
  private final PayloadCheck payloads;

  private final TaskCatalog catalog;

  private LocalTaskQueue(
      ActorContext<QueueCommand> context,
      TimerScheduler<QueueCommand> timers,
      TaskCatalog catalog,
      QueueSettings settings,
      String entityId,
      ProverMetrics metrics,
      LongSupplier nanoClock,
      long maxPayloadBytes) {
    this.context = context;
    this.payloads = new PayloadCheck(context.getSystem(), maxPayloadBytes);
    this.catalog = catalog;
    this.sharded = entityId != null;
    this.registrationOnly =
        entityId != null
            && typeOfEntity(entityId).equals(dev.pekkoprover.protocol.WorkerRegistrationTask.NAME);
    this.outbox = new WorkerOutbox(context.getSelf());
    this.timers = timers;
    this.settings = settings;
    // else a Pekko logger, which a node's logback keeps at WARN; a cluster's entities log as the
    // sharded queue they are, so that an operator finds their lines under that name
    context.setLoggerName(sharded ? ShardedTaskQueue.class : LocalTaskQueue.class);
    this.log = context.getLog();
    this.state =
        new TaskQueueState<>(catalog, settings, new Effects(), nanoClock, metrics.enabled());
    this.admission = new WorkerAdmission(catalog, entityId, log, this::nodeOf);
    List<String> ownTypes =
        entityId == null ? List.copyOf(catalog.names()) : List.of(typeOfEntity(entityId));
    boolean firstPartition = entityId == null || !entityId.contains("#") || entityId.endsWith("#0");
    QueueMeters meters =
        new QueueMeters(
            metrics, ownTypes, entityId == null ? LOCAL_ENTITY : entityId, firstPartition);
    this.status = new QueueStatus(state, meters, ownTypes, this::nodeOf);
    status.publishMetrics(announcements.values(), admission::refusalOf);
  }

  private Behavior<QueueCommand> running() {
    return Behaviors.receive(QueueCommand.class)
        .onMessage(TaskSucceeded.class, this::onTaskSucceeded)
        .onMessage(Reports.class, this::onReports)
        .onMessage(Enqueue.class, this::onEnqueue)
        .onMessage(TaskFailed.class, this::onTaskFailed)
        .onMessage(TaskDeclined.class, this::onTaskDeclined)
        .onMessage(WorkerLoad.class, this::onWorkerLoad)
        .onMessage(WorkerServes.class, this::onWorkerServes)
        .onMessage(WorkerGoingDown.class, this::onWorkerGoingDown)
        .onMessage(WorkerStopped.class, this::onWorkerStopped)
        .onMessage(WatchAgain.class, this::onWatchAgain)
        .onMessage(NodeReachability.class, this::onNodeReachability)
        .onMessage(NodeRemoved.class, this::onNodeRemoved)
        .onMessage(CheckHeld.class, this::onCheckHeld)
        .onMessageEquals(LeaseTick.INSTANCE, this::onLeaseTick)
        .onMessage(RetryDue.class, this::onRetryDue)
        .onMessage(CancelFlow.class, this::onCancelFlow)
        .onMessage(QueueCommand.RunCatalog.class, this::onRunCatalog)
        .onMessage(QueueCommand.RunStarted.class, this::onRunStarted)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(GetFleet.class, this::onGetFleet)
        .onMessageEquals(PublishMetrics.INSTANCE, this::onPublishMetrics)
        .onSignal(PostStop.class, signal -> onPostStop())
        .onSignal(PreRestart.class, signal -> onStop())
        .build();
  }

  private Behavior<QueueCommand> onStop() {
    status.close();
    return Behaviors.same();
  }

  /**
   * The entity stops. When its node shuts down (its shards are handed off: a rolling restart), it
   * tells the workers it knows ({@link WorkerCommand.QueueEntityStopping}): Pekko sends watchers on
   * other nodes no death-watch notification once a node's CoordinatedShutdown has begun (Artery
   * leaves them to the member's removal, about a second later), and the workers must report what
   * they hold for this entity to its new life before the sequencer sends its tasks again.
   */
  private Behavior<QueueCommand> onPostStop() {
    if (sharded
        && !watched.isEmpty()
        && CoordinatedShutdown.get(context.getSystem()).getShutdownReason().isPresent()) {
      WorkerCommand.QueueEntityStopping stopping =
          new WorkerCommand.QueueEntityStopping(context.getSelf());
      watched.forEach(worker -> worker.tell(stopping));
      log.debug(
          "queue entity stops as its node shuts down: told {} worker(s) to report what they hold"
              + " through their queue front",
          watched.size());
    }
    return onStop();
  }

  private Behavior<QueueCommand> onEnqueue(Enqueue msg) {
    List<TaskEnvelope> tasks = payloads.enabled() ? checked(msg) : msg.tasks();
    for (TaskEnvelope task : tasks) {
      if (WorkerRegistrationTask.NAME.equals(task.taskType())) {
        admission.registrationOffered(task);
      }
    }
    state.enqueueAll(tasks, msg.replyTo());
    outbox.flush();
    return Behaviors.same();
  }

  /**
   * The tasks whose input passed the check of {@link #payloads} ({@link InputCheck}, as a cluster's
   * queue front checks them), each other one refused with the reason.
   */
  private List<TaskEnvelope> checked(Enqueue msg) {
    List<TaskEnvelope> passed = new ArrayList<>(msg.tasks().size());
    for (TaskEnvelope task : msg.tasks()) {
      if (!catalog.contains(task.taskType())) {
        passed.add(task); // the state rejects it, naming the types it knows
        continue;
      }
      InputCheck.Checked checked = InputCheck.of(payloads, task);
      if (checked.ok()) {
        passed.add(checked.task());
      } else {
        InputCheck.refuse(log, msg.replyTo(), task, checked.problem());
      }
    }
    return passed;
  }

  private Behavior<QueueCommand> onTaskSucceeded(TaskSucceeded msg) {
    succeeded(msg);
    outbox.flush();
    return Behaviors.same();
  }

  private void succeeded(TaskSucceeded msg) {
    if (!state.succeeded(
        msg.workerId(),
        msg.incarnation(),
        msg.taskId(),
        msg.runId(),
        msg.attempt(),
        msg.result())) {
      logUnknown("result", msg.taskId(), msg.taskType(), msg.workerId(), msg.incarnation());
    }
  }

  /**
   * A batch of worker reports: each as if it came alone, then one round of dispatches for all of
   * them.
   */
  private Behavior<QueueCommand> onReports(Reports msg) {
    msg.succeeded().forEach(this::succeeded);
    msg.failed().forEach(this::failed);
    msg.declined().forEach(this::declined);
    outbox.flush();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onTaskFailed(TaskFailed msg) {
    failed(msg);
    outbox.flush();
    return Behaviors.same();
  }

  private void failed(TaskFailed msg) {
    if (!state.failed(
        msg.workerId(),
        msg.incarnation(),
        msg.taskId(),
        msg.runId(),
        msg.attempt(),
        msg.reason(),
        msg.retryable())) {
      logUnknown(
          "failure (" + msg.reason() + ")",
          msg.taskId(),
          msg.taskType(),
          msg.workerId(),
          msg.incarnation());
    }
  }

  private Behavior<QueueCommand> onTaskDeclined(TaskDeclined msg) {
    declined(msg);
    outbox.flush();
    return Behaviors.same();
  }

  private void declined(TaskDeclined msg) {
    if (!state.declined(
        msg.workerId(),
        msg.incarnation(),
        msg.taskId(),
        msg.runId(),
        msg.attempt(),
        msg.noFreeSlot())) {
      logUnknown("decline", msg.taskId(), msg.taskType(), msg.workerId(), msg.incarnation());
    } else if (msg.noFreeSlot()) {
      // two entities filled the same slot, and this one has room elsewhere now: not a fault
      log.debug(
          "worker {} handed back task {} (type {}, dispatch {}), which waited there: {}",
          msg.workerId(),
          msg.taskId(),
          msg.taskType(),
          msg.attempt(),
          msg.reason());
    } else {
      log.info(
          "worker {} declined task {} (type {}, dispatch {}): {}",
          msg.workerId(),
          msg.taskId(),
          msg.taskType(),
          msg.attempt(),
          msg.reason());
    }
  }

  private Behavior<QueueCommand> onWorkerServes(WorkerServes msg) {
    WorkerServes previous = announcements.get(msg.workerId());
    if (admission.clashes(msg, previous)) {
      return Behaviors.same();
    }
    announcements.put(msg.workerId(), msg);
    if (watched.add(msg.worker())) {
      context.watchWith(msg.worker(), new WorkerStopped(msg.worker()));
    }
    if (!admission.admits(msg)) {
      // known (its old incarnation's tasks go back, the fleet view lists it) but seated nowhere: it
      // gets no work
      state.workerServes(
          msg.workerId(), msg.incarnation(), msg.worker(), Set.of(), msg.capacity(), msg.state());
      outbox.flush();
      return Behaviors.same();
    }
    if (msg.state() == WorkerState.DRAINING) {
      if ((previous == null || previous.state() != WorkerState.DRAINING)
          && admission.speaksFor(msg)) {
        log.info(
            "worker {} (incarnation {}) drains: its node shuts down; it gets no more work and"
                + " finishes the computes it runs",
            msg.workerId(),
            msg.incarnation());
      }
    } else if (!msg.equals(previous)
        && admission.speaksFor(msg)) { // in a cluster: one entity of the worker's types
      log.info(
          "worker {} (incarnation {}) serves {} with capacity {}",
          msg.workerId(),
          msg.incarnation(),
          msg.taskTypes(),
          msg.capacity());
    } // else a periodic repeat (nothing changed) or another entity's line: nothing to log
    state.workerServes(
        msg.workerId(),
        msg.incarnation(),
        msg.worker(),
        msg.taskTypes(),
        msg.capacity(),
        msg.state());
    outbox.flush();
    return Behaviors.same();
  }

  /**
   * Judges the next announcements against the sequencer's catalog and the run's keys, and gives up
   * the tasks of runs older than this one ({@link TaskQueueState#runStarted}).
   */
  private Behavior<QueueCommand> onRunCatalog(QueueCommand.RunCatalog msg) {
    admission.runCatalog(msg);
    state.runStarted(msg.runId());
    outbox.flush();
    return Behaviors.same();
  }

  /** Gives up the tasks of runs older than this one ({@link TaskQueueState#runStarted}). */
  private Behavior<QueueCommand> onRunStarted(QueueCommand.RunStarted msg) {
    state.runStarted(msg.runId());
    outbox.flush();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onWorkerLoad(WorkerLoad msg) {
    WorkerServes known = announcements.get(msg.workerId());
    if (known != null && known.worker().equals(msg.worker())) {
      state.workerLoad(
          msg.workerId(),
          msg.incarnation(),
          msg.heldTaskIds(),
          msg.waitingTaskIds(),
          msg.orphanedTaskIds(),
          msg.orphanedRunIds());
      outbox.flush();
    }
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onWorkerGoingDown(WorkerGoingDown msg) {
    WorkerServes known = announcements.get(msg.workerId());
    if (known == null || !known.worker().equals(msg.worker())) {
      return Behaviors.same();
    }
    int held =
        state.workerGoingDown(
            msg.workerId(), msg.incarnation(), Set.copyOf(msg.causedBy()), msg.drainOver());
    if (held > 0) {
      log.warn(
          "worker {} (incarnation {}) is going down ({}); the {} task(s) it held here were put back",
          msg.workerId(),
          msg.incarnation(),
          msg.reason(),
          held);
    }
    outbox.flush();
    return Behaviors.same();
  }

  /** The cluster address of the node a worker lives on (this node's for a local reference). */
  private Address nodeOf(ActorRef<?> ref) {
    Address address = ref.path().address();
    return address.hasGlobalScope() ? address : context.getSystem().address();
  }

  private Behavior<QueueCommand> onNodeReachability(NodeReachability msg) {
    Address node = msg.event().member().address();
    boolean unreachable = msg.event() instanceof ClusterEvent.UnreachableMember;
    // the flows on that node (a sequencer node's): no worker starts their tasks while it may be
    // dead; first, so that the tasks its own workers held, put back below, are held too
    boolean onlyTheOffer = registrationOnly; // the registration loop's lone offer: not worth a line
    if (unreachable) {
      int held = state.holdBack(node, flow -> nodeOf(flow).equals(node));
      if (held > 0 && !onlyTheOffer) {
        log.info(
            "node {} is unreachable: {} waiting task(s) of its flows held back here until it is"
                + " reachable again (dropped if it is removed)",
            node,
            held);
      }
    } else {
      int back = state.releaseHeld(node);
      if (back > 0 && !onlyTheOffer) {
        log.info(
            "node {} is reachable again: {} task(s) of its flows back in the queue", node, back);
      }
    }
    List<String> workers = new ArrayList<>();
    announcements.forEach(
        (workerId, serves) -> {
          if (nodeOf(serves.worker()).equals(node)) {
            workers.add(workerId);
          }
        });
    for (String workerId : workers) {
      if (unreachable) {
        int held = state.workerUnreachable(workerId);
        if (held > 0) {
          // INFO: each task put back has its own WARN line, naming the worker and why
          log.info(
              "node {} of worker {} is unreachable: the {} task(s) it held here were put back; it gets no work "
                  + "until it is reachable again",
              node,
              workerId,
              held);
        }
      } else {
        state.workerReachable(workerId);
      }
    }
    if (!unreachable && !workers.isEmpty()) {
      log.info("node {} is reachable again: its worker(s) {} get work again", node, workers);
    }
    outbox.flush();
    return Behaviors.same();
  }

  /**
   * A member left the cluster for good: the flows there (a sequencer node's, killed or downed) can
   * never take an outcome, so their tasks here are dropped, or cancelled on their workers, instead
   * of keeping the fleet busy until a new sequencer run starts; that run sends them again. A worker
   * node's removal changes nothing here (its workers are watched).
   */
  private Behavior<QueueCommand> onNodeRemoved(NodeRemoved msg) {
    Address node = msg.event().member().address();
    MemberStatus self = Cluster.get(context.getSystem()).selfMember().status();
    if (node.equals(context.getSystem().address())
        || (self != MemberStatus.up() && self != MemberStatus.weaklyUp())
        || org.apache.pekko.actor.CoordinatedShutdown.get(context.getSystem())
            .getShutdownReason()
            .isPresent()) {
      // this node itself, or this node on its way out (downed, leaving: as its cluster stops, Pekko
      // says every other member was removed, while those flows live on): its tasks are not to go
      return Behaviors.same();
    }
    TaskQueueState.GivenUp given =
        state.repliesGone(
            node,
            flow -> nodeOf(flow).equals(node),
            "its flow's node " + node + " left the cluster");
    // the registration loop's offer waits here for good, so every sequencer node's end, a normal
    // one too, leaves one: not worth a line
    boolean onlyTheOffer = given.cancelled() == 0 && registrationOnly;
    if (given.dropped() + given.cancelled() > 0 && !onlyTheOffer) {
      log.info(
          "node {} left the cluster with the flows of {} task(s) here: {} waiting dropped, {} in"
              + " flight cancelled (their results could reach no one; a new sequencer run sends"
              + " them again)",
          node,
          given.dropped() + given.cancelled(),
          given.dropped(),
          given.cancelled());
    }
    outbox.flush();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onCheckHeld(CheckHeld msg) {
    msg.replyTo().tell(new MissingTasks(msg.taskType(), state.notHeld(msg.taskIds())));
    return Behaviors.same();
  }

  /**
   * A worker on another node whose death watch fired while a cluster member at its address was
   * alive, watched once more ({@link #onWorkerStopped}): the next Terminated for it is believed.
   */
  private final Set<ActorRef<WorkerCommand>> watchedAgain = new HashSet<>();

  /** How often a suspect Terminated's worker is looked at again ({@link WatchAgain}). */
  static final Duration WATCH_AGAIN_EVERY = Duration.ofMillis(500);

  /** Looks at it again for this many times (10 s) before its Terminated is believed. */
  static final int WATCH_AGAIN_TRIES = 20;

  /** Time to look again at a worker whose Terminated is suspect ({@link #onWorkerStopped}). */
  record WatchAgain(ActorRef<WorkerCommand> worker, int tries)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  /**
   * A watched worker stopped, or its node is gone. Pekko answers a watch at once with Terminated
   * when the watched actor's address (host and port) is not an Up member here and a removed member
   * had that address lately (its tombstone): a worker node killed and started again at the same
   * address announces its workers before this node sees it Up, so its new worker, watched then, was
   * declared terminated at once; its tasks were put back (a worker loss spent) and computed a
   * second time while it computed them (an operator's trial, 1 restart in 3). So a Terminated for a
   * worker on another node whose address has a live member (Joining, WeaklyUp or Up, reachable) is
   * checked: every {@link #WATCH_AGAIN_EVERY} it is looked at again, and once its node is Up here
   * it is watched again; a worker that did stop (or an old incarnation, whose uid the new node does
   * not know) is then reported terminated again at once, a live one is not. A node that does not
   * become Up within {@link #WATCH_AGAIN_TRIES} looks has its worker's Terminated believed.
   */
  private Behavior<QueueCommand> onWorkerStopped(WorkerStopped msg) {
    if (!watchedAgain.remove(msg.worker()) && memberStatus(msg.worker().path().address()) != null) {
      timers.startSingleTimer(
          new WatchAgain(msg.worker(), 0), new WatchAgain(msg.worker(), 1), WATCH_AGAIN_EVERY);
      log.debug(
          "worker {} reported terminated while a member at its address is alive: looked at again"
              + " until its node is Up here, to tell its own end from an earlier node's at that"
              + " address",
          msg.worker().path());
      return Behaviors.same();
    }
    return workerTerminated(msg);
  }

  /** The worker of a suspect Terminated, looked at again ({@link #onWorkerStopped}). */
  private Behavior<QueueCommand> onWatchAgain(WatchAgain again) {
    MemberStatus status = memberStatus(again.worker().path().address());
    if (status == MemberStatus.up() || status == MemberStatus.weaklyUp()) {
      watchedAgain.add(again.worker());
      context.watchWith(again.worker(), new WorkerStopped(again.worker()));
      log.debug("worker {}: its node is Up here, watched again", again.worker().path());
      return Behaviors.same();
    }
    if (status != null && again.tries() < WATCH_AGAIN_TRIES) {
      timers.startSingleTimer(
          new WatchAgain(again.worker(), 0),
          new WatchAgain(again.worker(), again.tries() + 1),
          WATCH_AGAIN_EVERY);
      return Behaviors.same();
    }
    return workerTerminated(new WorkerStopped(again.worker()));
  }

  private Behavior<QueueCommand> workerTerminated(WorkerStopped msg) {
    watched.remove(msg.worker());
    Map<String, Integer> held = new HashMap<>();
    announcements.forEach(
        (workerId, serves) -> {
          if (serves.worker().equals(msg.worker())) {
            held.put(workerId, state.slotsTaken(workerId));
          }
        });
    admission.workerStopped(msg.worker(), held.keySet());
    for (String workerId : held.keySet()) {
      status.departed(announcements.get(workerId));
    }
    for (String workerId : state.workerTerminated(msg.worker())) {
      announcements.remove(workerId);
      int tasks = held.getOrDefault(workerId, -1);
      if (tasks > 0) {
        // INFO: each put-back task has its own WARN, naming the worker; this one says where it was
        log.info(
            "worker {} terminated ({}); the {} task(s) it held here were put back",
            workerId,
            msg.worker().path(),
            tasks);
      } else {
        // in a cluster every entity of a type it served sees this: only those that held its tasks
        // warn
        log.debug("worker {} terminated ({}); it held no task here", workerId, msg.worker().path());
      }
    }
    outbox.flush();
    return Behaviors.same();
  }

  /**
   * The status of a live cluster member at {@code address}: Joining, WeaklyUp or Up, and reachable;
   * null when there is none, for this JVM's actors (their Terminated is their own) and outside a
   * cluster. A scan of the members, made only when a worker on another node is reported terminated.
   */
  private MemberStatus memberStatus(Address address) {
    if (!address.hasGlobalScope()) {
      return null;
    }
    ClusterEvent.CurrentClusterState cluster = Cluster.get(context.getSystem()).state();
    MemberStatus alive = null;
    for (Member member : cluster.getMembers()) { // the old and the new member may both be there
      MemberStatus status = member.status();
      if (member.address().equals(address)
          && (status == MemberStatus.joining()
              || status == MemberStatus.weaklyUp()
              || status == MemberStatus.up())
          && !cluster.getUnreachable().contains(member)
          && (alive == null || status == MemberStatus.up())) {
        alive = status;
      }
    }
    return alive;
  }

  private Behavior<QueueCommand> onLeaseTick() {
    state.expireLeases();
    outbox.flush();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onRetryDue(RetryDue msg) {
    state.retryDue(msg.taskId());
    outbox.flush();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onCancelFlow(CancelFlow msg) {
    int dropped = state.cancelFlow(msg.flowId());
    if (dropped > 0) { // in a cluster every entity hears of every cancelled flow
      log.info("flow {} cancelled: {} pending task(s) dropped here", msg.flowId(), dropped);
    }
    outbox.flush(); // the cancellations of its tasks in flight
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onGetStats(GetStats msg) {
    msg.replyTo().tell(state.stats());
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onPublishMetrics() {
    status.publishMetrics(announcements.values(), admission::refusalOf);
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onGetFleet(GetFleet msg) {
    msg.replyTo().tell(status.fleet(announcements, admission::refusalOf));
    return Behaviors.same();
  }

  /**
   * DEBUG: after a redelivery, a late or cancelled report is normal (counted in the stats as
   * unknown results), and every redelivery already has its own line.
   */
  private void logUnknown(
      String what, String taskId, String taskType, String workerId, String incarnation) {
    log.debug(
        "dropped {} for task {} (type {}) from worker {} (incarnation {}): the queue does not hold"
            + " it there (late after a redelivery, cancelled, a duplicate, of an earlier sequencer"
            + " run, or made up)",
        what,
        taskId,
        taskType,
        workerId,
        incarnation);
  }

  /** Turns the state's decisions into messages, timers and log lines. */
  private final class Effects
      implements TaskQueueState.Effects<ActorRef<WorkerCommand>, ActorRef<TaskOutcome>> {
    @Override
    public void dispatch(ActorRef<WorkerCommand> worker, TaskEnvelope task) {
      outbox.dispatch(worker, task);
    }

    @Override
    public void reply(ActorRef<TaskOutcome> replyTo, TaskOutcome outcome) {
      if (outcome instanceof TaskOutcome.Failed failed) {
        log.error(
            "task {} (type {}, flow {}) failed for good after {} dispatch(es): {}",
            failed.taskId(),
            failed.taskType(),
            failed.flowId(),
            failed.attempts(),
            failed.reason());
        status.remember(
            "failed", failed.taskType(), failed.taskId(), failed.flowId(), null, failed.reason());
      } else if (outcome instanceof TaskOutcome.Rejected rejected) {
        if (sharded && !catalog.contains(rejected.taskType())) {
          // the sender's node knows the type (its front checked): this node runs another plugin
          // or build; the flow keeps the task and sends it again, so one line a minute, not one
          // per task (a trial: 19,999 lines)
          rejected = lacksType(rejected);
          notInCatalog++;
          long now = System.nanoTime();
          if (notInCatalogSaid == 0 || now - notInCatalogSaid >= NOT_IN_CATALOG_EVERY.toNanos()) {
            log.warn(
                "{} task(s) of type {} refused{}: {}",
                notInCatalog,
                rejected.taskType(),
                notInCatalogSaid == 0 ? "" : " in the last minute",
                rejected.reason());
            notInCatalogSaid = now;
            notInCatalog = 0;
          }
          outcome = rejected;
        } else {
          log.warn(
              "task {} (type {}, flow {}) rejected: {}",
              rejected.taskId(),
              rejected.taskType(),
              rejected.flowId(),
              rejected.reason());
        }
        status.remember(
            "rejected",
            rejected.taskType(),
            rejected.taskId(),
            rejected.flowId(),
            null,
            rejected.reason());
      }
      replyTo.tell(outcome);
    }

    @Override
    public void retryLater(TaskEnvelope task, String workerId, int failures, String reason) {
      Duration delay = settings.retryBackoff(failures, ThreadLocalRandom.current().nextDouble());
      log.warn(
          "{} failed on worker {}, retrying in {} ms: {}",
          task.describe(),
          workerId,
          delay.toMillis(),
          reason);
      status.remember("retrying", task, workerId, reason);
      RetryDue due = new RetryDue(task.taskId());
      timers.startSingleTimer(due, due, delay);
    }

    @Override
    public void cancel(ActorRef<WorkerCommand> worker, String taskId, String runId, String reason) {
      outbox.cancel(worker, taskId, runId, reason);
    }

    @Override
    public void withdraw(ActorRef<WorkerCommand> worker, String taskId, String runId) {
      log.debug(
          "asking the worker of task {} to hand it back if it still waits for a slot", taskId);
      worker.tell(new WorkerCommand.Withdraw(taskId, runId));
    }

    @Override
    public void putBack(
        TaskEnvelope task, String workerId, TaskQueueState.Redelivery cause, String budget) {
      if (cause == TaskQueueState.Redelivery.DECLINED
          || cause == TaskQueueState.Redelivery.NO_FREE_SLOT) {
        return; // logged with the decline's reason
      }
      log.warn(
          "task {} (type {}, flow {}) put back, to go out again as dispatch {}: {} ({})",
          task.taskId(),
          task.taskType(),
          task.flowId(),
          task.attempt(),
          cause.describe(workerId),
          budget);
      status.remember("put back", task, workerId, cause.describe(workerId));
    }

    @Override
    public void completed(String taskType, long waitNanos, long runNanos) {
      status.completed(taskType, waitNanos, runNanos);
    }

    @Override
    public void superseded(String runId, int dropped, int cancelled) {
      log.info(
          "sequencer run {} took over from older runs: {} of their waiting task(s) dropped here,"
              + " {} in flight cancelled (their results would be dropped)",
          runId,
          dropped,
          cancelled);
    }

    /** The run whose late task was said at INFO last: one INFO line per run, then DEBUG. */
    private String runOverSaid;

    @Override
    public void runOver(TaskEnvelope task, String latestRun) {
      if (!task.runId().equals(runOverSaid)) {
        runOverSaid = task.runId();
        // INFO, once per run: normally a late message of a sequencer that handed over, but if
        // that run is the one proving now, its host's clock is behind the previous sequencer's
        log.info(
            "dropped task {} (type {}, flow {}) of run {}, older than run {}, which started here;"
                + " further tasks of that run are dropped at DEBUG. Run ids order by their start"
                + " time: if run {} is the sequencer's current run, its host's clock is behind that"
                + " of the host of run {} (keep the hosts' clocks in sync)",
            task.taskId(),
            task.taskType(),
            task.flowId(),
            task.runId(),
            latestRun,
            task.runId(),
            latestRun);
      } else {
        log.debug(
            "dropped task {} (type {}, flow {}) of run {}, older than run {}, which started here",
            task.taskId(),
            task.taskType(),
            task.flowId(),
            task.runId(),
            latestRun);
      }
    }

    @Override
    public void handedBack(TaskEnvelope task, String workerId) {
      log.info(
          "task {} (type {}, flow {}) sent again after its queue entity moved: handed back to"
              + " worker {}, which reported holding it (its compute goes on, or its result comes"
              + " again)",
          task.taskId(),
          task.taskType(),
          task.flowId(),
          workerId);
    }
  }
}
