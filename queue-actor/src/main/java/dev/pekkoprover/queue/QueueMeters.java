package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.protocol.metrics.TimeHistogram;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * One queue's (one queue entity's) meters, tagged {@code task_type} and {@code entity} (the entity
 * id, {@code local} for the queue of one JVM). Counters and gauges cost nothing per task: they read
 * a {@link Snapshot} the queue actor publishes every {@code prover.metrics.refresh-interval} from
 * the counters it keeps anyway. Only the wait and run histograms are recorded per task, once per
 * completed task each, into plain {@link TimeHistogram}s the actor owns (a scan of the bucket
 * bounds and three increments; no atomics, no clock).
 *
 * <p>Names follow Prometheus conventions once rendered: {@code prover_queue_pending_tasks}, {@code
 * prover_tasks_completed_total}, {@code prover_tasks_redelivered_total{reason=...}}, {@code
 * prover_task_run_seconds_bucket}, ... (the README lists them all).
 */
final class QueueMeters {

  /**
   * What the gauges and counters read: the queue's counters per type, its put-backs by cause, and
   * (on the one entity per type that exports them) its workers by state.
   */
  record Snapshot(
      QueueStats stats,
      Map<String, long[]> putBackByCause,
      Map<String, int[]> workersByState,
      Map<String, TimeHistogram.Snapshot[]> times) {
    static final Snapshot EMPTY =
        new Snapshot(new QueueStats(Map.of(), 0, 0, 0), Map.of(), Map.of(), Map.of());
  }

  private static final String ENTITY = "entity";

  /**
   * The state tag of the workers gauge: the worker states, {@code refused} (a worker the catalog
   * check refuses gets no work whatever state it announces: it counts there, not under its state),
   * and announcements that did not say.
   */
  static final List<String> STATES =
      List.of("unprepared", "registered", "ready", "draining", "refused", "unknown");

  /** The index of {@code refused} in {@link #STATES}. */
  static final int REFUSED = STATES.indexOf("refused");

  static int stateIndex(WorkerState state) {
    return state == null ? STATES.size() - 1 : state.ordinal();
  }

  private final ProverMetrics metrics;
  private final boolean enabled;
  private final List<Meter> meters = new ArrayList<>();
  private final List<AutoCloseable> histograms = new ArrayList<>();

  /** Wait and run histograms by type; written by the queue actor only. */
  private final Map<String, TimeHistogram[]> times = new HashMap<>();

  private volatile Snapshot snapshot = Snapshot.EMPTY;

