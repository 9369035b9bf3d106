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
 * @param departedWorkers workers the queue forgot in the last {@link DepartedWorker#KEEP_MILLIS}
 *     (their actor terminated: drained, killed, downed), newest first, at most {@link
 *     DepartedWorker#KEEP}; none that is among {@code workers} again
 * @param carriedOver of the entities that did not answer in time, those whose last answer stands in
 *     for theirs in this view, by entity id ({@code type} or {@code type#n}), with that answer's
 *     age in ms ({@link KeyedGather}: while a queue node is unreachable its entities' workers and
 *     queued tasks stay in the view, as they last were, instead of dropping out); empty when none
 * @param partialBecause why entities did not answer, when the front knows a normal reason (a queue
 *     node unreachable, leaving or removed, the first placement's wait); null otherwise
 */
public record FleetView(
    List<WorkerView> workers,
    Map<String, TypeView> types,
    List<RecentFailure> recentFailures,
    long unknownResults,
    long repeatedEnqueues,
    int answered,
    int asked,
    List<DepartedWorker> departedWorkers,
    Map<String, Long> carriedOver,
    String partialBecause)
    implements CborSerializable {

  /** Nothing carried over: every entity asked answered, or those that did not are left out. */
  public FleetView(
      List<WorkerView> workers,
      Map<String, TypeView> types,
      List<RecentFailure> recentFailures,
      long unknownResults,
      long repeatedEnqueues,
      int answered,
      int asked,
      List<DepartedWorker> departedWorkers) {
    this(
        workers,
        types,
        recentFailures,
        unknownResults,
        repeatedEnqueues,
        answered,
        asked,
        departedWorkers,
        Map.of(),
        null);
  }

  /** Without departed workers (the view of a queue that forgot none). */
  public FleetView(
      List<WorkerView> workers,
      Map<String, TypeView> types,
      List<RecentFailure> recentFailures,
      long unknownResults,
      long repeatedEnqueues,
      int answered,
      int asked) {
    this(
        workers,
        types,
        recentFailures,
        unknownResults,
        repeatedEnqueues,
        answered,
        asked,
        List.of(),
        Map.of(),
        null);
  }

  /** A view read from a node of an earlier build, without the fields, has none. */
  public FleetView {
    departedWorkers = departedWorkers == null ? List.of() : departedWorkers;
    carriedOver = carriedOver == null ? Map.of() : Map.copyOf(carriedOver);
  }

  /** The age of the oldest answer carried over, in ms; 0 when none was. */
  public long carriedOverMillis() {
    long oldest = 0;
    for (long age : carriedOver.values()) {
      oldest = Math.max(oldest, age);
    }
    return oldest;
  }

  /**
   * How old the figures of a task type's queue are, in ms, when one of its entities ({@code type}
   * or {@code type#n}) was carried over (the oldest); null when all answered now.
   */
  public Long carriedOverMillis(String taskType) {
    Long oldest = null;
    for (Map.Entry<String, Long> e : carriedOver.entrySet()) {
      String entity = e.getKey();
      if (entity.equals(taskType) || entity.startsWith(taskType + "#")) {
        oldest = oldest == null ? e.getValue() : Math.max(oldest, e.getValue());
      }
    }
    return oldest;
  }

  /**
   * A worker the queue forgot: its actor terminated, so it no longer shows among the workers. Kept
   * so that a one-shot look at the fleet ({@code prover-node status}) still shows what left and
   * how, after the cluster removed it.
   *
   * @param lastState its state when it went (null when its announcements did not say)
   * @param configuredTypes its worker class
   * @param done results it delivered, in its life as this queue knew it
   * @param failed computes that failed on it
   * @param how {@link #DRAINED}, {@link #UNREACHABLE} or {@link #STOPPED}
   * @param leftMillisAgo since the queue saw its actor terminate
   */
  public record DepartedWorker(
      String workerId,
      String node,
      String incarnation,
      WorkerState lastState,
      List<String> configuredTypes,
      long done,
      long failed,
      String how,
      long leftMillisAgo)
      implements CborSerializable {

    /** How long a queue remembers a departed worker: 10 minutes, in milliseconds. */
    public static final long KEEP_MILLIS = 10 * 60 * 1000L;

    /** At most this many are remembered (per queue entity, and in a merged view). */
    public static final int KEEP = 50;

    /** It was draining when it went: its node shut down and it finished or handed back its work. */
    public static final String DRAINED = "drained";

    /**
     * Its node was unreachable when it went, then removed from the cluster: a killed or crashed
     * process, a paused or cut-off node that was downed.
     */
    public static final String UNREACHABLE = "unreachable";

    /** It stopped without draining, its node reachable (its actor or its node stopped at once). */
    public static final String STOPPED = "stopped";

    /**
     * Two entities' word on the same incarnation: their counts added, the freshest departure, the
     * furthest state (an incarnation's state only moves on, and an entity hears only the
     * announcements that concern its type: the registration's entity no longer hears from a Ready
     * worker), and the most telling how (drained, then unreachable, then stopped).
     */
    DepartedWorker plus(DepartedWorker other) {
      DepartedWorker fresh = other.leftMillisAgo < leftMillisAgo ? other : this;
      return new DepartedWorker(
          workerId,
          fresh.node,
          incarnation,
          furthest(lastState, other.lastState),
          fresh.configuredTypes,
          done + other.done,
          failed + other.failed,
          HOWS.indexOf(how) <= HOWS.indexOf(other.how) ? how : other.how,
          fresh.leftMillisAgo);
    }

    private static final List<String> HOWS = List.of(DRAINED, UNREACHABLE, STOPPED);

    private static WorkerState furthest(WorkerState a, WorkerState b) {
      return a == null ? b : b == null || a.ordinal() >= b.ordinal() ? a : b;
    }
  }

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

  /**
   * The view of a gathering whose missing answers were partly carried over ({@link KeyedGather}):
   * the views that came and those carried, each aged by its time since it came ({@link #aged}), as
   * one; {@code answered} counts only those that came.
   *
   * <p>Carried views are aged to the reply's time, the fresh ones' figures date from their answer
   * (up to the stats timeout earlier): in {@link WorkerView#plus} that favours the fresh word, the
   * safe side. A worker that a fresh view lists as departed (the same incarnation) is dropped from
   * the carried views: otherwise the merge took it for a worker back under its id, hid the
   * departure, and showed a gone worker Ready for as long as its entity's answer was carried.
   *
   * @param because why some did not answer (null: not known, or all did)
   */
  public static FleetView merge(KeyedGather.Outcome<FleetView> outcome, String because) {
    List<FleetView> views = new ArrayList<>(outcome.fresh().values());
    java.util.Set<String> departed = new java.util.HashSet<>();
    for (FleetView view : outcome.fresh().values()) {
      view.departedWorkers.forEach(d -> departed.add(d.workerId() + "/" + d.incarnation()));
    }
    outcome
        .carried()
        .values()
        .forEach(c -> views.add(c.answer().aged(c.ageMillis()).without(departed)));
    FleetView all = merge(views, outcome.asked());
    int answered = 0;
    for (FleetView view : outcome.fresh().values()) {
      answered += view.answered;
    }
    return new FleetView(
        all.workers,
        all.types,
        all.recentFailures,
        all.unknownResults,
        all.repeatedEnqueues,
        answered,
        outcome.asked(),
        all.departedWorkers,
        carriedAges(outcome),
        outcome.complete() ? null : because);
  }

  private static Map<String, Long> carriedAges(KeyedGather.Outcome<FleetView> outcome) {
    Map<String, Long> ages = new LinkedHashMap<>();
    outcome.carried().forEach((entity, c) -> ages.put(entity, c.ageMillis()));
    return ages;
  }

  /**
   * This view as it would read {@code millis} later with nothing new heard: every "ago" and every
   * wait grown by that much. A carried-over answer is aged so that an entity's fresher word on a
   * worker wins over it when views are merged ({@link WorkerView#plus}).
   */
  public FleetView aged(long millis) {
    if (millis <= 0) {
      return this;
    }
    List<WorkerView> olderWorkers = new ArrayList<>(workers.size());
    for (WorkerView w : workers) {
      olderWorkers.add(
          new WorkerView(
              w.workerId(),
              w.node(),
              w.incarnation(),
              w.state(),
              w.servedTypes(),
              w.configuredTypes(),
              w.capacity(),
              w.inFlight(),
              w.done(),
              w.failed(),
              w.restarts(),
              w.lastHeardMillisAgo() + millis,
              w.reachable(),
              w.refused()));
    }
    Map<String, TypeView> olderTypes = new LinkedHashMap<>();
    types.forEach(
        (name, t) ->
            olderTypes.put(
                name,
                new TypeView(
                    t.counts(),
                    t.workers(),
                    t.runs(),
                    t.runNanos(),
                    t.oldestPendingMillis() == 0 ? 0 : t.oldestPendingMillis() + millis,
                    t.waitNanos())));
    List<DepartedWorker> olderDeparted = new ArrayList<>(departedWorkers.size());
    for (DepartedWorker d : departedWorkers) {
      olderDeparted.add(
          new DepartedWorker(
              d.workerId(),
              d.node(),
              d.incarnation(),
              d.lastState(),
              d.configuredTypes(),
              d.done(),
              d.failed(),
              d.how(),
              d.leftMillisAgo() + millis));
    }
    return with(olderWorkers, olderTypes, olderDeparted);
  }

  /** This view with other workers, queues and departed workers; every other component as is. */
  private FleetView with(
      List<WorkerView> workers, Map<String, TypeView> types, List<DepartedWorker> departed) {
    return new FleetView(
        workers,
        types,
        recentFailures,
        unknownResults,
        repeatedEnqueues,
        answered,
        asked,
        departed,
        carriedOver,
        partialBecause);
  }

  /** This view without the workers whose {@code id/incarnation} is in {@code gone}. */
  private FleetView without(java.util.Set<String> gone) {
    if (gone.isEmpty()) {
      return this;
    }
    List<WorkerView> left = new ArrayList<>(workers.size());
    for (WorkerView w : workers) {
      if (!gone.contains(w.workerId() + "/" + w.incarnation())) {
        left.add(w);
      }
    }
    return with(left, types, departedWorkers);
  }

  /** The entities' views as one; {@code asked} is how many were asked. */
  public static FleetView merge(List<FleetView> views, int asked) {
    Map<String, WorkerView> workers = new LinkedHashMap<>();
    Map<String, TypeView> types = new LinkedHashMap<>();
    List<List<RecentFailure>> failures = new ArrayList<>();
    Map<String, DepartedWorker> departed = new LinkedHashMap<>();
    long unknown = 0;
    long repeated = 0;
    int answered = 0;
    for (FleetView view : views) {
      view.workers.forEach(w -> workers.merge(w.workerId(), w, WorkerView::plus));
      view.departedWorkers.forEach(
          d -> departed.merge(d.workerId() + "/" + d.incarnation(), d, DepartedWorker::plus));
      view.types.forEach((name, type) -> types.merge(name, type, TypeView::plus));
      failures.add(view.recentFailures);
      unknown += view.unknownResults;
      repeated += view.repeatedEnqueues;
      answered += view.answered;
    }
    List<WorkerView> sorted = new ArrayList<>(workers.values());
    sorted.sort(Comparator.comparing(WorkerView::workerId));
    // a worker's last departure only: one that left, came back under its id and left again is
    // listed once, as it left last (a trial saw it twice, "drained" and an older "unreachable")
    Map<String, DepartedWorker> last = new LinkedHashMap<>();
    for (DepartedWorker d : departed.values()) {
      if (!workers.containsKey(d.workerId())) { // back with a new incarnation: its row says so
        last.merge(d.workerId(), d, (a, b) -> a.leftMillisAgo() <= b.leftMillisAgo() ? a : b);
      }
    }
    List<DepartedWorker> gone = new ArrayList<>(last.values());
    gone.sort(Comparator.comparingLong(DepartedWorker::leftMillisAgo));
    return new FleetView(
        List.copyOf(sorted),
        types,
        RecentFailure.newest(failures, RecentFailure.KEEP),
        unknown,
        repeated,
        answered,
        asked,
        List.copyOf(gone.subList(0, Math.min(gone.size(), DepartedWorker.KEEP))));
  }
}
