package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.CancelFlow;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.GetStats;
import dev.pekkoprover.protocol.QueueCommand.Reports;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;

/**
 * A node's door to the sharded queue: speaks the same {@link QueueCommand} protocol as {@link LocalTaskQueue}, so
 * the sequencer and the workers on this node cannot tell the difference, and routes each message to the entity of
 * its task type (or partition, {@code type#n}). It also keeps the cross-node paths bounded: a large Enqueue goes out
 * in slices of {@code max-tasks-per-message}, and a task input over {@code max-payload-size} is refused with a
 * reason rather than dropped by the transport.
 *
 * <p>Workers report straight to the entity that dispatched the task (its ref comes with every dispatch), and check
 * the size of a result bound for another node themselves. The front still accepts reports sent to it (any client of
 * the queue protocol may), routes them by type, gathers those that arrive while it is busy into one {@link Reports}
 * per entity, and checks their results' size the same way.
 *
 * <p>Not to miss: a worker announcement goes to the entities of the types it serves now <em>and</em> of those it
 * served before, so that an entity learns when a worker stops serving its type (a worker that registered no longer
 * serves the registration type).
 */
public final class QueueFront {

  /**
   * Time to send the worker reports gathered so far; sent to itself when the first report of a batch arrives, so it
   * comes after the reports already waiting in the mailbox. Never leaves the node.
   */
  private enum SendReports implements QueueCommand, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Worker reports bound for one entity, not yet sent. */
  private static final class ReportBatch {
    final List<TaskSucceeded> succeeded = new ArrayList<>();
    final List<TaskFailed> failed = new ArrayList<>();
    final List<TaskDeclined> declined = new ArrayList<>();
  }

  private final ActorContext<QueueCommand> context;
  private final ActorRef<ShardingEnvelope<QueueCommand>> region;
  private final TaskCatalog catalog;
  private final FrontSettings settings;
  private final Serialization serialization;
  /** Worker reports by entity, gathered until {@link SendReports} comes round. */
  private Map<String, ReportBatch> reports = new LinkedHashMap<>();
  /** What each worker of this node announced last, so that a dropped type's entity hears of it. */
  private final Map<String, Set<String>> announced = new HashMap<>();

  public static Behavior<QueueCommand> create(
      ActorRef<ShardingEnvelope<QueueCommand>> region, TaskCatalog catalog, FrontSettings settings) {
    return Behaviors.setup(context -> new QueueFront(context, region, catalog, settings).routing());
  }

  private QueueFront(
      ActorContext<QueueCommand> context,
      ActorRef<ShardingEnvelope<QueueCommand>> region,
      TaskCatalog catalog,
      FrontSettings settings) {
    this.context = context;
    this.region = region;
    this.catalog = catalog;
    this.settings = settings;
    this.serialization = SerializationExtension.get(Adapter.toClassic(context.getSystem()));
  }

  private Behavior<QueueCommand> routing() {
    return Behaviors.receive(QueueCommand.class)
        .onMessage(TaskSucceeded.class, this::onTaskSucceeded)
        .onMessage(Enqueue.class, this::onEnqueue)
        .onMessage(TaskFailed.class, this::onTaskFailed)
        .onMessage(TaskDeclined.class, this::onTaskDeclined)
        .onMessage(Reports.class, this::onReports)
        .onMessage(WorkerServes.class, this::onWorkerServes)
        .onMessage(CancelFlow.class, this::onCancelFlow)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessageEquals(SendReports.INSTANCE, this::onSendReports)
        .build();
  }

  // ---- routing ----

