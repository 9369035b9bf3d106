package dev.pekkoprover.protocol;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fleet as the queue sees it, the answer to {@link QueueCommand.GetFleet}: what the status API
 * shows and what the autoscaling signal is computed from. In a cluster each queue entity answers
 * for itself and the front merges the answers ({@link #merge}): an entity knows the workers that
 * serve (or served) its type, and only the tasks it dispatched itself.
 *
 * @param workers every worker known, by id
 * @param types each task type's queue
 * @param recentFailures newest first, at most {@link RecentFailure#KEEP}
 * @param unknownResults results for tasks the queue did not hold, dropped
 * @param repeatedEnqueues enqueues of tasks the queue already held, ignored
 * @param answered queue entities that answered (1 for the queue of one JVM)
 * @param asked queue entities asked; fewer answers mean the view is partial
 */
public record FleetView(
    List<WorkerView> workers,
    Map<String, TypeView> types,
    List<RecentFailure> recentFailures,
    long unknownResults,
    long repeatedEnqueues,
    int answered,
    int asked)
    implements CborSerializable {

  /**
   * One worker.
   *
   * @param node the {@code host:port} of its node (the system name in one JVM)
   * @param state null when its announcements do not say
   * @param servedTypes what it serves in its state now
   * @param configuredTypes what it serves once Ready (registration aside): its worker class
   * @param inFlight tasks the queue handed it whose outcome is not back yet, not its slots in use:
   *     more than its capacity when some wait there for a slot or are prefetched (including tasks
   *     whose lease overran and that it still runs)
   * @param done results it delivered that the queue passed on
   * @param failed computes that failed on it (retried or not)
   * @param restarts new incarnations seen since the queue first knew it (a restarted node's workers
   *     count too)
   * @param lastHeardMillisAgo since its last announcement, load report or result
   * @param reachable false while its node is unreachable (it gets no work then)
   * @param refused why the queue gives it no work (its task catalog or keys differ from the
   *     queue's), or null
   */
  public record WorkerView(
      String workerId,
      String node,
      String incarnation,
      WorkerState state,
      List<String> servedTypes,
      List<String> configuredTypes,
      int capacity,
      int inFlight,
      long done,
      long failed,
      int restarts,
      long lastHeardMillisAgo,
      boolean reachable,
      String refused)
      implements CborSerializable {

    /**
     * Two entities' views of the same worker: their own counts added, the freshest word on
     * everything else.
     */
    WorkerView plus(WorkerView other) {
      WorkerView fresh = other.lastHeardMillisAgo < lastHeardMillisAgo ? other : this;
      return new WorkerView(
          workerId,
          fresh.node,
          fresh.incarnation,
          fresh.state,
          fresh.servedTypes,
          fresh.configuredTypes,
          fresh.capacity,
          inFlight + other.inFlight,
          done + other.done,
          failed + other.failed,
          Math.max(restarts, other.restarts),
          Math.min(lastHeardMillisAgo, other.lastHeardMillisAgo),
          fresh.reachable,
          refused != null
              ? refused
              : other.refused); // entities judge alike; one that refuses says why
    }
  }

  /**
   * One task type's queue.
   *
   * @param counts pending, in flight and the counters, as in {@link QueueStats}
   * @param workers workers serving the type now
   * @param runs tasks whose run time was measured (dispatch to result, results of the worker that
   *     held the task)
   * @param runNanos their run times added up
   * @param oldestPendingMillis how long the task at the head of the queue has waited; 0 when none
   *     waits
   * @param waitNanos the waits of the tasks whose run was measured (enqueue or last put-back to
   *     their dispatch) added up; 0 for tasks enqueued while waits are not timed ({@code
   *     prover.metrics.enabled = off})
   */
  public record TypeView(
      QueueStats.TypeStats counts,
      int workers,
      long runs,
      long runNanos,
      long oldestPendingMillis,
      long waitNanos)
      implements CborSerializable {

    public static final TypeView EMPTY = new TypeView(QueueStats.TypeStats.EMPTY, 0, 0, 0, 0, 0);

    /** Without the waits (added later; callers that only need run times). */
    public TypeView(
        QueueStats.TypeStats counts,
        int workers,
        long runs,
        long runNanos,
        long oldestPendingMillis) {
      this(counts, workers, runs, runNanos, oldestPendingMillis, 0);
    }

    /** Mean run time in seconds, or -1 when no run was measured yet. */
    public double meanRunSeconds() {
      return runs == 0 ? -1 : runNanos / 1e9 / runs;
    }

    /**
     * Several entities (partitions) of one type: counts added; workers are known to each partition
     * alike.
     */
    TypeView plus(TypeView other) {
      return new TypeView(
          counts.plus(other.counts),
          Math.max(workers, other.workers),
          runs + other.runs,
          runNanos + other.runNanos,
          Math.max(oldestPendingMillis, other.oldestPendingMillis),
          waitNanos + other.waitNanos);
    }
  }

  public TypeView type(String taskType) {
    return types.getOrDefault(taskType, TypeView.EMPTY);
  }

  /** The entities' views as one; {@code asked} is how many were asked. */
  public static FleetView merge(List<FleetView> views, int asked) {
    Map<String, WorkerView> workers = new LinkedHashMap<>();
    Map<String, TypeView> types = new LinkedHashMap<>();
    List<List<RecentFailure>> failures = new ArrayList<>();
    long unknown = 0;
    long repeated = 0;
    int answered = 0;
    for (FleetView view : views) {
      view.workers.forEach(w -> workers.merge(w.workerId(), w, WorkerView::plus));
      view.types.forEach((name, type) -> types.merge(name, type, TypeView::plus));
      failures.add(view.recentFailures);
      unknown += view.unknownResults;
      repeated += view.repeatedEnqueues;
      answered += view.answered;
    }
    List<WorkerView> sorted = new ArrayList<>(workers.values());
    sorted.sort(Comparator.comparing(WorkerView::workerId));
    return new FleetView(
        List.copyOf(sorted),
        types,
        RecentFailure.newest(failures, RecentFailure.KEEP),
        unknown,
        repeated,
        answered,
        asked);
  }
}
