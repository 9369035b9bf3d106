package dev.pekkoprover.node;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.FlowsView;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.RecentFailure;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.sequencer.AutoscaleSignal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code GET /status} answers, as JSON (Jackson writes these records field by field, in this
 * order), and what {@code prover-node status} prints as tables. A page may poll it: fields are only
 * ever added, a change of meaning gets a new {@link #version}. The README's "Status API" section
 * documents every field.
 *
 * @param version {@link #VERSION}
 * @param generatedAt when the node put it together (ISO-8601, UTC)
 * @param node the node that answered
 * @param workers every worker the queue knows, by id
 * @param departedWorkers workers the queue forgot in the last 10 minutes (their actor terminated),
 *     newest first, at most 50; none that is back among {@code workers}
 * @param queues each task type's queue
 * @param flows the sequencer's flows (found from any node through the receptionist)
 * @param recentFailures the queue's and the sequencer's last failures, newest first
 * @param autoscale per worker class, the outstanding work and the workers needed (computed now from
 *     the queue's counters, with the mean run time of all runs, or for a type whose queue entity
 *     has counted none since it started again the last mean this node kept; the exported metric
 *     uses the last window's)
 * @param problems why parts are missing or partial (no answer from the queue or sequencer in time);
 *     empty when complete
 */
public record StatusReport(
    int version,
    String generatedAt,
    NodeInfo node,
    List<WorkerRow> workers,
    List<DepartedRow> departedWorkers,
    List<QueueRow> queues,
    FlowsInfo flows,
    List<FailureRow> recentFailures,
    List<ClassRow> autoscale,
    List<String> problems) {

  public static final int VERSION = 1;

  /** A report of a node of an earlier build, without departed workers, has none. */
  public StatusReport {
    departedWorkers = departedWorkers == null ? List.of() : departedWorkers;
  }

  /**
   * Reads a report from the JSON a node's {@code GET /status} answers (the shape of this record).
   *
   * @throws java.io.IOException when {@code json} is not such a report
   */
  public static StatusReport fromJson(String json) throws java.io.IOException {
    return NodeEndpoints.JSON.readValue(json, StatusReport.class);
  }

  /**
   * @param address {@code host:port} in a cluster, the actor system's name in one JVM
   * @param roles the node's roles (sequencer, queue, worker)
   * @param memberStatus the cluster member status (Joining, Up, Leaving, ...), {@code not joined}
   *     before the node joined a cluster (Pekko's own status then is Removed), {@code local} in one
   *     JVM
   * @param ready what {@code /health/ready} answers
   * @param readyReason why it is not ready, or null
   * @param sequencer on a node with role sequencer (and in one JVM): {@code active} when the
   *     sequencer (and the appchain service's chain) runs here, {@code starting} when it is on its
   *     way here (this node is the oldest with role sequencer, the singleton not started yet),
   *     {@code stopped} when it ran here and stopped (this node leaves, or it failed), {@code
   *     standby} when it runs on another node; null on other nodes
   * @param sequencerNode {@code host:port} of the node the sequencer runs on, as this node's
   *     cluster view has it (the oldest Up or Leaving member with role sequencer, where Pekko runs
   *     the singleton), on every cluster node (at first, on a node with role sequencer only); null
   *     in one JVM and when no such member is up
   */
  public record NodeInfo(
      String address,
      List<String> roles,
      String memberStatus,
      boolean ready,
      String readyReason,
      String sequencer,
      String sequencerNode) {
    /** A node's info without the sequencer's place (a node without role sequencer). */
    public NodeInfo(
        String address,
        List<String> roles,
        String memberStatus,
        boolean ready,
        String readyReason) {
      this(address, roles, memberStatus, ready, readyReason, null, null);
    }
  }

  /**
   * @param state unprepared, registered, ready, draining (or unknown)
   * @param servedTypes what it serves in its state now
   * @param workerClass what it serves once Ready: its class for the autoscaling signal
   * @param inFlight tasks the queue handed it whose outcome is not back yet (summed over the type
   *     entities in a cluster); more than its capacity when some wait there for a slot or are
   *     prefetched
   * @param done results it delivered
   * @param failed computes that failed on it
   * @param restarts new incarnations the queue saw
   * @param lastHeardSecondsAgo since its last announcement, load report or result
   * @param reachable false while its node is unreachable
   * @param refused why the queue gives it no work (its task catalog or keys differ from the
   *     queue's), or null
   */
  public record WorkerRow(
      String id,
      String node,
      String state,
      List<String> servedTypes,
      List<String> workerClass,
      int capacity,
      int inFlight,
      long done,
      long failed,
      int restarts,
      double lastHeardSecondsAgo,
      boolean reachable,
      String refused) {}

  /**
   * A worker that left the fleet lately.
   *
   * @param workerClass the types it served once Ready
   * @param lastState its state when it went (unprepared, registered, ready, draining; unknown)
   * @param how {@code drained} (its node shut down; it finished or handed back its work), {@code
   *     unreachable} (its node was unreachable, then removed: a killed or crashed process, a downed
   *     node), {@code stopped} (it stopped without draining, its node reachable)
   * @param leftSecondsAgo since the queue saw it go
   * @param done results it delivered
   * @param failed computes that failed on it
   */
  public record DepartedRow(
      String id,
      String node,
      List<String> workerClass,
      String lastState,
      String how,
      double leftSecondsAgo,
      long done,
      long failed) {}

  /**
   * One type's queue; counters since its queue (entity) started.
   *
   * @param redelivered put back: declined + lost + leaseOverruns
   * @param workers workers serving it now
   * @param meanRunSeconds mean run time of its completed tasks, null before the first
   * @param oldestPendingSeconds how long its longest-waiting task has waited
   * @param runs completed tasks whose run was timed (results from the worker that held the task)
   * @param runSecondsTotal their runs added up: the change between two reports over the change of
   *     {@code runs} is the mean run of the tasks completed in between (what the dashboard charts)
   * @param waitSecondsTotal the same tasks' waits (enqueue or last put-back to dispatch) added up;
   *     stays 0 with {@code prover.metrics.enabled = off}, where waits are not timed
   * @param lastAnsweredSecondsAgo null when its queue entities answered now; else the row is, in
   *     whole or (for a type split into partitions) in part, as they last answered, up to this long
   *     ago (their queue node did not answer in time: unreachable, or its shards moving; {@link
   *     FleetView#carriedOver()})
   */
  public record QueueRow(
      String taskType,
      long pending,
      long inFlight,
      long completed,
      long failed,
      long retried,
      long redelivered,
      long declined,
      long lost,
      long leaseOverruns,
      long rejected,
      int workers,
      Double meanRunSeconds,
      double oldestPendingSeconds,
      long runs,
      double runSecondsTotal,
      double waitSecondsTotal,
      Double lastAnsweredSecondsAgo) {}

  /**
   * @param available false when no sequencer answered (none running, or not found in time)
   * @param list running flows, longest-running first
   */
  public record FlowsInfo(
      boolean available,
      String runId,
      boolean started,
      int running,
      long completed,
      long failed,
      List<FlowRow> list) {

    static final FlowsInfo UNAVAILABLE = new FlowsInfo(false, null, false, 0, 0, 0, List.of());
  }

  /** Progress of one flow: tasks its logic pushed so far and those whose outcome came back. */
  public record FlowRow(
      String flowId, long tasksPushed, long tasksAnswered, double runningSeconds) {}

  /**
   * @param at ISO-8601
   * @param kind failed, rejected, retrying, put back, flow failed, flow cancelled
   */
  public record FailureRow(
      String at,
      String kind,
      String taskType,
      String taskId,
      String flowId,
      String workerId,
      String reason) {}

  /** One worker class's demand, as the autoscaling metric has it. */
  public record ClassRow(
      String workerClass,
      List<String> types,
      int workers,
      double outstandingWorkerSeconds,
      int workersNeeded) {}

  /**
   * The report from what the node gathered; {@code fleet} or {@code flows} null when they did not
   * answer.
   */
  static StatusReport of(
      NodeInfo node,
      FleetView fleet,
      FlowsView flows,
      List<AutoscaleSignal.Demand> demands,
      List<String> problems) {
    List<WorkerRow> workers = new ArrayList<>();
    List<DepartedRow> departed = new ArrayList<>();
    List<QueueRow> queues = new ArrayList<>();
    List<List<RecentFailure>> failures = new ArrayList<>();
    if (fleet != null) {
      for (FleetView.WorkerView w : fleet.workers()) {
        workers.add(
            new WorkerRow(
                w.workerId(),
                w.node(),
                stateName(w.state()),
                w.servedTypes(),
                w.configuredTypes(),
                w.capacity(),
                w.inFlight(),
                w.done(),
                w.failed(),
                w.restarts(),
                w.lastHeardMillisAgo() / 1000.0,
                w.reachable(),
                w.refused()));
      }
      for (FleetView.DepartedWorker d : fleet.departedWorkers()) {
        departed.add(
            new DepartedRow(
                d.workerId(),
                d.node(),
                d.configuredTypes(),
                stateName(d.lastState()),
                d.how(),
                d.leftMillisAgo() / 1000.0,
                d.done(),
                d.failed()));
      }
      fleet
          .types()
          .forEach(
              (type, view) -> {
                QueueStats.TypeStats c = view.counts();
                queues.add(
                    new QueueRow(
                        type,
                        c.pending(),
                        c.inFlight(),
                        c.completed(),
                        c.failed(),
                        c.retried(),
                        c.redelivered(),
                        c.declined(),
                        c.lost(),
                        c.leaseOverruns(),
                        c.rejected(),
                        view.workers(),
                        view.runs() == 0 ? null : view.meanRunSeconds(),
                        view.oldestPendingMillis() / 1000.0,
                        view.runs(),
                        view.runNanos() / 1e9,
                        view.waitNanos() / 1e9,
                        fleet.carriedOverMillis(type) == null
                            ? null
                            : fleet.carriedOverMillis(type) / 1000.0));
              });
      failures.add(fleet.recentFailures());
    }
    FlowsInfo flowsInfo = FlowsInfo.UNAVAILABLE;
    if (flows != null) {
      List<FlowRow> rows = new ArrayList<>();
      for (FlowsView.FlowProgress p : flows.flows()) {
        rows.add(
            new FlowRow(
                p.flowId(), p.tasksPushed(), p.tasksAnswered(), p.runningMillis() / 1000.0));
      }
      flowsInfo =
          new FlowsInfo(
              true,
              flows.runId(),
              flows.started(),
              flows.running(),
              flows.completed(),
              flows.failed(),
              rows);
      failures.add(flows.recentFailures());
    }
    List<FailureRow> failureRows = new ArrayList<>();
    for (RecentFailure f : RecentFailure.newest(failures, RecentFailure.KEEP)) {
      failureRows.add(
          new FailureRow(
              Instant.ofEpochMilli(f.atEpochMillis()).toString(),
              f.kind(),
              f.taskType(),
              f.taskId(),
              f.flowId(),
              f.workerId(),
              f.reason()));
    }
    List<ClassRow> classes = new ArrayList<>();
    for (AutoscaleSignal.Demand d : demands) {
      classes.add(
          new ClassRow(
              d.workerClass(),
              d.types(),
              d.workers(),
              d.outstandingWorkerSeconds(),
              d.workersNeeded()));
    }
    return new StatusReport(
        VERSION,
        Instant.now().toString(),
        node,
        workers,
        departed,
        queues,
        flowsInfo,
        failureRows,
        classes,
        List.copyOf(problems));
  }

  private static String stateName(WorkerState state) {
    return state == null ? "unknown" : state.name().toLowerCase(Locale.ROOT);
  }
}
