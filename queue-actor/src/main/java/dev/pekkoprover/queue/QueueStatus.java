package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.RecentFailure;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What one queue (one queue entity) tells the status API and the metrics: its part of the fleet
 * view (the workers it knows, its own types, its last failures) and what its {@link QueueMeters}
 * read. A plain class beside {@link LocalTaskQueue}, which owns it: the actor tells it the failures
 * it logs and the tasks completed, and asks it for a view or a new meter snapshot. Reads {@link
 * TaskQueueState}, never changes it. Not thread-safe: the actor calls it.
 */
final class QueueStatus {

  private final TaskQueueState<?, ?> state;
  private final QueueMeters meters;

  /** The task types this queue holds: every type of the catalog, or an entity's one type. */
  private final List<String> ownTypes;

  /** The node of a worker's reference (this node's for a local reference). */
  private final Function<ActorRef<?>, Address> nodeOf;

  /** The last few failures, newest last. */
  private final ArrayDeque<RecentFailure> recentFailures = new ArrayDeque<>();

  /** Workers forgotten lately, newest last, with the {@link System#nanoTime} of their going. */
  private final ArrayDeque<Departed> departed = new ArrayDeque<>();

  private record Departed(FleetView.DepartedWorker worker, long atNanos) {}

  /**
   * @param ownTypes the task types this queue holds: every type of the catalog, or an entity's one
   *     type
   * @param nodeOf the node of a worker's reference (this node's for a local reference)
   */
  QueueStatus(
      TaskQueueState<?, ?> state,
      QueueMeters meters,
      List<String> ownTypes,
      Function<ActorRef<?>, Address> nodeOf) {
    this.state = state;
    this.meters = meters;
    this.ownTypes = ownTypes;
    this.nodeOf = nodeOf;
  }

  /** {@code host:port} of a worker's node, or the actor system's name in one JVM. */
  String nodeName(ActorRef<?> worker) {
    return nodeName(nodeOf.apply(worker));
  }

  /** {@code host:port} of a node, or the actor system's name for a local address (one JVM). */
  static String nodeName(Address address) {
    return address.getHost().isPresent()
        ? address.getHost().get() + ":" + address.getPort().map(String::valueOf).orElse("?")
        : address.system();
  }

  /**
   * Keeps a failure of a task for the fleet view (the last {@link RecentFailure#KEEP}).
   *
   * @param kind {@code failed}, {@code rejected}, {@code retrying}, {@code put back}
   * @param workerId null when no worker was involved
   */
  void remember(String kind, TaskEnvelope task, String workerId, String reason) {
    remember(kind, task.taskType(), task.taskId(), task.flowId(), workerId, reason);
  }

  /** As {@link #remember(String, TaskEnvelope, String, String)}, from an outcome's fields. */
  void remember(
      String kind, String taskType, String taskId, String flowId, String workerId, String reason) {
    if (recentFailures.size() == RecentFailure.KEEP) {
      recentFailures.removeFirst();
    }
    recentFailures.addLast(
        new RecentFailure(
            System.currentTimeMillis(), kind, taskType, taskId, flowId, workerId, reason));
  }

  /**
   * The queue forgets a worker whose actor terminated: kept for the fleet view for {@link
   * FleetView.DepartedWorker#KEEP_MILLIS}. Call before the state forgets it.
   *
   * @param serves its last announcement
   */
  void departed(WorkerServes serves) {
    TaskQueueState.WorkerNumbers numbers = state.workerNumbers(serves.workerId());
    if (numbers == null) {
      return;
    }
    String how =
        serves.state() == WorkerState.DRAINING
            ? FleetView.DepartedWorker.DRAINED
            : numbers.reachable()
                ? FleetView.DepartedWorker.STOPPED
                : FleetView.DepartedWorker.UNREACHABLE;
    if (departed.size() == FleetView.DepartedWorker.KEEP) {
      departed.removeFirst();
    }
    departed.addLast(
        new Departed(
            new FleetView.DepartedWorker(
                serves.workerId(),
                nodeName(serves.worker()),
                serves.incarnation(),
                serves.state(),
                sorted(serves.configuredTypes()),
                numbers.done(),
                numbers.failed(),
                how,
                0),
            System.nanoTime()));
  }

  /** A task's result went to its flow: its wait and run into the histograms. Hot path. */
  void completed(String taskType, long waitNanos, long runNanos) {
    meters.completed(taskType, waitNanos, runNanos);
  }