  /**
   * @param types the task types this queue holds (one for an entity)
   * @param entity the entity id, or {@code local}
   * @param exportWorkers whether this queue exports the workers gauge: only one entity per type
   *     does (the unpartitioned one, or partition 0), since every partition knows the same workers
   */
  QueueMeters(ProverMetrics metrics, List<String> types, String entity, boolean exportWorkers) {
    this.metrics = metrics;
    this.enabled = metrics.enabled();
    MeterRegistry registry = metrics.registry();
    for (String type : types) {
      Tags tags = Tags.of(ProverMetrics.TASK_TYPE, type, ENTITY, entity);
      gauge(
          registry,
          "prover.queue.pending",
          "Tasks waiting for a worker (also those waiting out a retry backoff)",
          tags,
          s -> s.stats().of(type).pending());
      gauge(
          registry,
          "prover.queue.in.flight",
          "Tasks handed to a worker whose result is not back yet",
          tags,
          s -> s.stats().of(type).inFlight());
      counter(
          registry,
          "prover.tasks.completed",
          "Task results passed on to their flow",
          tags,
          s -> s.stats().of(type).completed());
      counter(
          registry,
          "prover.tasks.failed",
          "Tasks given up on (attempts or worker losses used up, or a failure "
              + "that is not retryable)",
          tags,
          s -> s.stats().of(type).failed());
      counter(
          registry,
          "prover.tasks.retried",
          "Tasks run again after their compute failed",
          tags,
          s -> s.stats().of(type).retried());
      counter(
          registry,
          "prover.tasks.rejected",
          "Tasks refused at enqueue (a payload that cannot travel)",
          tags,
          s -> s.stats().of(type).rejected());
      for (TaskQueueState.Redelivery cause : TaskQueueState.Redelivery.values()) {
        int index = cause.ordinal();
        counter(
            registry,
            "prover.tasks.redelivered",
            "Tasks put back in their queue, by why: declined, no_free_slot, "
                + "lease_overrun, worker_terminated, worker_restarted, worker_crashed, crash_collateral, "
                + "hung_abandoned, worker_unreachable, drain_over, lost_in_transit",
            tags.and("reason", cause.name().toLowerCase(Locale.ROOT)),
            s -> s.putBackByCause().getOrDefault(type, new long[index + 1])[index]);
      }
      if (exportWorkers) {
        for (int i = 0; i < STATES.size(); i++) {
          int index = i;
          Gauge gauge =
              Gauge.builder(
                      "prover.queue.workers",
                      this,
                      q ->
                          q.snapshot.workersByState()
                              .getOrDefault(type, new int[STATES.size()])[index])
                  .description(
                      "Workers configured for the task type, by state, as its queue heard from"
                          + " them; refused: another build, given no work")
                  .tags(tags.and("state", STATES.get(i)))
                  .register(registry);
          meters.add(gauge);
        }
      }
      times.put(type, new TimeHistogram[] {metrics.newTimeHistogram(), metrics.newTimeHistogram()});
      Map<String, String> labels = Map.of(ProverMetrics.TASK_TYPE, type, ENTITY, entity);
      histograms.add(
          metrics.histogram(
              "prover_task_wait_seconds",
              "How long a completed task waited for the dispatch that completed it (since enqueued or last put back)",
              labels,
              () -> timesOf(type, 0)));
      histograms.add(
          metrics.histogram(
              "prover_task_run_seconds",
              "How long a completed task ran: dispatch to result",
              labels,
              () -> timesOf(type, 1)));
    }
    Tags queueTags = Tags.of(ENTITY, entity);
    counter(
        registry,
        "prover.queue.unknown.results",
        "Results for a task the queue does not hold (late after a "
            + "redelivery, a duplicate, cancelled or made up), dropped",
        queueTags,
        s -> s.stats().unknownResults());
    counter(
        registry,
        "prover.queue.repeated.enqueues",
        "Enqueues of a task the queue already held (a flow's " + "re-send), ignored",
        queueTags,
        s -> s.stats().repeatedEnqueues());
  }

  private void gauge(
      MeterRegistry registry,
      String name,
      String description,
      Tags tags,
      ToDoubleFunction<Snapshot> value) {
    meters.add(
        Gauge.builder(name, this, q -> value.applyAsDouble(q.snapshot))
            .description(description)
            .tags(tags)
            .baseUnit("tasks")
            .register(registry));
  }

  private void counter(
      MeterRegistry registry,
      String name,
      String description,
      Tags tags,
      ToDoubleFunction<Snapshot> value) {
    meters.add(
        FunctionCounter.builder(name, this, q -> value.applyAsDouble(q.snapshot))
            .description(description)
            .tags(tags)
            .register(registry));
  }

  private TimeHistogram.Snapshot timesOf(String type, int which) {
    TimeHistogram.Snapshot[] pair = snapshot.times().get(type);
    return pair != null ? pair[which] : null;
  }

  /**
   * A task completed: one record in each of its type's wait and run histograms. Hot path: the
   * actor's thread.
   */
  void completed(String taskType, long waitNanos, long runNanos) {
    if (!enabled) {
      return;
    }
    TimeHistogram[] pair = times.get(taskType);
    if (pair != null) {
      pair[0].record(waitNanos);
      pair[1].record(runNanos);
    }
  }

  /** Copies of the histograms, for the next snapshot. */
  Map<String, TimeHistogram.Snapshot[]> timesNow() {
    Map<String, TimeHistogram.Snapshot[]> copies = new HashMap<>();
    times.forEach(
        (type, pair) ->
            copies.put(
                type, new TimeHistogram.Snapshot[] {pair[0].snapshot(), pair[1].snapshot()}));
    return copies;
  }

  void publish(Snapshot next) {
    snapshot = next;
  }

  /**
   * The queue stops: its meters go, so a queue started later (elsewhere, or again here) registers
   * fresh ones.
   */
  void close() {
    metrics.remove(meters);
    meters.clear();
    for (AutoCloseable histogram : histograms) {
      try {
        histogram.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    histograms.clear();
  }
}
