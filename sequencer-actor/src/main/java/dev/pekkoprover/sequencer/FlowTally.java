package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.FlowsView;
import dev.pekkoprover.protocol.RecentFailure;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The sequencer's count of its flows, for {@link ProvingOrchestrator.GetStatus}, {@link
 * ProvingOrchestrator.GetFlows} and the meters {@code prover_flows_running}, {@code
 * prover_flows_completed_total} and {@code prover_flows_failed_total}: flows running, completed
 * (restored from the store among them), failed, the last {@link RecentFailure#KEEP} failures, tasks
 * reused. Owned by the sequencer's actor; only the gauge is read from another thread. {@link
 * #close} removes the gauge, which would otherwise keep this run's value after it stopped.
 */
final class FlowTally {
  private final ProverMetrics metrics;

  /** The flows requested by someone and running: what prover_flows_running reads. */
  private final AtomicInteger running = new AtomicInteger();

  private final Gauge runningGauge;
  private final Counter completedCounter;
  private final Counter failedCounter;
  private final Counter cancelledCounter;

  /** The last failed flows, newest last. */
  private final ArrayDeque<RecentFailure> recentFailures = new ArrayDeque<>();

  private int completed;
  private int failed;
  private int restored;
  private long tasksReused;

  FlowTally(ProverMetrics metrics) {
    this.metrics = metrics;
    var registry = metrics.registry();
    this.runningGauge =
        Gauge.builder("prover.flows.running", running, AtomicInteger::get)
            .description("Flows running on the sequencer")
            .register(registry);
    this.completedCounter =
        Counter.builder("prover.flows.completed")
            .description("Flows that completed")
            .register(registry);
    this.failedCounter =
        Counter.builder("prover.flows.failed")
            .description(
                "Flows that failed (a task failed for good or was refused, or the flow's logic threw)")
            .register(registry);
    this.cancelledCounter =
        Counter.builder("prover.flows.cancelled")
            .description("Flows cancelled by their caller (ProverNode.cancel)")
            .register(registry);
    // counters that flows and the registration loop increment, at zero from the start: a series
    // that appears at 1 is one whose first increment Prometheus's increase() does not see
    FlowRunner.DROPPED_REASONS.forEach(reason -> FlowRunner.droppedCounter(registry, reason));
    WorkerRegistrationFlow.registrationsCounter(registry);
  }

  /** Flows requested and running now. */
  void running(int count) {
    running.set(count);
  }

  void completed(FlowResult.Completed done) {
    completed++;
    completedCounter.increment();
    tasksReused += done.stats().reused();
  }

  /**
   * A flow answered from the flow-outcome store without running: counted as completed, not metered.
   */
  void restored() {
    restored++;
    completed++;
  }

  void failed(FlowResult.Failed failure) {
    failed++;
    failedCounter.increment();
    recent(failure, "flow failed");
  }

  /**
   * A flow its caller cancelled: not a failure (no {@code ProverFlowsFailed} alert), but listed
   * among the recent failures as {@code flow cancelled}, with the reason given.
   */
  void cancelled(FlowResult.Failed cancellation) {
    cancelledCounter.increment();
    recent(cancellation, "flow cancelled");
  }

  private void recent(FlowResult.Failed failure, String kind) {
    if (recentFailures.size() == RecentFailure.KEEP) {
      recentFailures.removeFirst();
    }
    recentFailures.addLast(
        new RecentFailure(
            System.currentTimeMillis(),
            kind,
            null,
            null,
            failure.flowId(),
            null,
            failure.reason()));
  }

  /**
   * The counts and recent failures (newest first) as the status API shows them, without any flow's
   * progress.
   */
  FlowsView counts(String runId, boolean started) {
    List<RecentFailure> failures = new ArrayList<>(recentFailures);
    Collections.reverse(failures);
    return new FlowsView(
        runId, started, running.get(), completed, failed, List.of(), List.copyOf(failures));
  }

  ProvingOrchestrator.Status status(
      String runId,
      boolean started,
      ActorRef<WorkerRegistrationFlow.Command> registration,
      List<String> problems) {
    return new ProvingOrchestrator.Status(
        runId,
        started,
        running.get(),
        completed,
        failed,
        registration,
        restored,
        tasksReused,
        problems);
  }

  /** Removes the running gauge from the registry (the sequencer stopped). */
  void close() {
    metrics.remove(List.of(runningGauge));
  }
}