  /** The entity of a task: its type, or one partition of it chosen by the task id. */
  String entityOf(String taskType, String taskId) {
    int partitions = settings.partitionsOf(taskType);
    return partitions == 1 ? taskType : taskType + "#" + Math.floorMod(taskId.hashCode(), partitions);
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

  private void send(String entityId, QueueCommand message) {
    region.tell(new ShardingEnvelope<>(entityId, message));
  }

  private Behavior<QueueCommand> onEnqueue(Enqueue enqueue) {
    Map<String, Slice> byEntity = new LinkedHashMap<>();
    for (TaskEnvelope task : enqueue.tasks()) {
      if (!catalog.contains(task.taskType())) {
        reject(enqueue, task, catalog.unknownTypeMessage(task.taskType()));
        continue;
      }
      int size = sizeOf(task.payload());
      if (size > settings.maxPayloadBytes() && settings.maxPayloadBytes() > 0) {
        reject(enqueue, task, oversize("input", task.taskId(), task.taskType(), size));
        continue;
      }
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
    return Behaviors.same();
  }

  /** Tasks bound for one entity, not yet sent. */
  private static final class Slice {
    List<TaskEnvelope> tasks = new ArrayList<>();
    long bytes;
  }

  private void reject(Enqueue enqueue, TaskEnvelope task, String reason) {
    context.getLog().warn("{} refused: {}", task.describe(), reason);
    enqueue.replyTo().tell(
        new TaskOutcome.Rejected(task.taskId(), task.flowId(), task.runId(), task.taskType(), reason));
  }

  private Behavior<QueueCommand> onTaskSucceeded(TaskSucceeded result) {
    int size = sizeOf(result.result());
    if (size > settings.maxPayloadBytes() && settings.maxPayloadBytes() > 0) {
      batchFor(result.taskType(), result.taskId()).failed.add(
          new TaskFailed(result.workerId(), result.incarnation(), result.taskId(), result.taskType(),
              result.attempt(), oversize("result", result.taskId(), result.taskType(), size), false));
    } else {
      batchFor(result.taskType(), result.taskId()).succeeded.add(result);
    }
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onTaskFailed(TaskFailed failure) {
    batchFor(failure.taskType(), failure.taskId()).failed.add(failure);
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onTaskDeclined(TaskDeclined decline) {
    batchFor(decline.taskType(), decline.taskId()).declined.add(decline);
    return Behaviors.same();
  }

  /** A worker's own batch: each report joins the batch of its entity (types may differ). */
  private Behavior<QueueCommand> onReports(Reports reports) {
    reports.succeeded().forEach(this::onTaskSucceeded);
    reports.failed().forEach(this::onTaskFailed);
    reports.declined().forEach(this::onTaskDeclined);
    return Behaviors.same();
  }

  private ReportBatch batchFor(String taskType, String taskId) {
    if (reports.isEmpty()) {
      context.getSelf().tell(SendReports.INSTANCE);
    }
    return reports.computeIfAbsent(entityOf(taskType, taskId), entity -> new ReportBatch());
  }

  /** One message per entity: the lone report itself, or all of them in one {@link Reports}. */
  private Behavior<QueueCommand> onSendReports() {
    reports.forEach((entity, batch) -> {
      int size = batch.succeeded.size() + batch.failed.size() + batch.declined.size();
      if (size > 1) {
        send(entity, new Reports(batch.succeeded, batch.failed, batch.declined));
      } else if (!batch.succeeded.isEmpty()) {
        send(entity, batch.succeeded.get(0));
      } else if (!batch.failed.isEmpty()) {
        send(entity, batch.failed.get(0));
      } else {
        send(entity, batch.declined.get(0));
      }
    });
    reports = new LinkedHashMap<>();
    return Behaviors.same();
  }

  private Behavior<QueueCommand> onWorkerServes(WorkerServes announcement) {
    Set<String> types = new HashSet<>(announcement.taskTypes());
    Set<String> before = announced.put(announcement.workerId(), Set.copyOf(types));
    if (before != null) {
      types.addAll(before);
    }
    for (String type : types) {
      if (catalog.contains(type)) {
        for (String entity : entitiesOf(type)) {
          send(entity, announcement);
        }
      }
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

  private Behavior<QueueCommand> onGetStats(GetStats request) {
    List<String> entities = new ArrayList<>();
    for (String type : catalog.names()) {
      entities.addAll(entitiesOf(type));
    }
    ActorRef<QueueStats> collector =
        context.spawnAnonymous(StatsCollector.create(entities.size(), settings.statsTimeout(), request.replyTo()));
    for (String entity : entities) {
      send(entity, new GetStats(collector));
    }
    return Behaviors.same();
  }

  /**
   * The serialised size of a task input or result, or 0 when the check is off. Costs one serialisation of the
   * value: the price of never losing a task to the transport's frame limit silently. A value that does not
   * serialise counts as oversized (the queue or worker refuses it with its own reason).
   */
  private int sizeOf(Object value) {
    if (settings.maxPayloadBytes() <= 0 || value == null) {
      return 0;
    }
    try {
      return serialization.serialize(value).get().length;
    } catch (RuntimeException e) {
      context.getLog().warn("a task value of class {} does not serialise: {}", value.getClass().getName(),
          e.getMessage());
      return Integer.MAX_VALUE;
    }
  }

  private String oversize(String what, String taskId, String taskType, int size) {
    if (size == Integer.MAX_VALUE) {
      return "the " + what + " of task " + taskId + " (type " + taskType + ") does not serialise: make it a record"
          + " implementing dev.pekkoprover.protocol.CborSerializable";
    }
    return "the " + what + " of task " + taskId + " (type " + taskType + ") is " + size + " bytes serialised, over the "
        + settings.maxPayloadBytes() + "-byte limit (prover.queue.cluster.max-payload-size): split the work into "
        + "smaller tasks, or raise that limit together with pekko.remote.artery.advanced.maximum-frame-size";
  }

  /** Sums the entities' counters; answers with what it has when some entity is slow. */
  static final class StatsCollector {
    private enum Timeout implements NoSerializationVerificationNeeded {
      INSTANCE
    }

    static Behavior<QueueStats> create(int expected, java.time.Duration timeout, ActorRef<QueueStats> replyTo) {
      return Behaviors.<Object>setup(context -> Behaviors.withTimers(timers -> {
        timers.startSingleTimer(Timeout.INSTANCE, timeout);
        List<QueueStats> answers = new ArrayList<>();
        return Behaviors.receive(Object.class)
            .onMessage(QueueStats.class, stats -> {
              answers.add(stats);
              if (answers.size() < expected) {
                return Behaviors.same();
              }
              replyTo.tell(merge(answers));
              return Behaviors.stopped();
            })
            .onMessageEquals(Timeout.INSTANCE, () -> {
              context.getLog().warn("queue stats: {} of {} entities answered in {}", answers.size(), expected, timeout);
              replyTo.tell(merge(answers));
              return Behaviors.stopped();
            })
            .build();
      })).narrow();
    }

    static QueueStats merge(List<QueueStats> answers) {
      Map<String, QueueStats.TypeStats> types = new LinkedHashMap<>();
      int workers = 0;
      long unknown = 0;
      long repeated = 0;
      for (QueueStats stats : answers) {
        stats.types().forEach((type, counts) -> types.merge(type, counts, StatsCollector::add));
        // a worker serving several types is known to several entities: the largest count is a lower bound
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