  /**
   * Copies what the meters read: the counters, put-backs by cause, and the announced workers per
   * type and state (a refused worker under {@code refused}, whatever state it announced).
   *
   * @param announcements the last announcement of each worker the queue knows
   * @param refusalOf why the queue refuses a worker (the catalog check), by worker id; null when it
   *     does not
   */
  void publishMetrics(Collection<WorkerServes> announcements, Function<String, String> refusalOf) {
    Map<String, long[]> putBack = new HashMap<>();
    Map<String, int[]> workers = new HashMap<>();
    TaskQueueState.Redelivery[] causes = TaskQueueState.Redelivery.values();
    for (String type : ownTypes) {
      long[] byCause = new long[causes.length];
      for (TaskQueueState.Redelivery cause : causes) {
        byCause[cause.ordinal()] = state.putBack(type, cause);
      }
      putBack.put(type, byCause);
      int[] byState = new int[QueueMeters.STATES.size()];
      for (WorkerServes serves : announcements) {
        if (serves.configuredTypes().contains(type) || serves.taskTypes().contains(type)) {
          byState[
              refusalOf.apply(serves.workerId()) != null
                  ? QueueMeters.REFUSED
                  : QueueMeters.stateIndex(serves.state())]++;
        }
      }
      workers.put(type, byState);
    }
    meters.publish(new QueueMeters.Snapshot(state.stats(), putBack, workers, meters.timesNow()));
  }

  /**
   * This queue's part of the fleet: the workers it knows, its own types, its recent failures
   * (newest first).
   *
   * @param announcements the last announcement of each worker the queue knows, by worker id
   * @param refusalOf why the queue refuses a worker (the catalog check), by worker id; null for one
   *     it serves
   */
  FleetView fleet(Map<String, WorkerServes> announcements, Function<String, String> refusalOf) {
    List<FleetView.WorkerView> workers = new ArrayList<>();
    announcements.forEach(
        (workerId, serves) -> {
          TaskQueueState.WorkerNumbers numbers = state.workerNumbers(workerId);
          if (numbers != null) {
            String refusal = refusalOf.apply(workerId);
            workers.add(
                new FleetView.WorkerView(
                    workerId,
                    nodeName(serves.worker()),
                    serves.incarnation(),
                    serves.state(),
                    // a draining worker names the types it served until then, and serves none
                    refusal == null && serves.state() != WorkerState.DRAINING
                        ? sorted(serves.taskTypes())
                        : List.of(),
                    sorted(serves.configuredTypes()),
                    serves.capacity(),
                    numbers.inFlight(),
                    numbers.done(),
                    numbers.failed(),
                    numbers.restarts(),
                    numbers.lastHeardNanosAgo() / 1_000_000,
                    numbers.reachable(),
                    refusal));
          }
        });
    QueueStats stats = state.stats();
    Map<String, FleetView.TypeView> types = new LinkedHashMap<>();
    for (String type : ownTypes) {
      int serving = 0;
      for (WorkerServes serves : announcements.values()) {
        if (serves.taskTypes().contains(type) && refusalOf.apply(serves.workerId()) == null) {
          serving++;
        }
      }
      TaskQueueState.TypeTimes times = state.typeTimes(type);
      types.put(
          type,
          new FleetView.TypeView(
              stats.of(type),
              serving,
              times.runs(),
              times.runNanos(),
              times.oldestPendingNanos() / 1_000_000,
              times.waitNanos()));
    }
    List<RecentFailure> failures = new ArrayList<>(recentFailures);
    Collections.reverse(failures);
    long now = System.nanoTime();
    while (!departed.isEmpty()
        && (now - departed.peekFirst().atNanos()) / 1_000_000
            > FleetView.DepartedWorker.KEEP_MILLIS) {
      departed.removeFirst();
    }
    List<FleetView.DepartedWorker> gone = new ArrayList<>(departed.size());
    for (Departed d : departed) {
      FleetView.DepartedWorker w = d.worker();
      gone.add(
          new FleetView.DepartedWorker(
              w.workerId(),
              w.node(),
              w.incarnation(),
              w.lastState(),
              w.configuredTypes(),
              w.done(),
              w.failed(),
              w.how(),
              (now - d.atNanos()) / 1_000_000));
    }
    return FleetView.merge(
        List.of(
            new FleetView(
                workers,
                types,
                failures,
                stats.unknownResults(),
                stats.repeatedEnqueues(),
                1,
                1,
                gone)),
        1);
  }

  /** The queue stops: its meters go. */
  void close() {
    meters.close();
  }

  private static List<String> sorted(Set<String> names) {
    return names == null ? List.of() : names.stream().sorted().toList();
  }
}
